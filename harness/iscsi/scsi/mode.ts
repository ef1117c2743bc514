// MODE SENSE (6/10) with the pages Linux and libiscsi ask for: read-write error recovery
// (0x01), caching (0x08, WCE=1 so initiators send SYNCHRONIZE CACHE) and control (0x0A).
import type { LogicalUnit } from "./lu.js";
import { Asc, checkCondition, good, illegalRequest, type ScsiResult, SenseKey } from "./sense.js";

type PageControl = 0 | 1 | 2;

function page(code: number, pc: PageControl): Buffer | null {
  const changeable = pc === 1;
  switch (code) {
    case 0x01: {
      const p = Buffer.alloc(12);
      p[0] = 0x01;
      p[1] = 0x0a;
      if (!changeable) p[2] = 0x80; // AWRE
      return p;
    }
    case 0x08: {
      const p = Buffer.alloc(20);
      p[0] = 0x08;
      p[1] = 0x12;
      if (!changeable) p[2] = 0x04; // WCE
      return p;
    }
    case 0x0a: {
      const p = Buffer.alloc(12);
      p[0] = 0x0a;
      p[1] = 0x0a;
      if (!changeable) {
        p[2] = 0x02; // GLTSD
        p[3] = 0x10; // queue algorithm modifier: unrestricted reordering
        p.writeUInt16BE(0xffff, 8); // busy timeout period: unlimited
      }
      return p;
    }
    case 0x1c: {
      const p = Buffer.alloc(12);
      p[0] = 0x1c;
      p[1] = 0x0a;
      return p;
    }
    default:
      return null;
  }
}

export function modeSense(cdb: Buffer, lu: LogicalUnit, ten: boolean): ScsiResult {
  const dbd = (cdb[1]! & 0x08) !== 0;
  const llbaa = ten && (cdb[1]! & 0x10) !== 0;
  const pc = cdb[2]! >> 6;
  const code = cdb[2]! & 0x3f;
  const subpage = cdb[3]!;
  const alloc = ten ? cdb.readUInt16BE(7) : cdb[4]!;
  if (pc === 3) return checkCondition(SenseKey.IllegalRequest, Asc.SavingParametersNotSupported);
  if (subpage !== 0 && subpage !== 0xff) return illegalRequest(Asc.InvalidFieldInCdb, 3);
  let pages: Buffer[];
  if (code === 0x3f) pages = [0x01, 0x08, 0x0a, 0x1c].map((c) => page(c, pc as PageControl)!);
  else {
    const p = page(code, pc as PageControl);
    if (!p) return illegalRequest(Asc.InvalidFieldInCdb, 2);
    pages = [p];
  }
  let blockDesc = Buffer.alloc(0);
  if (!dbd) {
    if (llbaa) {
      blockDesc = Buffer.alloc(16);
      blockDesc.writeBigUInt64BE(BigInt(lu.blocks), 0);
      blockDesc.writeUInt32BE(512, 12);
    } else {
      blockDesc = Buffer.alloc(8);
      blockDesc.writeUInt32BE(Math.min(lu.blocks, 0xffffff), 0);
      blockDesc[0] = 0;
      blockDesc.writeUInt32BE(512, 4);
    }
  }
  const deviceSpecific = (lu.readOnly ? 0x80 : 0) | 0x10; // WP, DPOFUA
  const body = Buffer.concat([blockDesc, ...pages]);
  let header: Buffer;
  if (ten) {
    header = Buffer.alloc(8);
    header.writeUInt16BE(header.length + body.length - 2, 0);
    header[3] = deviceSpecific;
    if (llbaa && !dbd) header[4] = 0x01;
    header.writeUInt16BE(blockDesc.length, 6);
  } else {
    header = Buffer.alloc(4);
    header[0] = Math.min(255, header.length + body.length - 1);
    header[2] = deviceSpecific;
    header[3] = blockDesc.length;
  }
  const all = Buffer.concat([header, body]);
  return good(all.subarray(0, Math.min(alloc, all.length)));
}
