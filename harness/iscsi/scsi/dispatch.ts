// One table of every supported command: the dispatcher, REPORT SUPPORTED OPERATION CODES,
// the CDB-length check and the reservation check all read it, so they cannot disagree.
import * as block from "./block.js";
import { inquiry } from "./inquiry.js";
import type { ScsiContext } from "./lu.js";
import { modeSense } from "./mode.js";
import { orWrite } from "./orwrite.js";
import { persistentReserveIn } from "./pr-in.js";
import { persistentReserveOut } from "./pr-out.js";
import { type Access, conflicts } from "./reservations.js";
import { release, reserve } from "./reserve-release.js";
import { Asc, checkCondition, fixedSense, good, illegalRequest, type ScsiResult, SenseKey, Status } from "./sense.js";
import { preventAllow, reportLuns, requestSense, startStop } from "./spc.js";

type Handler = (
  cdb: Buffer,
  ctx: ScsiContext & { lu: NonNullable<ScsiContext["lu"]> },
  dataOut: Buffer | undefined,
) => ScsiResult | Promise<ScsiResult>;

interface CommandInfo {
  op: number;
  /** Service action, for opcodes with one handler per service action. */
  sa?: number;
  /** Service actions one handler serves (it answers any other with INVALID FIELD IN CDB). */
  serviceActions?: readonly number[];
  cdbLength: number;
  name: string;
  /** Transfers data from the initiator (used to refuse a read-direction PDU for it). */
  dataOut?: boolean;
  /** Answered even for a missing LUN and never blocked by a unit attention (SPC-4 §5.14). */
  noUnitAttention?: boolean;
  /**
   * What a persistent reservation held by another nexus lets through (SPC-4 table 45,
   * SBC-3 table 13): "write" by default.
   */
  access?: Access | ((cdb: Buffer) => Access);
  /** Passes an SPC-2 reservation held by another nexus (SPC-2 §5.5.1). */
  spc2Exempt?: boolean | ((cdb: Buffer) => boolean);
  handler: Handler;
}

const PR_IN_ACTIONS = [0x00, 0x01, 0x02, 0x03];
const PR_OUT_ACTIONS = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07];
// START STOP UNIT that only starts the unit passes (SBC-3 table 13); PREVENT=0 always does.
const startStopAccess = (cdb: Buffer): Access => ((cdb[4]! & 0xf1) === 0x01 ? "allowed" : "write");
const allowsRemoval = (cdb: Buffer): boolean => (cdb[4]! & 0x03) === 0;

const COMMANDS: CommandInfo[] = [
  { op: 0x00, cdbLength: 6, name: "TEST UNIT READY", access: "allowed", handler: () => good() },
  {
    op: 0x03,
    cdbLength: 6,
    name: "REQUEST SENSE",
    noUnitAttention: true,
    access: "allowed",
    spc2Exempt: true,
    handler: (cdb, ctx) => requestSense(cdb, ctx),
  },
  { op: 0x08, cdbLength: 6, name: "READ(6)", access: "read", handler: (cdb, ctx) => block.read(cdb, ctx.lu) },
  { op: 0x0a, cdbLength: 6, name: "WRITE(6)", dataOut: true, handler: (cdb, ctx, d) => block.write(cdb, ctx.lu, d) },
  {
    op: 0x12,
    cdbLength: 6,
    name: "INQUIRY",
    noUnitAttention: true,
    access: "allowed",
    spc2Exempt: true,
    handler: (cdb, ctx) => inquiry(cdb, ctx.lu),
  },
  { op: 0x16, cdbLength: 6, name: "RESERVE(6)", access: "allowed", spc2Exempt: true, handler: (cdb, ctx) => reserve(cdb, ctx) },
  { op: 0x17, cdbLength: 6, name: "RELEASE(6)", access: "allowed", spc2Exempt: true, handler: (cdb, ctx) => release(cdb, ctx) },
  { op: 0x1a, cdbLength: 6, name: "MODE SENSE(6)", access: "read", handler: (cdb, ctx) => modeSense(cdb, ctx.lu, false) },
  { op: 0x1b, cdbLength: 6, name: "START STOP UNIT", access: startStopAccess, handler: (cdb, ctx) => startStop(cdb, ctx) },
  {
    op: 0x1e,
    cdbLength: 6,
    name: "PREVENT ALLOW MEDIUM REMOVAL",
    access: (cdb) => (allowsRemoval(cdb) ? "allowed" : "write"),
    spc2Exempt: allowsRemoval,
    handler: (cdb, ctx) => preventAllow(cdb, ctx),
  },
  {
    op: 0x25,
    cdbLength: 10,
    name: "READ CAPACITY(10)",
    access: "allowed",
    handler: (_c, ctx) => block.readCapacity10(ctx.lu),
  },
  { op: 0x28, cdbLength: 10, name: "READ(10)", access: "read", handler: (cdb, ctx) => block.read(cdb, ctx.lu) },
  { op: 0x2a, cdbLength: 10, name: "WRITE(10)", dataOut: true, handler: (cdb, ctx, d) => block.write(cdb, ctx.lu, d) },
  { op: 0x2e, cdbLength: 10, name: "WRITE AND VERIFY(10)", dataOut: true, handler: (cdb, ctx, d) => block.write(cdb, ctx.lu, d) },
  {
    op: 0x2f,
    cdbLength: 10,
    name: "VERIFY(10)",
    dataOut: true,
    access: "read",
    handler: (cdb, ctx, d) => block.verify(cdb, ctx.lu, d),
  },
  { op: 0x34, cdbLength: 10, name: "PRE-FETCH(10)", access: "read", handler: (cdb, ctx) => block.prefetch(cdb, ctx.lu) },
  { op: 0x35, cdbLength: 10, name: "SYNCHRONIZE CACHE(10)", handler: (cdb, ctx) => block.synchronizeCache(cdb, ctx.lu) },
  { op: 0x41, cdbLength: 10, name: "WRITE SAME(10)", dataOut: true, handler: (cdb, ctx, d) => block.writeSame(cdb, ctx.lu, d) },
  { op: 0x42, cdbLength: 10, name: "UNMAP", dataOut: true, handler: (cdb, ctx, d) => block.unmap(cdb, ctx.lu, d) },
  { op: 0x56, cdbLength: 10, name: "RESERVE(10)", access: "allowed", spc2Exempt: true, handler: (cdb, ctx) => reserve(cdb, ctx) },
  { op: 0x57, cdbLength: 10, name: "RELEASE(10)", access: "allowed", spc2Exempt: true, handler: (cdb, ctx) => release(cdb, ctx) },
  { op: 0x5a, cdbLength: 10, name: "MODE SENSE(10)", access: "read", handler: (cdb, ctx) => modeSense(cdb, ctx.lu, true) },
  {
    op: 0x5e,
    serviceActions: PR_IN_ACTIONS,
    cdbLength: 10,
    name: "PERSISTENT RESERVE IN",
    access: "allowed",
    handler: (cdb, ctx) => persistentReserveIn(cdb, ctx),
  },
  {
    op: 0x5f,
    serviceActions: PR_OUT_ACTIONS,
    cdbLength: 10,
    name: "PERSISTENT RESERVE OUT",
    dataOut: true,
    // Which service actions a non-holder may send is the state machine's business (table 46).
    access: "allowed",
    handler: (cdb, ctx, d) => persistentReserveOut(cdb, ctx, d),
  },
  { op: 0x88, cdbLength: 16, name: "READ(16)", access: "read", handler: (cdb, ctx) => block.read(cdb, ctx.lu) },
  {
    op: 0x89,
    cdbLength: 16,
    name: "COMPARE AND WRITE",
    dataOut: true,
    handler: (cdb, ctx, d) => block.compareAndWrite(cdb, ctx.lu, d),
  },
  { op: 0x8a, cdbLength: 16, name: "WRITE(16)", dataOut: true, handler: (cdb, ctx, d) => block.write(cdb, ctx.lu, d) },
  { op: 0x8b, cdbLength: 16, name: "ORWRITE(16)", dataOut: true, handler: (cdb, ctx, d) => orWrite(cdb, ctx.lu, d) },
  { op: 0x8e, cdbLength: 16, name: "WRITE AND VERIFY(16)", dataOut: true, handler: (cdb, ctx, d) => block.write(cdb, ctx.lu, d) },
  {
    op: 0x8f,
    cdbLength: 16,
    name: "VERIFY(16)",
    dataOut: true,
    access: "read",
    handler: (cdb, ctx, d) => block.verify(cdb, ctx.lu, d),
  },
  { op: 0x90, cdbLength: 16, name: "PRE-FETCH(16)", access: "read", handler: (cdb, ctx) => block.prefetch(cdb, ctx.lu) },
  { op: 0x91, cdbLength: 16, name: "SYNCHRONIZE CACHE(16)", handler: (cdb, ctx) => block.synchronizeCache(cdb, ctx.lu) },
  { op: 0x93, cdbLength: 16, name: "WRITE SAME(16)", dataOut: true, handler: (cdb, ctx, d) => block.writeSame(cdb, ctx.lu, d) },
  {
    op: 0x9e,
    sa: 0x10,
    cdbLength: 16,
    name: "READ CAPACITY(16)",
    access: "allowed",
    handler: (cdb, ctx) => block.readCapacity16(cdb, ctx.lu),
  },
  {
    op: 0x9e,
    sa: 0x12,
    cdbLength: 16,
    name: "GET LBA STATUS",
    access: "read",
    handler: (cdb, ctx) => block.getLbaStatus(cdb, ctx.lu),
  },
  {
    op: 0xa0,
    cdbLength: 12,
    name: "REPORT LUNS",
    noUnitAttention: true,
    access: "allowed",
    spc2Exempt: true,
    handler: (cdb, ctx) => reportLuns(cdb, ctx),
  },
  {
    op: 0xa3,
    sa: 0x0c,
    cdbLength: 12,
    name: "REPORT SUPPORTED OPERATION CODES",
    access: "read",
    handler: (cdb) => reportSupportedOpcodes(cdb),
  },
  { op: 0xa8, cdbLength: 12, name: "READ(12)", access: "read", handler: (cdb, ctx) => block.read(cdb, ctx.lu) },
  { op: 0xaa, cdbLength: 12, name: "WRITE(12)", dataOut: true, handler: (cdb, ctx, d) => block.write(cdb, ctx.lu, d) },
  { op: 0xae, cdbLength: 12, name: "WRITE AND VERIFY(12)", dataOut: true, handler: (cdb, ctx, d) => block.write(cdb, ctx.lu, d) },
  {
    op: 0xaf,
    cdbLength: 12,
    name: "VERIFY(12)",
    dataOut: true,
    access: "read",
    handler: (cdb, ctx, d) => block.verify(cdb, ctx.lu, d),
  },
];

const BY_OP = new Map<number, CommandInfo[]>();
for (const c of COMMANDS) BY_OP.set(c.op, [...(BY_OP.get(c.op) ?? []), c]);

const serviceAction = (cdb: Buffer): number => cdb[1]! & 0x1f;

export function findCommand(cdb: Buffer): CommandInfo | undefined {
  const list = BY_OP.get(cdb[0]!);
  if (!list) return undefined;
  if (list[0]!.sa === undefined) return list[0];
  return list.find((c) => c.sa === serviceAction(cdb));
}

/** One entry per reported (opcode, service action): how REPORT SUPPORTED OPERATION CODES sees the table. */
const REPORTED: CommandInfo[] = COMMANDS.flatMap((c) => (c.serviceActions ? c.serviceActions.map((sa) => ({ ...c, sa })) : [c]));
const REPORTED_BY_OP = new Map<number, CommandInfo[]>();
for (const c of REPORTED) REPORTED_BY_OP.set(c.op, [...(REPORTED_BY_OP.get(c.op) ?? []), c]);

function reservationConflict(cmd: CommandInfo, cdb: Buffer, ctx: ScsiContext & { lu: NonNullable<ScsiContext["lu"]> }) {
  const state = ctx.lu.reservations;
  // The common case, nothing reserved, costs two property reads.
  if (state.reservation === undefined && state.spc2Holder === undefined) return false;
  const access = typeof cmd.access === "function" ? cmd.access(cdb) : (cmd.access ?? "write");
  const exempt = typeof cmd.spc2Exempt === "function" ? cmd.spc2Exempt(cdb) : (cmd.spc2Exempt ?? false);
  return conflicts(state, ctx.nexus.id, access, exempt);
}

export const commandName = (cdb: Buffer): string => findCommand(cdb)?.name ?? `opcode 0x${cdb[0]!.toString(16).padStart(2, "0")}`;

/** Runs one SCSI command. Never throws: backend failures become MEDIUM/HARDWARE ERROR sense. */
export async function executeScsi(cdb: Buffer, ctx: ScsiContext, dataOut: Buffer | undefined): Promise<ScsiResult> {
  const cmd = findCommand(cdb);
  if (cdb.length === 0) return illegalRequest(Asc.InvalidOpcode);
  if (!ctx.lu) {
    if (cmd?.op === 0x12) return inquiry(cdb, undefined);
    if (cmd?.op === 0xa0) return reportLuns(cdb, ctx);
    if (cmd?.op === 0x03) return good(fixedSense({ key: SenseKey.IllegalRequest, asc: Asc.LunNotSupported }).subarray(0, cdb[4]));
    return checkCondition(SenseKey.IllegalRequest, Asc.LunNotSupported);
  }
  if (!cmd || cdb.length < cmd.cdbLength) {
    return illegalRequest(Asc.InvalidOpcode, 0);
  }
  if (!cmd.noUnitAttention) {
    const ua = ctx.nexus.unitAttention.get(ctx.lun);
    if (ua !== undefined) {
      ctx.nexus.unitAttention.delete(ctx.lun);
      return checkCondition(SenseKey.UnitAttention, ua);
    }
  }
  const luCtx = ctx as ScsiContext & { lu: NonNullable<ScsiContext["lu"]> };
  // RESERVATION CONFLICT is a status of its own: no sense data (SAM-5).
  if (reservationConflict(cmd, cdb, luCtx)) return { status: Status.ReservationConflict };
  try {
    return await cmd.handler(cdb, luCtx, dataOut);
  } catch (err) {
    const write = cmd.dataOut === true;
    void err;
    return checkCondition(SenseKey.MediumError, write ? Asc.WriteError : Asc.UnrecoveredReadError);
  }
}

function usageBitmap(c: CommandInfo): Buffer {
  const u = Buffer.alloc(c.cdbLength, 0xff);
  u[0] = c.op;
  if (c.sa !== undefined) u[1] = 0xe0 | c.sa; // the service action bits are fixed
  u[c.cdbLength - 1] = 0x07; // CONTROL: NACA/LINK and vendor bits not supported
  return u;
}

function reportSupportedOpcodes(cdb: Buffer): ScsiResult {
  const options = cdb[2]! & 0x07;
  const rctd = (cdb[2]! & 0x80) !== 0;
  const reqOp = cdb[3]!;
  const reqSa = cdb.readUInt16BE(4);
  const alloc = cdb.readUInt32BE(6);
  const timeouts = (): Buffer => {
    const t = Buffer.alloc(12);
    t.writeUInt16BE(10, 0);
    return t;
  };
  let data: Buffer;
  if (options === 0) {
    const parts = REPORTED.map((c) => {
      const d = Buffer.alloc(8);
      d[0] = c.op;
      d.writeUInt16BE(c.sa ?? 0, 2);
      d[5] = (c.sa !== undefined ? 0x01 : 0) | (rctd ? 0x02 : 0);
      d.writeUInt16BE(c.cdbLength, 6);
      return rctd ? Buffer.concat([d, timeouts()]) : d;
    });
    const body = Buffer.concat(parts);
    const h = Buffer.alloc(4);
    h.writeUInt32BE(body.length, 0);
    data = Buffer.concat([h, body]);
  } else if (options === 1 || options === 2 || options === 3) {
    const list = REPORTED_BY_OP.get(reqOp);
    const hasSa = list !== undefined && list[0]!.sa !== undefined;
    if (options === 1 && hasSa) return illegalRequest(Asc.InvalidFieldInCdb, 2);
    if (options === 2 && list && !hasSa) return illegalRequest(Asc.InvalidFieldInCdb, 2);
    const c = list?.find((x) => (options === 1 ? true : x.sa === reqSa));
    const h = Buffer.alloc(4);
    h[1] = (c ? 0x03 : 0x01) | (rctd ? 0x80 : 0); // supported per standard / not supported; CTDP
    if (c) {
      const usage = usageBitmap(c);
      h.writeUInt16BE(usage.length, 2);
      data = Buffer.concat([h, usage, ...(rctd ? [timeouts()] : [])]);
    } else data = h;
  } else return illegalRequest(Asc.InvalidFieldInCdb, 2);
  return good(data.subarray(0, Math.min(alloc, data.length)));
}

export { Status };

/**
 * Bytes of Data-Out a command's CDB asks for (to compute residuals against the
 * ExpectedDataTransferLength), or undefined for commands that take none.
 */
export function dataOutLength(cdb: Buffer): number | undefined {
  const op = cdb[0]!;
  switch (op) {
    case 0x0a:
    case 0x2a:
    case 0xaa:
    case 0x8a:
    case 0x2e:
    case 0xae:
    case 0x8e: {
      const r = block.decodeRange(cdb);
      return r.blocks * 512;
    }
    case 0x2f:
    case 0xaf:
    case 0x8f: {
      const bytchk = (cdb[1]! >> 1) & 3;
      if (bytchk === 0) return 0;
      return bytchk === 3 ? 512 : block.decodeRange(cdb).blocks * 512;
    }
    case 0x41:
      return 512;
    case 0x8b:
      return block.decodeRange(cdb).blocks * 512;
    case 0x93:
      return cdb[1]! & 0x01 ? 0 : 512;
    case 0x5f:
      return cdb.readUInt32BE(5);
    case 0x42:
      return cdb.readUInt16BE(7);
    case 0x89:
      return cdb[13]! * 1024;
    default:
      return undefined;
  }
}
