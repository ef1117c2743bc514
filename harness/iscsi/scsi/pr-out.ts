// PERSISTENT RESERVE OUT (SPC-4): checks the CDB and the parameter list, hands the
// request to the reservation state machine (./reservations.ts) and carries out what it
// says (unit attentions for other nexuses, aborted tasks). Errors come in the usual order:
// CDB fields first, then the parameter list's length, then its fields.
import type { LogicalUnit, ScsiContext } from "./lu.js";
import { RELATIVE_TARGET_PORT } from "./pr-in.js";
import {
  LU_SCOPE,
  PrOutAction,
  type PrOutcome,
  type PrOutRequest,
  type PrResult,
  persistentReserveOut as prOut,
  VALID_PR_TYPES,
} from "./reservations.js";
import { Asc, checkCondition, good, illegalRequest, type ScsiResult, SenseKey, Status } from "./sense.js";
import { decodeTransportId } from "./transport-id.js";

/** The basic parameter list is exactly this long; REGISTER AND MOVE's at least. */
const BASIC_LENGTH = 24;

const invalidParameter = (byte: number, bit?: number): ScsiResult =>
  checkCondition(SenseKey.IllegalRequest, Asc.InvalidFieldInParameterList, {
    fieldPointer: bit === undefined ? { cd: false, byte } : { cd: false, byte, bit },
  });
const lengthError = (): ScsiResult => checkCondition(SenseKey.IllegalRequest, Asc.ParameterListLengthError);

/** Maps the state machine's outcome to SCSI status and sense. */
export function prOutcomeResult(outcome: PrOutcome): ScsiResult {
  switch (outcome.kind) {
    case "good":
      return good();
    case "conflict":
      return { status: Status.ReservationConflict };
    case "illegal":
      return checkCondition(SenseKey.IllegalRequest, outcome.asc, outcome.field ? { fieldPointer: outcome.field } : {});
  }
}

/** Stores the new state and carries out the effects on the other nexuses. */
export function applyPrResult(result: PrResult, ctx: ScsiContext & { lu: LogicalUnit }): ScsiResult {
  ctx.lu.reservations = result.state;
  for (const e of result.effects) {
    if (e.kind === "unit-attention") ctx.fabric?.unitAttention(e.nexus, ctx.lun, e.asc);
    else ctx.fabric?.abortTasks(e.nexus, ctx.lun);
  }
  return prOutcomeResult(result.outcome);
}

/** What the CDB and parameter list say, or the error they earn. */
export function parsePrOut(cdb: Buffer, dataOut: Buffer | undefined): PrOutRequest | ScsiResult {
  const action = cdb[1]! & 0x1f;
  if (action > PrOutAction.RegisterAndMove) return illegalRequest(Asc.InvalidFieldInCdb, 1, 4);
  const scope = cdb[2]! >> 4;
  const type = cdb[2]! & 0x0f;
  // TYPE and SCOPE matter to the service actions that create, release or replace a
  // reservation; as CDB fields they are judged before the parameter list.
  if (
    action === PrOutAction.Reserve ||
    action === PrOutAction.Release ||
    action === PrOutAction.Preempt ||
    action === PrOutAction.PreemptAndAbort
  ) {
    if (scope !== LU_SCOPE) return illegalRequest(Asc.InvalidFieldInCdb, 2, 7);
    if (!VALID_PR_TYPES.includes(type)) return illegalRequest(Asc.InvalidFieldInCdb, 2, 3);
  }
  const length = cdb.readUInt32BE(5);
  const data = dataOut ?? Buffer.alloc(0);
  // A parameter list shorter than the CDB says (a short Data-Out) is a length error too.
  if (length < BASIC_LENGTH || data.length < length) return lengthError();
  const key = data.readBigUInt64BE(0);
  const serviceActionKey = data.readBigUInt64BE(8);
  if (action === PrOutAction.RegisterAndMove) {
    const flags = data[17]!;
    if (flags & 0x01) return invalidParameter(17, 0); // APTPL: PTPL_C is 0
    if (data.readUInt16BE(18) !== RELATIVE_TARGET_PORT) return invalidParameter(18);
    const tidLength = data.readUInt32BE(20);
    if (BASIC_LENGTH + tidLength > length) return lengthError();
    const tid = decodeTransportId(data.subarray(BASIC_LENGTH, BASIC_LENGTH + tidLength));
    if ("error" in tid) return invalidParameter(BASIC_LENGTH + tid.byte, tid.bit);
    return { action, type, scope, key, serviceActionKey, moveTo: tid.port, unregister: (flags & 0x02) !== 0 };
  }
  const flags = data[20]!;
  if (flags & 0x08) return invalidParameter(20, 3); // SPEC_I_PT: SIP_C is 0
  if (flags & 0x01) return invalidParameter(20, 0); // APTPL: PTPL_C is 0
  if (length !== BASIC_LENGTH) return lengthError();
  return { action, type, scope, key, serviceActionKey, allTargetPorts: (flags & 0x04) !== 0 };
}

export function persistentReserveOut(
  cdb: Buffer,
  ctx: ScsiContext & { lu: LogicalUnit },
  dataOut: Buffer | undefined,
): ScsiResult {
  const req = parsePrOut(cdb, dataOut);
  if ("status" in req) return req;
  return applyPrResult(prOut(ctx.lu.reservations, ctx.nexus.id, req), ctx);
}
