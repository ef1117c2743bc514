// Small SPC commands that touch no medium: REQUEST SENSE (it hands over and clears the
// nexus's unit attention), REPORT LUNS, START STOP UNIT and PREVENT ALLOW MEDIUM REMOVAL.
import type { ScsiContext } from "./lu.js";
import { Asc, checkCondition, descriptorSense, fixedSense, good, illegalRequest, type ScsiResult, SenseKey } from "./sense.js";

type LuContext = ScsiContext & { lu: NonNullable<ScsiContext["lu"]> };

export function requestSense(cdb: Buffer, ctx: ScsiContext): ScsiResult {
  const desc = (cdb[1]! & 0x01) !== 0;
  const alloc = cdb[4]!;
  const ua = ctx.nexus.unitAttention.get(ctx.lun);
  let info = { key: SenseKey.NoSense as number, asc: Asc.NoAdditional as number };
  if (ua !== undefined) {
    ctx.nexus.unitAttention.delete(ctx.lun);
    info = { key: SenseKey.UnitAttention, asc: ua };
  }
  const data = desc ? descriptorSense(info) : fixedSense(info);
  return good(data.subarray(0, Math.min(alloc, data.length)));
}

export function reportLuns(cdb: Buffer, ctx: ScsiContext): ScsiResult {
  const select = cdb[2]!;
  const alloc = cdb.readUInt32BE(6);
  if (select > 2 && select !== 0x10 && select !== 0x11 && select !== 0x12) return illegalRequest(Asc.InvalidFieldInCdb, 2);
  if (alloc < 16) return illegalRequest(Asc.InvalidFieldInCdb, 6);
  const luns = select === 1 ? [] : ctx.luns;
  const d = Buffer.alloc(8 + luns.length * 8);
  d.writeUInt32BE(luns.length * 8, 0);
  luns.forEach((lun, i) => {
    const o = 8 + i * 8;
    if (lun < 256) d[o + 1] = lun;
    else {
      d[o] = 0x40 | ((lun >> 8) & 0x3f);
      d[o + 1] = lun & 0xff;
    }
  });
  return good(d.subarray(0, Math.min(alloc, d.length)));
}

export function startStop(cdb: Buffer, ctx: LuContext): ScsiResult {
  const loej = (cdb[4]! & 0x02) !== 0;
  const start = (cdb[4]! & 0x01) !== 0;
  if (loej && !start && ctx.lu.preventedBy.size > 0) return checkCondition(SenseKey.IllegalRequest, Asc.MediumRemovalPrevented);
  return good();
}

export function preventAllow(cdb: Buffer, ctx: LuContext): ScsiResult {
  const prevent = cdb[4]! & 0x03;
  if (prevent === 1) ctx.lu.preventedBy.add(ctx.nexus);
  else if (prevent === 0) ctx.lu.preventedBy.delete(ctx.nexus);
  else return illegalRequest(Asc.InvalidFieldInCdb, 4);
  return good();
}
