// ORWRITE(16) (SBC-3): each block becomes the bitwise OR of what the medium holds and
// what the initiator sent, read-modify-write serialised with COMPARE AND WRITE on the same
// chain so no other atomic command sees a half-ORed block.
import { checkRange, decodeRange, protectBits } from "./block.js";
import { BLOCK_SIZE, type LogicalUnit, MAX_TRANSFER_BLOCKS } from "./lu.js";
import { Asc, good, illegalRequest, type ScsiResult, writeProtected } from "./sense.js";

export function orWrite(cdb: Buffer, lu: LogicalUnit, dataOut: Buffer | undefined): Promise<ScsiResult> | ScsiResult {
  const r = decodeRange(cdb);
  // ORPROTECT: no protection information on these LUs, so any non-zero value is invalid.
  if (protectBits(cdb)) return illegalRequest(Asc.InvalidFieldInCdb, 1, 7);
  const bad = checkRange(lu, r.lba, r.blocks);
  if (bad) return bad;
  if (lu.readOnly) return writeProtected();
  if (r.blocks > MAX_TRANSFER_BLOCKS) return illegalRequest(Asc.InvalidFieldInCdb, 10);
  if (r.blocks === 0) return good();
  const bytes = r.blocks * BLOCK_SIZE;
  const data = dataOut ?? Buffer.alloc(0);
  // Like WRITE, a short Data-Out only changes the whole blocks it carries.
  const usable = Math.min(bytes, data.length - (data.length % BLOCK_SIZE));
  if (usable === 0) return good();
  const run = async (): Promise<ScsiResult> => {
    const medium = Buffer.allocUnsafe(usable);
    await lu.backend.read(medium, r.lba * BLOCK_SIZE);
    for (let i = 0; i < usable; i++) medium[i]! |= data[i]!;
    await lu.backend.write(medium, r.lba * BLOCK_SIZE, r.fua);
    return good();
  };
  const result = lu.atomicChain.then(run, run);
  lu.atomicChain = result.catch(() => undefined);
  return result;
}
