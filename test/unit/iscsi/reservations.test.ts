// The reservation state machine on its own (harness/iscsi/scsi/reservations.ts): every
// service action's rules from SPC-4 §5.7 (spc4r17), the access table, SPC-2 RESERVE /
// RELEASE with CRH=1, and invariants over generated sequences of commands.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Access,
  conflicts,
  EMPTY_RESERVATIONS,
  isHolder,
  nexusLost,
  PrAsc,
  type PrEffect,
  PrOutAction,
  type PrOutRequest,
  type PrResult,
  PrType,
  persistentReserveOut,
  type ReservationState,
  release6,
  reservationKey,
  reserve6,
  resetOccurred,
} from "../../../harness/iscsi/scsi/reservations.js";

const A = "iqn.2024-01.org.bootproof:a,i,0x800000000001";
const B = "iqn.2024-01.org.bootproof:b,i,0x800000000002";
const C = "iqn.2024-01.org.bootproof:c,i,0x800000000003";

const req = (action: number, fields: Partial<PrOutRequest> = {}): PrOutRequest => ({
  action,
  type: 0,
  scope: 0,
  key: 0n,
  serviceActionKey: 0n,
  ...fields,
});

/** Runs steps in order, each asserting its outcome kind; returns the last result. */
function run(state: ReservationState, steps: Array<[string, PrOutRequest, PrResult["outcome"]["kind"]]>): PrResult {
  let last: PrResult = { state, outcome: { kind: "good" }, effects: [] };
  for (const [nexus, r, want] of steps) {
    last = persistentReserveOut(last.state, nexus, r);
    expect(last.outcome.kind, `${nexus} action ${r.action}`).toBe(want);
  }
  return last;
}

const register = (nexus: string, key: bigint): [string, PrOutRequest, "good"] => [
  nexus,
  req(PrOutAction.RegisterAndIgnoreExistingKey, { serviceActionKey: key }),
  "good",
];
const reserveAs = (nexus: string, key: bigint, type: number): [string, PrOutRequest, "good"] => [
  nexus,
  req(PrOutAction.Reserve, { key, type }),
  "good",
];
const uas = (effects: PrEffect[]) =>
  effects.filter((e) => e.kind === "unit-attention").map((e) => [e.nexus, (e as { asc: number }).asc]);

describe("registering (§5.7.7)", () => {
  it("registers, re-keys and unregisters, counting each change in PRGENERATION", () => {
    let r = run(EMPTY_RESERVATIONS, [[A, req(PrOutAction.Register, { serviceActionKey: 0x11n }), "good"]]);
    expect(r.state.registrations.get(A)?.key).toBe(0x11n);
    expect(r.state.generation).toBe(1);
    r = run(r.state, [[A, req(PrOutAction.Register, { key: 0x11n, serviceActionKey: 0x22n }), "good"]]);
    expect(r.state.registrations.get(A)?.key).toBe(0x22n);
    r = run(r.state, [[A, req(PrOutAction.Register, { key: 0x22n }), "good"]]);
    expect(r.state.registrations.size).toBe(0);
    expect(r.state.generation).toBe(3);
  });

  it("answers a wrong RESERVATION KEY with RESERVATION CONFLICT, unless told to ignore it", () => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 5n)]).state;
    run(s, [[A, req(PrOutAction.Register, { key: 6n, serviceActionKey: 7n }), "conflict"]]);
    // An unregistered nexus must send key 0 to REGISTER.
    run(s, [[B, req(PrOutAction.Register, { key: 5n, serviceActionKey: 7n }), "conflict"]]);
    const r = run(s, [[A, req(PrOutAction.RegisterAndIgnoreExistingKey, { key: 99n, serviceActionKey: 8n }), "good"]]);
    expect(r.state.registrations.get(A)?.key).toBe(8n);
  });

  it("treats registering key 0 from an unregistered nexus as doing nothing", () => {
    const r = run(EMPTY_RESERVATIONS, [[A, req(PrOutAction.Register), "good"]]);
    expect(r.state).toBe(EMPTY_RESERVATIONS);
  });

  it("keeps ALL_TG_PT from the first registration", () => {
    const r = run(EMPTY_RESERVATIONS, [[A, req(PrOutAction.Register, { serviceActionKey: 1n, allTargetPorts: true }), "good"]]);
    expect(r.state.registrations.get(A)?.allTargetPorts).toBe(true);
  });
});

describe("reserving and releasing (§5.7.9, §5.7.11.2)", () => {
  it("needs a registered nexus quoting its key", () => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 1n)]).state;
    run(s, [[B, req(PrOutAction.Reserve, { key: 0n, type: PrType.WriteExclusive }), "conflict"]]);
    run(s, [[A, req(PrOutAction.Reserve, { key: 2n, type: PrType.WriteExclusive }), "conflict"]]);
  });

  it("lets the holder repeat its reservation but not change its type, and nobody else take it", () => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 1n), register(B, 2n), reserveAs(A, 1n, PrType.ExclusiveAccess)]).state;
    expect(s.reservation).toEqual({ holder: A, type: PrType.ExclusiveAccess, scope: 0 });
    expect(s.generation).toBe(2); // RESERVE does not count
    run(s, [[A, req(PrOutAction.Reserve, { key: 1n, type: PrType.ExclusiveAccess }), "good"]]);
    run(s, [[A, req(PrOutAction.Reserve, { key: 1n, type: PrType.WriteExclusive }), "conflict"]]);
    run(s, [[B, req(PrOutAction.Reserve, { key: 2n, type: PrType.ExclusiveAccess }), "conflict"]]);
  });

  it("makes every registrant a holder of an all-registrants reservation, reported with key 0", () => {
    const s = run(EMPTY_RESERVATIONS, [
      register(A, 1n),
      register(B, 2n),
      reserveAs(A, 1n, PrType.WriteExclusiveAllRegistrants),
    ]).state;
    expect(isHolder(s, A) && isHolder(s, B)).toBe(true);
    expect(isHolder(s, C)).toBe(false);
    expect(reservationKey(s)).toBe(0n);
    run(s, [reserveAs(B, 2n, PrType.WriteExclusiveAllRegistrants)]);
  });

  it("releases only for the holder with the same type; a non-holder's release does nothing", () => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 1n), register(B, 2n), reserveAs(A, 1n, PrType.WriteExclusive)]).state;
    const other = run(s, [[B, req(PrOutAction.Release, { key: 2n, type: PrType.WriteExclusive }), "good"]]);
    expect(other.state.reservation).toBeDefined();
    const wrong = persistentReserveOut(s, A, req(PrOutAction.Release, { key: 1n, type: PrType.ExclusiveAccess }));
    expect(wrong.outcome).toEqual({ kind: "illegal", asc: PrAsc.InvalidReleaseOfPersistentReservation });
    const done = run(s, [[A, req(PrOutAction.Release, { key: 1n, type: PrType.WriteExclusive }), "good"]]);
    expect(done.state.reservation).toBeUndefined();
    expect(done.effects).toEqual([]); // WE / EA: nobody is told
  });

  it.each([
    PrType.WriteExclusiveRegistrantsOnly,
    PrType.ExclusiveAccessRegistrantsOnly,
    PrType.WriteExclusiveAllRegistrants,
    PrType.ExclusiveAccessAllRegistrants,
  ])("tells the other registrants RESERVATIONS RELEASED when a type-%i reservation is released", (type) => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 1n), register(B, 2n), register(C, 3n), reserveAs(A, 1n, type)]).state;
    const r = run(s, [[A, req(PrOutAction.Release, { key: 1n, type }), "good"]]);
    expect(uas(r.effects)).toEqual([
      [B, PrAsc.ReservationsReleased],
      [C, PrAsc.ReservationsReleased],
    ]);
  });
});

describe("unregistering the holder (§5.7.11.3)", () => {
  it("releases a WE/EA reservation silently and a registrants-only one with a unit attention to the others", () => {
    for (const [type, told] of [
      [PrType.ExclusiveAccess, []],
      [PrType.WriteExclusive, []],
      [PrType.ExclusiveAccessRegistrantsOnly, [[B, PrAsc.ReservationsReleased]]],
      [PrType.WriteExclusiveRegistrantsOnly, [[B, PrAsc.ReservationsReleased]]],
    ] as const) {
      const s = run(EMPTY_RESERVATIONS, [register(A, 1n), register(B, 2n), reserveAs(A, 1n, type)]).state;
      const r = run(s, [[A, req(PrOutAction.Register, { key: 1n }), "good"]]);
      expect(r.state.reservation).toBeUndefined();
      expect(uas(r.effects)).toEqual(told);
    }
  });

  it("keeps an all-registrants reservation until its last registrant leaves", () => {
    let s = run(EMPTY_RESERVATIONS, [
      register(A, 1n),
      register(B, 2n),
      reserveAs(A, 1n, PrType.ExclusiveAccessAllRegistrants),
    ]).state;
    s = run(s, [[A, req(PrOutAction.Register, { key: 1n }), "good"]]).state;
    expect(s.reservation?.type).toBe(PrType.ExclusiveAccessAllRegistrants);
    expect(isHolder(s, B)).toBe(true);
    s = run(s, [[B, req(PrOutAction.Register, { key: 2n }), "good"]]).state;
    expect(s.reservation).toBeUndefined();
  });
});

describe("clearing (§5.7.11.6)", () => {
  it("drops every registration and the reservation, telling the others RESERVATIONS PREEMPTED", () => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 1n), register(B, 2n), reserveAs(B, 2n, PrType.ExclusiveAccess)]).state;
    const r = run(s, [[A, req(PrOutAction.Clear, { key: 1n }), "good"]]);
    expect(r.state.registrations.size).toBe(0);
    expect(r.state.reservation).toBeUndefined();
    expect(r.state.generation).toBe(s.generation + 1);
    expect(uas(r.effects)).toEqual([[B, PrAsc.ReservationsPreempted]]);
    run(s, [[C, req(PrOutAction.Clear), "conflict"]]);
  });
});

describe("preempting (§5.7.11.4) and aborting (§5.7.11.5)", () => {
  it("without a reservation removes the registrations holding the key, or conflicts when none does", () => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 1n), register(B, 2n)]).state;
    const r = run(s, [[B, req(PrOutAction.Preempt, { key: 2n, serviceActionKey: 1n, type: PrType.ExclusiveAccess }), "good"]]);
    expect([...r.state.registrations.keys()]).toEqual([B]);
    expect(r.state.reservation).toBeUndefined(); // TYPE is ignored when nothing is reserved
    expect(r.state.generation).toBe(s.generation + 1);
    expect(uas(r.effects)).toEqual([[A, PrAsc.RegistrationsPreempted]]);
    run(s, [[B, req(PrOutAction.Preempt, { key: 2n, serviceActionKey: 9n, type: PrType.ExclusiveAccess }), "conflict"]]);
    const zero = persistentReserveOut(s, B, req(PrOutAction.Preempt, { key: 2n, type: PrType.ExclusiveAccess }));
    expect(zero.outcome).toMatchObject({ kind: "illegal", asc: PrAsc.InvalidFieldInParameterList });
  });

  it("takes the holder's reservation and tells the rest RESERVATIONS RELEASED when the type changes", () => {
    const s = run(EMPTY_RESERVATIONS, [
      register(A, 1n),
      register(B, 2n),
      register(C, 3n),
      reserveAs(A, 1n, PrType.WriteExclusive),
    ]).state;
    const r = run(s, [[B, req(PrOutAction.Preempt, { key: 2n, serviceActionKey: 1n, type: PrType.ExclusiveAccess }), "good"]]);
    expect(r.state.reservation).toEqual({ holder: B, type: PrType.ExclusiveAccess, scope: 0 });
    expect(r.state.registrations.has(A)).toBe(false);
    expect(uas(r.effects)).toEqual([
      [A, PrAsc.RegistrationsPreempted],
      [C, PrAsc.ReservationsReleased],
    ]);
    const same = run(s, [[B, req(PrOutAction.Preempt, { key: 2n, serviceActionKey: 1n, type: PrType.WriteExclusive }), "good"]]);
    expect(uas(same.effects)).toEqual([[A, PrAsc.RegistrationsPreempted]]);
  });

  it("lets a holder preempt itself to change the type, keeping its registration", () => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 1n), reserveAs(A, 1n, PrType.WriteExclusive)]).state;
    const r = run(s, [[A, req(PrOutAction.Preempt, { key: 1n, serviceActionKey: 1n, type: PrType.ExclusiveAccess }), "good"]]);
    expect(r.state.reservation).toEqual({ holder: A, type: PrType.ExclusiveAccess, scope: 0 });
    expect(r.state.registrations.has(A)).toBe(true);
  });

  it("with key 0 against an all-registrants reservation removes every other registration and reserves anew", () => {
    const s = run(EMPTY_RESERVATIONS, [
      register(A, 1n),
      register(B, 2n),
      register(C, 3n),
      reserveAs(A, 1n, PrType.WriteExclusiveAllRegistrants),
    ]).state;
    const r = run(s, [[B, req(PrOutAction.PreemptAndAbort, { key: 2n, type: PrType.ExclusiveAccess }), "good"]]);
    expect([...r.state.registrations.keys()]).toEqual([B]);
    expect(r.state.reservation).toEqual({ holder: B, type: PrType.ExclusiveAccess, scope: 0 });
    expect(r.effects).toEqual([
      { kind: "unit-attention", nexus: A, asc: PrAsc.RegistrationsPreempted },
      { kind: "abort-tasks", nexus: A },
      { kind: "unit-attention", nexus: C, asc: PrAsc.RegistrationsPreempted },
      { kind: "abort-tasks", nexus: C },
    ]);
  });

  it("PREEMPT AND ABORT aborts the preempted nexuses' tasks; PREEMPT does not", () => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 1n), register(B, 2n), reserveAs(A, 1n, PrType.ExclusiveAccess)]).state;
    const plain = persistentReserveOut(s, B, req(PrOutAction.Preempt, { key: 2n, serviceActionKey: 1n, type: 3 }));
    expect(plain.effects.some((e) => e.kind === "abort-tasks")).toBe(false);
    const abort = persistentReserveOut(s, B, req(PrOutAction.PreemptAndAbort, { key: 2n, serviceActionKey: 1n, type: 3 }));
    expect(abort.effects).toContainEqual({ kind: "abort-tasks", nexus: A });
  });
});

describe("registering and moving (§5.7.8)", () => {
  it("moves the reservation to another nexus, registering it, and may unregister the mover", () => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 1n), reserveAs(A, 1n, PrType.WriteExclusive)]).state;
    const r = run(s, [
      [A, req(PrOutAction.RegisterAndMove, { key: 1n, serviceActionKey: 9n, moveTo: B, unregister: true }), "good"],
    ]);
    expect(r.state.reservation?.holder).toBe(B);
    expect(r.state.registrations.get(B)?.key).toBe(9n);
    expect(r.state.registrations.has(A)).toBe(false);
    run(s, [[A, req(PrOutAction.RegisterAndMove, { key: 1n, serviceActionKey: 9n, moveTo: A }), "illegal"]]);
    const noRes = run(EMPTY_RESERVATIONS, [register(A, 1n)]).state;
    run(noRes, [[A, req(PrOutAction.RegisterAndMove, { key: 1n, serviceActionKey: 9n, moveTo: B }), "conflict"]]);
  });
});

describe("access while reserved (SPC-4 table 45, SBC-3 table 13)", () => {
  // [type, holder?, registered?, read, write]
  const table: Array<[number, "holder" | "registered" | "other", boolean, boolean]> = [
    [PrType.WriteExclusive, "registered", true, false],
    [PrType.WriteExclusive, "other", true, false],
    [PrType.ExclusiveAccess, "registered", false, false],
    [PrType.ExclusiveAccess, "other", false, false],
    [PrType.WriteExclusiveRegistrantsOnly, "registered", true, true],
    [PrType.WriteExclusiveRegistrantsOnly, "other", true, false],
    [PrType.ExclusiveAccessRegistrantsOnly, "registered", true, true],
    [PrType.ExclusiveAccessRegistrantsOnly, "other", false, false],
    [PrType.WriteExclusiveAllRegistrants, "registered", true, true],
    [PrType.WriteExclusiveAllRegistrants, "other", true, false],
    [PrType.ExclusiveAccessAllRegistrants, "registered", true, true],
    [PrType.ExclusiveAccessAllRegistrants, "other", false, false],
  ];
  it.each(table)("type %i, %s nexus: read %s, write %s", (type, who, read, write) => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 1n), register(B, 2n), reserveAs(A, 1n, type)]).state;
    const nexus = who === "registered" ? B : C;
    const allowed = (access: Access) => !conflicts(s, nexus, access, false);
    expect([allowed("read"), allowed("write"), allowed("allowed")]).toEqual([read, write, true]);
    expect(conflicts(s, A, "write", false)).toBe(false);
  });

  it("lets everything through when nothing is reserved, registrations or not", () => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 1n)]).state;
    expect(conflicts(s, B, "write", false)).toBe(false);
  });
});

describe("SPC-2 RESERVE / RELEASE with CRH=1 (§5.7.3)", () => {
  it("reserves for one nexus; others conflict except exempt commands; only the holder's release frees it", () => {
    let s = reserve6(EMPTY_RESERVATIONS, A).state;
    expect(reserve6(s, A).outcome.kind).toBe("good");
    expect(reserve6(s, B).outcome.kind).toBe("conflict");
    expect(conflicts(s, B, "allowed", false)).toBe(true); // even TEST UNIT READY
    expect(conflicts(s, B, "allowed", true)).toBe(false); // INQUIRY, REPORT LUNS, ...
    expect(conflicts(s, A, "write", false)).toBe(false);
    expect(release6(s, B).state.spc2Holder).toBe(A);
    s = release6(s, A).state;
    expect(s.spc2Holder).toBeUndefined();
  });

  it("ends with the nexus and with resets, while persistent reservations stay", () => {
    const s = run(reserve6(EMPTY_RESERVATIONS, A).state, []).state;
    expect(nexusLost(s, B).spc2Holder).toBe(A);
    expect(nexusLost(s, A).spc2Holder).toBeUndefined();
    expect(resetOccurred(s).spc2Holder).toBeUndefined();
    const pr = run(EMPTY_RESERVATIONS, [register(A, 1n), reserveAs(A, 1n, PrType.ExclusiveAccess)]).state;
    expect(resetOccurred(pr)).toBe(pr);
    expect(nexusLost(pr, A)).toBe(pr);
  });

  it("answers RESERVE/RELEASE from a persistent holder with GOOD and no change, from others with a conflict", () => {
    const s = run(EMPTY_RESERVATIONS, [register(A, 1n), register(B, 2n), reserveAs(A, 1n, PrType.WriteExclusive)]).state;
    expect(reserve6(s, A)).toMatchObject({ state: s, outcome: { kind: "good" } });
    expect(release6(s, A)).toMatchObject({ state: s, outcome: { kind: "good" } });
    expect(reserve6(s, B).outcome.kind).toBe("conflict"); // registered, but WE has one holder
    expect(reserve6(s, C).outcome.kind).toBe("conflict");
    const ro = run(EMPTY_RESERVATIONS, [
      register(A, 1n),
      register(B, 2n),
      reserveAs(A, 1n, PrType.WriteExclusiveRegistrantsOnly),
    ]);
    expect(reserve6(ro.state, B).outcome.kind).toBe("good");
    // Registrations alone already make RESERVE conflict (SPC-2 §5.5.1).
    expect(reserve6(run(EMPTY_RESERVATIONS, [register(A, 1n)]).state, B).outcome.kind).toBe("conflict");
  });
});

describe("CDB fields", () => {
  it("refuses a TYPE or SCOPE the standard does not define, before looking at registrations", () => {
    for (const action of [PrOutAction.Reserve, PrOutAction.Release, PrOutAction.Preempt, PrOutAction.PreemptAndAbort]) {
      const badType = persistentReserveOut(EMPTY_RESERVATIONS, A, req(action, { type: 2 }));
      expect(badType.outcome).toEqual({ kind: "illegal", asc: PrAsc.InvalidFieldInCdb, field: { cd: true, byte: 2, bit: 3 } });
      const badScope = persistentReserveOut(EMPTY_RESERVATIONS, A, req(action, { type: 1, scope: 1 }));
      expect(badScope.outcome).toEqual({ kind: "illegal", asc: PrAsc.InvalidFieldInCdb, field: { cd: true, byte: 2, bit: 7 } });
    }
    // REGISTER and CLEAR ignore both fields.
    expect(persistentReserveOut(EMPTY_RESERVATIONS, A, req(PrOutAction.Register, { type: 2, scope: 9 })).outcome.kind).toBe(
      "good",
    );
  });
});

describe("invariants over generated command sequences", () => {
  const nexus = fc.constantFrom(A, B, C);
  const key = fc.constantFrom(0n, 1n, 2n, 3n);
  const step = fc.record({
    nexus,
    action: fc.integer({ min: 0, max: 8 }),
    type: fc.constantFrom(...Object.values(PrType), 0, 2, 9),
    key,
    serviceActionKey: key,
    scope: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 15 }) }),
    moveTo: nexus,
    unregister: fc.boolean(),
    spc2: fc.oneof(
      { weight: 8, arbitrary: fc.constant("none") },
      { weight: 1, arbitrary: fc.constantFrom("reserve", "release", "lost", "reset") },
    ),
  });

  it("keeps a holder registered, an all-registrants reservation with registrants, and PRGENERATION honest", () => {
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        let s = EMPTY_RESERVATIONS;
        for (const st of steps) {
          const before = s;
          if (st.spc2 === "reserve") s = reserve6(s, st.nexus).state;
          else if (st.spc2 === "release") s = release6(s, st.nexus).state;
          else if (st.spc2 === "lost") s = nexusLost(s, st.nexus);
          else if (st.spc2 === "reset") s = resetOccurred(s);
          else {
            const r = persistentReserveOut(s, st.nexus, st);
            s = r.state;
            if (r.outcome.kind !== "good") expect(s).toBe(before); // a refused command changes nothing
            for (const e of r.effects) expect(e.nexus).not.toBe(st.nexus); // nobody is told about its own command
          }
          const regsChanged =
            before.registrations.size !== s.registrations.size ||
            [...s.registrations].some(([n, reg]) => before.registrations.get(n)?.key !== reg.key);
          if (regsChanged) expect(s.generation).toBe((before.generation + 1) >>> 0);
          else expect(s.generation - before.generation).toBeLessThanOrEqual(1);
          const r = s.reservation;
          if (r) {
            expect(s.registrations.has(r.holder)).toBe(true);
            expect([1, 3, 5, 6, 7, 8]).toContain(r.type);
          }
          for (const reg of s.registrations.values()) expect(reg.key).not.toBe(0n);
        }
      }),
      { numRuns: 2000, seed: 20240513 },
    );
  });
});
