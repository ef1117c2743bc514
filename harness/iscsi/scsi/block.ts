// Block commands (SBC-3): READ/WRITE (6/10/12/16), WRITE AND VERIFY, VERIFY, SYNCHRONIZE
// CACHE, WRITE SAME, UNMAP, COMPARE AND WRITE, PRE-FETCH, READ CAPACITY (10/16).
import {
  BLOCK_SIZE,
  type LogicalUnit,
  MAX_TRANSFER_BLOCKS,
  MAX_UNMAP_BLOCKS,
  MAX_UNMAP_DESCRIPTORS,
  MAX_WRITE_SAME_BLOCKS,
} from "./lu.js";
import {
  Asc,
  checkCondition,
  good,
  illegalRequest,
  lbaOutOfRange,
  type ScsiResult,
  SenseKey,
  Status,
  writeProtected,
} from "./sense.js";

export interface BlockRange {
  lba: number;
  blocks: number;
  fua: boolean;
}

/** LBA, length and FUA of a READ/WRITE/VERIFY-style CDB, by CDB size. */
export function decodeRange(cdb: Buffer): BlockRange {
  switch (groupLength(cdb[0]!)) {
    case 6: {
      const n = cdb[4]!;
      return { lba: ((cdb[1]! & 0x1f) << 16) | cdb.readUInt16BE(2), blocks: n === 0 ? 256 : n, fua: false };
    }
    case 10:
      return { lba: cdb.readUInt32BE(2), blocks: cdb.readUInt16BE(7), fua: (cdb[1]! & 0x08) !== 0 };
    case 12:
      return { lba: cdb.readUInt32BE(2), blocks: cdb.readUInt32BE(6), fua: (cdb[1]! & 0x08) !== 0 };
    default:
      return { lba: Number(cdb.readBigUInt64BE(2)), blocks: cdb.readUInt32BE(10), fua: (cdb[1]! & 0x08) !== 0 };
  }
}

function groupLength(op: number): number {
  const group = op >> 5;
  return group === 0 ? 6 : group === 1 || group === 2 ? 10 : group === 5 ? 12 : 16;
}

/** Range check shared by every block command; undefined when fine. */
export function checkRange(lu: LogicalUnit, lba: number, blocks: number): ScsiResult | undefined {
  if (!Number.isSafeInteger(lba) || lba + blocks > lu.blocks) return lbaOutOfRange();
  return undefined;
}

/** RDPROTECT / WRPROTECT / VRPROTECT / ORPROTECT: these LUs carry no protection information. */
export function protectBits(cdb: Buffer): boolean {
  return cdb.length > 6 && cdb[1]! >> 5 !== 0;
}

export async function read(cdb: Buffer, lu: LogicalUnit): Promise<ScsiResult> {
  const r = decodeRange(cdb);
  if (protectBits(cdb)) return illegalRequest(Asc.InvalidFieldInCdb, 1, 7);
  const bad = checkRange(lu, r.lba, r.blocks);
  if (bad) return bad;
  if (r.blocks > MAX_TRANSFER_BLOCKS) return illegalRequest(Asc.InvalidFieldInCdb, cdb.length === 10 ? 7 : 6);
  if (r.blocks === 0) return good();
  const data = Buffer.allocUnsafe(r.blocks * BLOCK_SIZE);
  await lu.backend.read(data, r.lba * BLOCK_SIZE);
  return good(data);
}

/** WRITE and WRITE AND VERIFY (the verify is implicit: we store what we were given). */
export async function write(cdb: Buffer, lu: LogicalUnit, dataOut: Buffer | undefined): Promise<ScsiResult> {
  const r = decodeRange(cdb);
  const isWriteVerify = cdb[0] === 0x2e || cdb[0] === 0xae || cdb[0] === 0x8e;
  if (protectBits(cdb)) return illegalRequest(Asc.InvalidFieldInCdb, 1, 7);
  const bad = checkRange(lu, r.lba, r.blocks);
  if (bad) return bad;
  if (lu.readOnly) return writeProtected();
  if (r.blocks > MAX_TRANSFER_BLOCKS) return illegalRequest(Asc.InvalidFieldInCdb, cdb.length === 10 ? 7 : 6);
  if (r.blocks === 0) return good();
  const bytes = r.blocks * BLOCK_SIZE;
  const data = dataOut ?? Buffer.alloc(0);
  // A short Data-Out (EDTL below the CDB's length) writes only the whole blocks received.
  const usable = Math.min(bytes, data.length - (data.length % BLOCK_SIZE));
  if (usable > 0)
    await lu.backend.write(usable === data.length ? data : data.subarray(0, usable), r.lba * BLOCK_SIZE, r.fua || isWriteVerify);
  return good();
}

export async function verify(cdb: Buffer, lu: LogicalUnit, dataOut: Buffer | undefined): Promise<ScsiResult> {
  const r = decodeRange(cdb);
  if (protectBits(cdb)) return illegalRequest(Asc.InvalidFieldInCdb, 1, 7);
  const bytchk = (cdb[1]! >> 1) & 0x03;
  const bad = checkRange(lu, r.lba, r.blocks);
  if (bad) return bad;
  if (bytchk === 0 || r.blocks === 0) return good();
  if (bytchk === 2) return illegalRequest(Asc.InvalidFieldInCdb, 1, 2);
  if (r.blocks > MAX_TRANSFER_BLOCKS) return illegalRequest(Asc.InvalidFieldInCdb, cdb.length === 10 ? 7 : 6);
  const medium = Buffer.allocUnsafe(r.blocks * BLOCK_SIZE);
  await lu.backend.read(medium, r.lba * BLOCK_SIZE);
  const given = dataOut ?? Buffer.alloc(0);
  for (let i = 0; i < medium.length; i++) {
    const expected = bytchk === 3 ? given[i % BLOCK_SIZE] : given[i];
    if (expected === undefined) break;
    if (medium[i] !== expected) return checkCondition(SenseKey.Miscompare, Asc.MiscompareDuringVerify, { information: i });
  }
  return good();
}

export async function synchronizeCache(cdb: Buffer, lu: LogicalUnit): Promise<ScsiResult> {
  const sixteen = cdb[0] === 0x91;
  const lba = sixteen ? Number(cdb.readBigUInt64BE(2)) : cdb.readUInt32BE(2);
  const blocks = sixteen ? cdb.readUInt32BE(10) : cdb.readUInt16BE(7);
  const bad = checkRange(lu, lba, blocks);
  if (bad) return bad;
  await lu.backend.flush();
  return good();
}

export async function prefetch(cdb: Buffer, lu: LogicalUnit): Promise<ScsiResult> {
  const sixteen = cdb[0] === 0x90;
  const lba = sixteen ? Number(cdb.readBigUInt64BE(2)) : cdb.readUInt32BE(2);
  const blocks = sixteen ? cdb.readUInt32BE(10) : cdb.readUInt16BE(7);
  const bad = checkRange(lu, lba, blocks);
  if (bad) return bad;
  // Everything may be "in cache" (the page cache): CONDITION MET says the prefetch would fit.
  return { status: Status.ConditionMet };
}

export async function writeSame(cdb: Buffer, lu: LogicalUnit, dataOut: Buffer | undefined): Promise<ScsiResult> {
  const sixteen = cdb[0] === 0x93;
  const lba = sixteen ? Number(cdb.readBigUInt64BE(2)) : cdb.readUInt32BE(2);
  let blocks = sixteen ? cdb.readUInt32BE(10) : cdb.readUInt16BE(7);
  const flags = cdb[1]!;
  const unmap = (flags & 0x08) !== 0;
  const ndob = sixteen && (flags & 0x01) !== 0;
  if (flags & 0x10) return illegalRequest(Asc.InvalidFieldInCdb, 1, 4); // ANCHOR unsupported
  if (flags >> 5) return illegalRequest(Asc.InvalidFieldInCdb, 1, 7); // WRPROTECT
  // SBC-3 WRITE SAME: with WSNZ=0 (Block Limits VPD), zero blocks means "from the LBA to the last one".
  if (blocks === 0 && (!Number.isSafeInteger(lba) || lba >= lu.blocks)) return lbaOutOfRange();
  if (blocks === 0) blocks = lu.blocks - lba;
  const bad = checkRange(lu, lba, blocks);
  if (bad) return bad;
  if (lu.readOnly) return writeProtected();
  if (blocks > MAX_WRITE_SAME_BLOCKS) return illegalRequest(Asc.InvalidFieldInCdb, sixteen ? 10 : 7);
  let pattern: Buffer;
  if (ndob) pattern = Buffer.alloc(BLOCK_SIZE);
  else {
    if (!dataOut || dataOut.length < BLOCK_SIZE) return illegalRequest(Asc.ParameterListLengthError);
    pattern = dataOut.subarray(0, BLOCK_SIZE);
  }
  const offset = lba * BLOCK_SIZE;
  const total = blocks * BLOCK_SIZE;
  // UNMAP=1 asks for the blocks to be unmapped rather than written (SBC-3 thin provisioning):
  // we do, whatever the pattern, and LBPRZ=1 makes them read back as zeros. NDOB's implied
  // pattern is zeros, so it unmaps too.
  if (unmap || ndob) {
    await lu.backend.discard(offset, total);
    return good();
  }
  const chunkBlocks = Math.min(blocks, 2048);
  const chunk = Buffer.allocUnsafe(chunkBlocks * BLOCK_SIZE);
  for (let i = 0; i < chunkBlocks; i++) pattern.copy(chunk, i * BLOCK_SIZE);
  for (let done = 0; done < total; done += chunk.length) {
    const n = Math.min(chunk.length, total - done);
    await lu.backend.write(n === chunk.length ? chunk : chunk.subarray(0, n), offset + done, false);
  }
  return good();
}

export async function unmap(cdb: Buffer, lu: LogicalUnit, dataOut: Buffer | undefined): Promise<ScsiResult> {
  if (cdb[1]! & 0x01) return illegalRequest(Asc.InvalidFieldInCdb, 1, 0); // ANCHOR
  const paramLen = cdb.readUInt16BE(7);
  if (paramLen === 0) return good();
  if (lu.readOnly) return writeProtected();
  const p = dataOut ?? Buffer.alloc(0);
  if (paramLen < 8 || p.length < 8) return illegalRequest(Asc.ParameterListLengthError);
  const descLen = p.readUInt16BE(2);
  if (descLen % 16 !== 0 || 8 + descLen > p.length) return illegalRequest(Asc.ParameterListLengthError);
  const count = descLen / 16;
  if (count > MAX_UNMAP_DESCRIPTORS) return illegalRequest(Asc.InvalidFieldInParameterList);
  const ranges: Array<[number, number]> = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const o = 8 + i * 16;
    const lba = Number(p.readBigUInt64BE(o));
    const n = p.readUInt32BE(o + 8);
    const bad = checkRange(lu, lba, n);
    if (bad) return bad;
    total += n;
    ranges.push([lba, n]);
  }
  if (total > MAX_UNMAP_BLOCKS) return illegalRequest(Asc.InvalidFieldInParameterList);
  for (const [lba, n] of ranges) if (n > 0) await lu.backend.discard(lba * BLOCK_SIZE, n * BLOCK_SIZE);
  return good();
}

export function compareAndWrite(cdb: Buffer, lu: LogicalUnit, dataOut: Buffer | undefined): Promise<ScsiResult> {
  const lba = Number(cdb.readBigUInt64BE(2));
  const blocks = cdb[13]!;
  if (cdb[1]! >> 5) return Promise.resolve(illegalRequest(Asc.InvalidFieldInCdb, 1, 7));
  const bad = checkRange(lu, lba, blocks);
  if (bad) return Promise.resolve(bad);
  if (lu.readOnly) return Promise.resolve(writeProtected());
  // NUMBER OF BLOCKS 0 transfers nothing; with data attached the byte wrapped (256+ blocks).
  if (blocks === 0) return Promise.resolve((dataOut?.length ?? 0) > 0 ? illegalRequest(Asc.InvalidFieldInCdb, 13) : good());
  if (blocks > 1) return Promise.resolve(illegalRequest(Asc.InvalidFieldInCdb, 13));
  const bytes = blocks * BLOCK_SIZE;
  const data = dataOut ?? Buffer.alloc(0);
  if (data.length < 2 * bytes) return Promise.resolve(illegalRequest(Asc.ParameterListLengthError));
  const run = async (): Promise<ScsiResult> => {
    const medium = Buffer.allocUnsafe(bytes);
    await lu.backend.read(medium, lba * BLOCK_SIZE);
    for (let i = 0; i < bytes; i++) {
      if (medium[i] !== data[i]) return checkCondition(SenseKey.Miscompare, Asc.MiscompareDuringVerify, { information: i });
    }
    await lu.backend.write(data.subarray(bytes, 2 * bytes), lba * BLOCK_SIZE, (cdb[1]! & 0x08) !== 0);
    return good();
  };
  const result = lu.atomicChain.then(run, run);
  lu.atomicChain = result.catch(() => undefined);
  return result;
}

export function readCapacity10(lu: LogicalUnit): ScsiResult {
  const d = Buffer.alloc(8);
  d.writeUInt32BE(Math.min(lu.blocks - 1, 0xffffffff), 0);
  d.writeUInt32BE(BLOCK_SIZE, 4);
  return good(d);
}

export function readCapacity16(cdb: Buffer, lu: LogicalUnit): ScsiResult {
  const alloc = cdb.readUInt32BE(10);
  const d = Buffer.alloc(32);
  d.writeBigUInt64BE(BigInt(lu.blocks - 1), 0);
  d.writeUInt32BE(BLOCK_SIZE, 8);
  d[14] = 0x80 | 0x40; // LBPME, LBPRZ
  return good(d.subarray(0, Math.min(alloc, d.length)));
}

export function getLbaStatus(cdb: Buffer, lu: LogicalUnit): ScsiResult {
  const lba = Number(cdb.readBigUInt64BE(2));
  const alloc = cdb.readUInt32BE(10);
  if (lba >= lu.blocks) return lbaOutOfRange();
  // We do not track allocation: report the rest of the LU as one mapped extent.
  const d = Buffer.alloc(24);
  d.writeUInt32BE(20, 0);
  d.writeBigUInt64BE(BigInt(lba), 8);
  d.writeUInt32BE(Math.min(lu.blocks - lba, 0xffffffff), 16);
  d[20] = 0; // mapped
  return good(d.subarray(0, Math.min(alloc, d.length)));
}
