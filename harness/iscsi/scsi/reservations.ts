// Reservations as a pure state machine: SPC-4 persistent reservations (registrations per
// I_T nexus, the six reservation types, REGISTER / REGISTER AND IGNORE EXISTING KEY /
// RESERVE / RELEASE / CLEAR / PREEMPT / PREEMPT AND ABORT / REGISTER AND MOVE) and SPC-2
// RESERVE / RELEASE, with compatible reservation handling (CRH=1) between the two.
// Section numbers are those of spc4r17 (SPC-4 draft revision 17), §5.7 "Reservations";
// later drafts renumber the chapter but keep these rules.
//
// Every operation takes a state and returns the next one, the command's outcome and the
// side effects the shell must carry out (unit attentions, aborted tasks): nothing here
// touches a socket, a session or a clock, so each rule is testable on its own.
//
// An I_T nexus is named by its initiator port (`iqn…,i,0x<ISID>`, the iSCSI TransportID
// format 01 text, ./transport-id.ts): one LU belongs to one target with one target port, so
// the initiator port identifies the nexus, and the same initiator port logging in again
// (through any portal) is the same nexus again — its registration survives the loss of
// the old one (§5.7.1: persistent reservations are retained across I_T nexus loss).

/** Persistent reservation TYPE codes (PERSISTENT RESERVE OUT, READ RESERVATION). */
export const PrType = {
  WriteExclusive: 0x1,
  ExclusiveAccess: 0x3,
  WriteExclusiveRegistrantsOnly: 0x5,
  ExclusiveAccessRegistrantsOnly: 0x6,
  WriteExclusiveAllRegistrants: 0x7,
  ExclusiveAccessAllRegistrants: 0x8,
} as const;

export const VALID_PR_TYPES: readonly number[] = Object.values(PrType);
/** The only SCOPE SPC-4 still defines. */
export const LU_SCOPE = 0;

/** PERSISTENT RESERVE OUT service action codes. */
export const PrOutAction = {
  Register: 0x00,
  Reserve: 0x01,
  Release: 0x02,
  Clear: 0x03,
  Preempt: 0x04,
  PreemptAndAbort: 0x05,
  RegisterAndIgnoreExistingKey: 0x06,
  RegisterAndMove: 0x07,
} as const;

/** Additional sense codes for the unit attentions this module establishes (ASC << 8 | ASCQ). */
export const PrAsc = {
  ReservationsPreempted: 0x2a03,
  ReservationsReleased: 0x2a04,
  RegistrationsPreempted: 0x2a05,
  InvalidReleaseOfPersistentReservation: 0x2604,
  InvalidFieldInParameterList: 0x2600,
  InvalidFieldInCdb: 0x2400,
} as const;

export const isAllRegistrants = (type: number): boolean =>
  type === PrType.WriteExclusiveAllRegistrants || type === PrType.ExclusiveAccessAllRegistrants;
const isRegistrantsOnly = (type: number): boolean =>
  type === PrType.WriteExclusiveRegistrantsOnly || type === PrType.ExclusiveAccessRegistrantsOnly;
const isWriteExclusive = (type: number): boolean =>
  type === PrType.WriteExclusive || type === PrType.WriteExclusiveRegistrantsOnly || type === PrType.WriteExclusiveAllRegistrants;

export interface Registration {
  /** The registered I_T nexus (its initiator port). */
  nexus: string;
  key: bigint;
  /** ALL_TG_PT was set when registering (reported by READ FULL STATUS). */
  allTargetPorts: boolean;
}

export interface Reservation {
  /** The nexus that created it; for an all-registrants type every registrant holds it (§5.7.10). */
  holder: string;
  type: number;
  scope: number;
}

export interface ReservationState {
  /** PRGENERATION (PERSISTENT RESERVE IN): counts registration changes, wraps at 2^32. */
  readonly generation: number;
  /** By nexus, in registration order (READ KEYS lists them so). */
  readonly registrations: ReadonlyMap<string, Registration>;
  readonly reservation: Reservation | undefined;
  /** The SPC-2 RESERVE(6)/(10) holder, if any. */
  readonly spc2Holder: string | undefined;
}

export const EMPTY_RESERVATIONS: ReservationState = {
  generation: 0,
  registrations: new Map(),
  reservation: undefined,
  spc2Holder: undefined,
};

export type PrOutcome =
  | { kind: "good" }
  | { kind: "conflict" }
  /** CHECK CONDITION, ILLEGAL REQUEST with this ASC; `field` points at the offending byte/bit. */
  | { kind: "illegal"; asc: number; field?: { cd: boolean; byte: number; bit?: number } };

export type PrEffect =
  /** Establish a unit attention for that nexus on this LU. */
  | { kind: "unit-attention"; nexus: string; asc: number }
  /** Abort every task of that nexus on this LU (PREEMPT AND ABORT, §5.7.11.5). */
  | { kind: "abort-tasks"; nexus: string };

export interface PrResult {
  state: ReservationState;
  outcome: PrOutcome;
  effects: PrEffect[];
}

export interface PrOutRequest {
  action: number;
  type: number;
  scope: number;
  /** RESERVATION KEY. */
  key: bigint;
  /** SERVICE ACTION RESERVATION KEY. */
  serviceActionKey: bigint;
  /** ALL_TG_PT (REGISTER and REGISTER AND IGNORE EXISTING KEY only). */
  allTargetPorts?: boolean;
  /** REGISTER AND MOVE: the destination initiator port, and UNREG. */
  moveTo?: string;
  unregister?: boolean;
}

const GOOD: PrOutcome = { kind: "good" };
const CONFLICT: PrOutcome = { kind: "conflict" };
const invalidParameter = (byte: number, bit?: number): PrOutcome => ({
  kind: "illegal",
  asc: PrAsc.InvalidFieldInParameterList,
  field: bit === undefined ? { cd: false, byte } : { cd: false, byte, bit },
});

const bump = (generation: number): number => (generation + 1) >>> 0;
const unchanged = (state: ReservationState, outcome: PrOutcome): PrResult => ({ state, outcome, effects: [] });

/** Is the nexus a persistent reservation holder (§5.7.10)? */
export function isHolder(state: ReservationState, nexus: string): boolean {
  const r = state.reservation;
  if (!r) return false;
  return isAllRegistrants(r.type) ? state.registrations.has(nexus) : r.holder === nexus;
}

/** The RESERVATION KEY READ RESERVATION reports: zero for all-registrants types (§5.7.10). */
export function reservationKey(state: ReservationState): bigint {
  const r = state.reservation;
  if (!r || isAllRegistrants(r.type)) return 0n;
  return state.registrations.get(r.holder)?.key ?? 0n;
}

/**
 * How a command touches the medium, for the reservation tables (SPC-4 table 45 / SBC-3
 * table 13): "allowed" passes every persistent reservation, "read" conflicts with the
 * exclusive-access types, "write" with every type, for a nexus without access.
 */
export type Access = "allowed" | "read" | "write";

/**
 * True when the command must end in RESERVATION CONFLICT. `spc2Exempt` marks the commands an
 * SPC-2 reservation held by another nexus lets through (INQUIRY, REQUEST SENSE, REPORT LUNS,
 * RELEASE, PREVENT ALLOW MEDIUM REMOVAL with PREVENT=0; SPC-2 §5.5.1).
 */
export function conflicts(state: ReservationState, nexus: string, access: Access, spc2Exempt: boolean): boolean {
  if (state.spc2Holder !== undefined && state.spc2Holder !== nexus && !spc2Exempt) return true;
  const r = state.reservation;
  if (!r || access === "allowed" || isHolder(state, nexus)) return false;
  // Registrants-only types give every registered nexus the holder's access (§5.7.1, table 45).
  if (isRegistrantsOnly(r.type) && state.registrations.has(nexus)) return false;
  return access === "write" || !isWriteExclusive(r.type);
}

/** Removes one registration; releases the reservation it held (§5.7.11.3 Unregistering). */
function unregister(state: ReservationState, nexus: string, effects: PrEffect[]): ReservationState {
  const registrations = new Map(state.registrations);
  registrations.delete(nexus);
  let reservation = state.reservation;
  if (reservation) {
    const lost = isAllRegistrants(reservation.type) ? registrations.size === 0 : reservation.holder === nexus;
    if (lost) {
      // Only a registrants-only reservation tells the other registrants it is gone.
      if (isRegistrantsOnly(reservation.type))
        for (const other of registrations.keys())
          effects.push({ kind: "unit-attention", nexus: other, asc: PrAsc.ReservationsReleased });
      reservation = undefined;
    } else if (isAllRegistrants(reservation.type) && reservation.holder === nexus) {
      // The reservation stays with the remaining registrants; name one of them as creator.
      reservation = { ...reservation, holder: registrations.keys().next().value! };
    }
  }
  return { ...state, registrations, reservation, generation: bump(state.generation) };
}

function register(state: ReservationState, nexus: string, req: PrOutRequest, ignoreKey: boolean): PrResult {
  const mine = state.registrations.get(nexus);
  // §5.7.7, table 49: an unregistered nexus must send RESERVATION KEY 0 (unless IGNORE);
  // a registered one its current key.
  if (!ignoreKey && req.key !== (mine?.key ?? 0n)) return unchanged(state, CONFLICT);
  if (req.serviceActionKey === 0n) {
    if (!mine) return unchanged(state, GOOD); // nothing to register or remove
    const effects: PrEffect[] = [];
    return { state: unregister(state, nexus, effects), outcome: GOOD, effects };
  }
  const registrations = new Map(state.registrations);
  registrations.set(nexus, {
    nexus,
    key: req.serviceActionKey,
    allTargetPorts: mine ? mine.allTargetPorts : (req.allTargetPorts ?? false),
  });
  return { state: { ...state, registrations, generation: bump(state.generation) }, outcome: GOOD, effects: [] };
}

/** §5.7.9 Reserving. */
function reserve(state: ReservationState, nexus: string, req: PrOutRequest): PrResult {
  const r = state.reservation;
  if (r) {
    // The holder may repeat its own reservation; nobody may change or take it.
    const same = isHolder(state, nexus) && r.type === req.type && r.scope === req.scope;
    return unchanged(state, same ? GOOD : CONFLICT);
  }
  return unchanged({ ...state, reservation: { holder: nexus, type: req.type, scope: req.scope } }, GOOD);
}

/** §5.7.11.2 Releasing. */
function release(state: ReservationState, nexus: string, req: PrOutRequest): PrResult {
  const r = state.reservation;
  if (!r || !isHolder(state, nexus)) return unchanged(state, GOOD); // no effect, not an error
  if (r.type !== req.type || r.scope !== req.scope)
    return unchanged(state, { kind: "illegal", asc: PrAsc.InvalidReleaseOfPersistentReservation });
  const effects: PrEffect[] = [];
  if (!isWriteExclusiveOrExclusiveAccess(r.type))
    for (const other of state.registrations.keys())
      if (other !== nexus) effects.push({ kind: "unit-attention", nexus: other, asc: PrAsc.ReservationsReleased });
  return { state: { ...state, reservation: undefined }, outcome: GOOD, effects };
}

const isWriteExclusiveOrExclusiveAccess = (type: number): boolean =>
  type === PrType.WriteExclusive || type === PrType.ExclusiveAccess;

/** §5.7.11.6 Clearing. */
function clear(state: ReservationState, nexus: string): PrResult {
  const effects: PrEffect[] = [];
  for (const other of state.registrations.keys())
    if (other !== nexus) effects.push({ kind: "unit-attention", nexus: other, asc: PrAsc.ReservationsPreempted });
  return {
    state: { ...state, registrations: new Map(), reservation: undefined, generation: bump(state.generation) },
    outcome: GOOD,
    effects,
  };
}

/** §5.7.11.4 Preempting and §5.7.11.5 Preempting and aborting. */
function preempt(state: ReservationState, nexus: string, req: PrOutRequest, abort: boolean): PrResult {
  const r = state.reservation;
  const sa = req.serviceActionKey;
  const allRegistrants = r !== undefined && isAllRegistrants(r.type);
  // SA key zero only means something against an all-registrants reservation (§5.7.11.4.3).
  if (sa === 0n && !allRegistrants) return unchanged(state, invalidParameter(8));
  const effects: PrEffect[] = [];
  const registrations = new Map(state.registrations);
  const removeWhere = (match: (reg: Registration) => boolean, exceptSelf: boolean): number => {
    let removed = 0;
    for (const reg of state.registrations.values()) {
      if (!match(reg) || (exceptSelf && reg.nexus === nexus)) continue;
      registrations.delete(reg.nexus);
      removed++;
      if (reg.nexus !== nexus) {
        effects.push({ kind: "unit-attention", nexus: reg.nexus, asc: PrAsc.RegistrationsPreempted });
        if (abort) effects.push({ kind: "abort-tasks", nexus: reg.nexus });
      }
    }
    return removed;
  };
  const holderKey = r && !allRegistrants ? state.registrations.get(r.holder)?.key : undefined;
  let reservation = state.reservation;
  if (allRegistrants && sa === 0n) {
    // Every other registration goes and the preempting nexus holds a new reservation.
    removeWhere(() => true, true);
    reservation = { holder: nexus, type: req.type, scope: req.scope };
  } else if (r && !allRegistrants && sa === holderKey) {
    // §5.7.11.4.3: the holder's registrations go (a holder preempting itself keeps its own),
    // and the preempting nexus holds the new reservation.
    removeWhere((reg) => reg.key === sa, true);
    reservation = { holder: nexus, type: req.type, scope: req.scope };
    if (r.type !== req.type || r.scope !== req.scope)
      for (const other of registrations.keys())
        if (other !== nexus) effects.push({ kind: "unit-attention", nexus: other, asc: PrAsc.ReservationsReleased });
  } else {
    // §5.7.11.4.4 Removing registrations: the reservation (if any) stays, TYPE/SCOPE ignored.
    // An all-registrants reservation stays with the registrants left (the preempting nexus
    // among them); any other one was held by a key that is not the one removed.
    if (removeWhere((reg) => reg.key === sa, allRegistrants) === 0) return unchanged(state, CONFLICT);
    if (reservation && allRegistrants && !registrations.has(reservation.holder)) reservation = { ...reservation, holder: nexus };
  }
  return {
    state: { ...state, registrations, reservation, generation: bump(state.generation) },
    outcome: GOOD,
    effects,
  };
}

/** §5.7.8 Registering and moving the reservation. */
function registerAndMove(state: ReservationState, nexus: string, req: PrOutRequest): PrResult {
  const r = state.reservation;
  // Only the holder of a reservation that has one holder can move it (table 50).
  if (!r || isAllRegistrants(r.type) || r.holder !== nexus) return unchanged(state, CONFLICT);
  if (req.serviceActionKey === 0n) return unchanged(state, invalidParameter(8));
  const dest = req.moveTo;
  if (dest === undefined || dest === nexus) return unchanged(state, invalidParameter(24));
  const registrations = new Map(state.registrations);
  // A destination that is already registered keeps its registration as it is.
  if (!registrations.has(dest)) registrations.set(dest, { nexus: dest, key: req.serviceActionKey, allTargetPorts: false });
  if (req.unregister) registrations.delete(nexus);
  return {
    state: { ...state, registrations, reservation: { ...r, holder: dest }, generation: bump(state.generation) },
    outcome: GOOD,
    effects: [],
  };
}

/**
 * One PERSISTENT RESERVE OUT from `nexus`. The shell has checked the parameter list's length
 * and the bits this target does not support (SPEC_I_PT, APTPL); TYPE and SCOPE are checked
 * here, before the registration, as CDB fields come first.
 */
export function persistentReserveOut(state: ReservationState, nexus: string, req: PrOutRequest): PrResult {
  const mine = state.registrations.get(nexus);
  switch (req.action) {
    case PrOutAction.Register:
      return register(state, nexus, req, false);
    case PrOutAction.RegisterAndIgnoreExistingKey:
      return register(state, nexus, req, true);
    case PrOutAction.Reserve:
    case PrOutAction.Release:
    case PrOutAction.Preempt:
    case PrOutAction.PreemptAndAbort:
      // The CDB's SCOPE and TYPE name what is created, released or replaced.
      if (req.scope !== LU_SCOPE)
        return unchanged(state, { kind: "illegal", asc: PrAsc.InvalidFieldInCdb, field: { cd: true, byte: 2, bit: 7 } });
      if (!VALID_PR_TYPES.includes(req.type))
        return unchanged(state, { kind: "illegal", asc: PrAsc.InvalidFieldInCdb, field: { cd: true, byte: 2, bit: 3 } });
  }
  // Every other service action needs a registered nexus quoting its own key (table 46).
  if (!mine || mine.key !== req.key) return unchanged(state, CONFLICT);
  switch (req.action) {
    case PrOutAction.Reserve:
      return reserve(state, nexus, req);
    case PrOutAction.Release:
      return release(state, nexus, req);
    case PrOutAction.Clear:
      return clear(state, nexus);
    case PrOutAction.Preempt:
      return preempt(state, nexus, req, false);
    case PrOutAction.PreemptAndAbort:
      return preempt(state, nexus, req, true);
    case PrOutAction.RegisterAndMove:
      return registerAndMove(state, nexus, req);
    default:
      return unchanged(state, { kind: "illegal", asc: PrAsc.InvalidFieldInCdb, field: { cd: true, byte: 1, bit: 4 } });
  }
}

/**
 * SPC-2 RESERVE(6)/(10), with CRH=1 (§5.7.3): a persistent reservation holder, or a
 * registrant of a registrants-only / all-registrants reservation, gets GOOD and nothing
 * changes; any other nexus while registrations exist gets RESERVATION CONFLICT (SPC-2
 * §5.5.1). Otherwise SPC-2: the holder may reserve again, anybody else conflicts.
 */
export function reserve6(state: ReservationState, nexus: string): PrResult {
  const crh = crhPassThrough(state, nexus);
  if (crh) return unchanged(state, crh);
  if (state.spc2Holder !== undefined && state.spc2Holder !== nexus) return unchanged(state, CONFLICT);
  return unchanged({ ...state, spc2Holder: nexus }, GOOD);
}

/** SPC-2 RELEASE(6)/(10): only the holder's release frees the LU; anyone else's does nothing. */
export function release6(state: ReservationState, nexus: string): PrResult {
  const crh = crhPassThrough(state, nexus);
  if (crh) return unchanged(state, crh);
  if (state.spc2Holder !== nexus) return unchanged(state, GOOD);
  return unchanged({ ...state, spc2Holder: undefined }, GOOD);
}

function crhPassThrough(state: ReservationState, nexus: string): PrOutcome | undefined {
  if (state.registrations.size === 0) return undefined;
  const r = state.reservation;
  const registered = state.registrations.has(nexus);
  if (isHolder(state, nexus) || (r && registered && !isWriteExclusiveOrExclusiveAccess(r.type))) return GOOD;
  return CONFLICT;
}

/**
 * The nexus is gone (logout, connection loss, session reinstatement): its SPC-2
 * reservation goes with it; persistent registrations and reservations stay (§5.7.1).
 */
export function nexusLost(state: ReservationState, nexus: string): ReservationState {
  return state.spc2Holder === nexus ? { ...state, spc2Holder: undefined } : state;
}

/** LOGICAL UNIT RESET or a target reset: SPC-2 reservations end, persistent ones stay (§5.7.1). */
export function resetOccurred(state: ReservationState): ReservationState {
  return state.spc2Holder === undefined ? state : { ...state, spc2Holder: undefined };
}
