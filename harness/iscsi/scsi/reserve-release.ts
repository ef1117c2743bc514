// RESERVE(6)/(10) and RELEASE(6)/(10) (SPC-2; SPC-4 made them obsolete but defines how
// they meet persistent reservations, spc4r17 §5.7.3). Whole-LU reservations only:
// third-party reservations (3RDPTY, LONGID) and extents are not supported.
import type { LogicalUnit, ScsiContext } from "./lu.js";
import { applyPrResult } from "./pr-out.js";
import { release6, reserve6 } from "./reservations.js";
import { Asc, illegalRequest, type ScsiResult } from "./sense.js";

function thirdPartyBits(cdb: Buffer): ScsiResult | undefined {
  if (cdb.length < 10) return undefined; // the 6-byte forms' bits are obsolete and ignored
  if (cdb[1]! & 0x10) return illegalRequest(Asc.InvalidFieldInCdb, 1, 4); // 3RDPTY
  if (cdb[1]! & 0x02) return illegalRequest(Asc.InvalidFieldInCdb, 1, 1); // LONGID
  return undefined;
}

export function reserve(cdb: Buffer, ctx: ScsiContext & { lu: LogicalUnit }): ScsiResult {
  return thirdPartyBits(cdb) ?? applyPrResult(reserve6(ctx.lu.reservations, ctx.nexus.id), ctx);
}

export function release(cdb: Buffer, ctx: ScsiContext & { lu: LogicalUnit }): ScsiResult {
  return thirdPartyBits(cdb) ?? applyPrResult(release6(ctx.lu.reservations, ctx.nexus.id), ctx);
}
