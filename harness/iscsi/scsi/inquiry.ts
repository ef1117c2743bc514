// INQUIRY: standard data and the VPD pages 0x00, 0x80, 0x83, 0xB0, 0xB1, 0xB2 (SPC-4 §6.6, SBC-3 §6.6).
import {
  BLOCK_SIZE,
  type LogicalUnit,
  MAX_TRANSFER_BLOCKS,
  MAX_UNMAP_BLOCKS,
  MAX_UNMAP_DESCRIPTORS,
  MAX_WRITE_SAME_BLOCKS,
} from "./lu.js";
import { Asc, good, illegalRequest, type ScsiResult } from "./sense.js";

export const VENDOR = "BOOTPRF ";
export const PRODUCT = "VIRTUAL-DISK    ";
export const REVISION = "0001";
const SUPPORTED_VPD = [0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2];

export function inquiry(cdb: Buffer, lu: LogicalUnit | undefined): ScsiResult {
  const evpd = (cdb[1]! & 0x01) !== 0;
  if (cdb[1]! & 0x02) return illegalRequest(Asc.InvalidFieldInCdb, 1, 1); // CmdDt is obsolete
  const page = cdb[2]!;
  const alloc = cdb.readUInt16BE(3);
  if (!evpd && page !== 0) return illegalRequest(Asc.InvalidFieldInCdb, 2);
  const data = evpd ? vpdPage(page, lu) : standardInquiry(lu);
  if (!data) return illegalRequest(Asc.InvalidFieldInCdb, 2);
  return good(data.subarray(0, Math.min(alloc, data.length)));
}

function standardInquiry(lu: LogicalUnit | undefined): Buffer {
  const d = Buffer.alloc(66);
  d[0] = lu ? 0x00 : 0x7f; // direct-access block device, or "no LU here"
  d[2] = 0x06; // SPC-4
  d[3] = 0x12; // HiSup, response data format 2
  d[4] = d.length - 5;
  d[7] = 0x02; // CmdQue
  d.write(VENDOR, 8, "ascii");
  d.write(PRODUCT, 16, "ascii");
  d.write(REVISION, 32, "ascii");
  d.writeUInt16BE(0x0960, 58); // iSCSI
  d.writeUInt16BE(0x0460, 60); // SPC-4
  d.writeUInt16BE(0x04c0, 62); // SBC-3
  d.writeUInt16BE(0x0000, 64);
  return d;
}

function vpdPage(page: number, lu: LogicalUnit | undefined): Buffer | null {
  const qualifier = lu ? 0x00 : 0x7f;
  const withHeader = (body: Buffer): Buffer => {
    const h = Buffer.alloc(4);
    h[0] = qualifier;
    h[1] = page;
    h.writeUInt16BE(body.length, 2);
    return Buffer.concat([h, body]);
  };
  switch (page) {
    case 0x00:
      return withHeader(Buffer.from(SUPPORTED_VPD));
    case 0x80:
      return withHeader(Buffer.from(lu?.serial ?? "", "ascii"));
    case 0x83:
      return withHeader(lu ? deviceIdentifiers(lu) : Buffer.alloc(0));
    case 0xb0: {
      const b = Buffer.alloc(0x3c);
      // WSNZ=0: WRITE SAME with zero blocks writes to the end of the LU (up to the maximum below).
      b[1] = 1; // MAXIMUM COMPARE AND WRITE LENGTH
      b.writeUInt16BE(1, 2); // optimal transfer length granularity
      b.writeUInt32BE(MAX_TRANSFER_BLOCKS, 4);
      b.writeUInt32BE(MAX_TRANSFER_BLOCKS, 8); // optimal transfer length
      b.writeUInt32BE(MAX_UNMAP_BLOCKS, 16);
      b.writeUInt32BE(MAX_UNMAP_DESCRIPTORS, 20);
      b.writeUInt32BE(1, 24); // optimal unmap granularity
      b.writeBigUInt64BE(BigInt(MAX_WRITE_SAME_BLOCKS), 32);
      return withHeader(b);
    }
    case 0xb1: {
      const b = Buffer.alloc(0x3c);
      b.writeUInt16BE(1, 0); // non-rotating medium
      b[3] = 0x05; // nominal form factor: less than 1.8 inch (virtual)
      return withHeader(b);
    }
    case 0xb2: {
      const b = Buffer.alloc(4);
      b[1] = 0x80 | 0x40 | 0x20 | 0x04; // LBPU, LBPWS, LBPWS10, LBPRZ (unmapped blocks read as zeros)
      b[2] = 0x02; // thin provisioned
      return withHeader(b);
    }
    default:
      return null;
  }
}

function designator(codeSet: number, assocType: number, value: Buffer): Buffer {
  const h = Buffer.from([codeSet, assocType, 0, value.length]);
  return Buffer.concat([h, value]);
}

function deviceIdentifiers(lu: LogicalUnit): Buffer {
  const padTo4 = (s: string): Buffer => {
    const b = Buffer.from(`${s}\0`, "utf8");
    return Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
  };
  const t10 = Buffer.from(`${VENDOR}${lu.serial}`, "ascii");
  const port = Buffer.alloc(4);
  port.writeUInt32BE(1, 0);
  return Buffer.concat([
    designator(0x01, 0x03, lu.naa), // binary, LU, NAA
    designator(0x02, 0x01, t10), // ASCII, LU, T10 vendor id
    designator(0x53, 0x98 | 0x20, padTo4(`${lu.targetIqn},t,0x1`)), // iSCSI, UTF-8, PIV, target port, SCSI name
    designator(0x51, 0x94, port), // iSCSI, binary, PIV, target port, relative target port 1
    designator(0x53, 0xa8, padTo4(lu.targetIqn)), // iSCSI, UTF-8, PIV, target device, SCSI name
  ]);
}

export const blockSize = BLOCK_SIZE;
