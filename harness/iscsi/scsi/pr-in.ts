// PERSISTENT RESERVE IN (SPC-4): READ KEYS, READ RESERVATION, REPORT CAPABILITIES and
// READ FULL STATUS, encoded from the LU's reservation state. The data is built whole and cut
// to the allocation length: the length fields always describe all of it.
import type { LogicalUnit, ScsiContext } from "./lu.js";
import { isHolder, type ReservationState, reservationKey } from "./reservations.js";
import { Asc, good, illegalRequest, type ScsiResult } from "./sense.js";
import { encodeTransportId } from "./transport-id.js";

/** The one target port every LU is reached through (VPD 0x83 reports it as relative port 1). */
export const RELATIVE_TARGET_PORT = 1;

function header(state: ReservationState, additional: number): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(state.generation, 0);
  h.writeUInt32BE(additional, 4);
  return h;
}

function readKeys(state: ReservationState): Buffer {
  const keys = Buffer.alloc(8 * state.registrations.size);
  let o = 0;
  for (const reg of state.registrations.values()) {
    keys.writeBigUInt64BE(reg.key, o);
    o += 8;
  }
  return Buffer.concat([header(state, keys.length), keys]);
}

function readReservation(state: ReservationState): Buffer {
  const r = state.reservation;
  if (!r) return header(state, 0);
  const d = Buffer.alloc(16);
  d.writeBigUInt64BE(reservationKey(state), 0);
  d[13] = (r.scope << 4) | r.type;
  return Buffer.concat([header(state, 16), d]);
}

/**
 * REPORT CAPABILITIES: CRH=1 (RESERVE/RELEASE(6/10) follow §5.7.3), ATP_C=1 (ALL_TG_PT accepted: there is
 * one target port), SIP_C=0 (no SPEC_I_PT), PTPL_C=0 (nothing survives a power loss: the
 * target lives as long as its process); ALLOW COMMANDS 001b: TEST UNIT READY passes every
 * reservation; every type in the mask.
 */
function reportCapabilities(): Buffer {
  const d = Buffer.alloc(8);
  d.writeUInt16BE(8, 0);
  d[2] = 0x10 | 0x04; // CRH, ATP_C
  d[3] = 0x80 | (0x1 << 4); // TMV, ALLOW COMMANDS
  d[4] = 0x80 | 0x40 | 0x20 | 0x08 | 0x02; // WR_EX_AR, EX_AC_RO, WR_EX_RO, EX_AC, WR_EX
  d[5] = 0x01; // EX_AC_AR
  return d;
}

function readFullStatus(state: ReservationState): Buffer {
  const r = state.reservation;
  const descriptors = [...state.registrations.values()].map((reg) => {
    const tid = encodeTransportId(reg.nexus);
    const d = Buffer.alloc(24);
    d.writeBigUInt64BE(reg.key, 0);
    const holds = r !== undefined && isHolder(state, reg.nexus);
    d[12] = (reg.allTargetPorts ? 0x02 : 0) | (holds ? 0x01 : 0);
    if (holds) d[13] = (r.scope << 4) | r.type;
    d.writeUInt16BE(RELATIVE_TARGET_PORT, 18);
    d.writeUInt32BE(tid.length, 20);
    return Buffer.concat([d, tid]);
  });
  const body = Buffer.concat(descriptors);
  return Buffer.concat([header(state, body.length), body]);
}

export function persistentReserveIn(cdb: Buffer, ctx: ScsiContext & { lu: LogicalUnit }): ScsiResult {
  const alloc = cdb.readUInt16BE(7);
  const state = ctx.lu.reservations;
  let data: Buffer;
  switch (cdb[1]! & 0x1f) {
    case 0x00:
      data = readKeys(state);
      break;
    case 0x01:
      data = readReservation(state);
      break;
    case 0x02:
      data = reportCapabilities();
      break;
    case 0x03:
      data = readFullStatus(state);
      break;
    default:
      return illegalRequest(Asc.InvalidFieldInCdb, 1, 4);
  }
  return good(data.subarray(0, Math.min(alloc, data.length)));
}
