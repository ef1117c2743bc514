// iSCSI PDU framing (RFC 7143 §11): the 48-byte Basic Header Segment, optional Additional
// Header Segments, an optional header digest, the data segment padded to 4 bytes and an
// optional data digest. Pure code: no sockets. Field offsets are named where they are used.
import { crc32c } from "./crc32c.js";

export const BHS_LENGTH = 48;
export const NO_TAG = 0xffffffff;

/** Initiator opcodes (low 6 bits of byte 0). */
export const Op = {
  NopOut: 0x00,
  ScsiCommand: 0x01,
  TaskMgmt: 0x02,
  Login: 0x03,
  Text: 0x04,
  DataOut: 0x05,
  Logout: 0x06,
  Snack: 0x10,
  // Target opcodes.
  NopIn: 0x20,
  ScsiResponse: 0x21,
  TaskMgmtResponse: 0x22,
  LoginResponse: 0x23,
  TextResponse: 0x24,
  DataIn: 0x25,
  LogoutResponse: 0x26,
  R2T: 0x31,
  AsyncMessage: 0x32,
  Reject: 0x3f,
} as const;

/** Reject reasons (RFC 7143 §11.17.1). */
export const RejectReason = {
  DataDigestError: 0x02,
  SnackReject: 0x03,
  ProtocolError: 0x04,
  CommandNotSupported: 0x05,
  ImmediateCommandReject: 0x06,
  TaskInProgress: 0x07,
  InvalidDataAck: 0x08,
  InvalidPduField: 0x09,
  LongOperationReject: 0x0a,
  WaitingForLogout: 0x0c,
} as const;

export interface Pdu {
  /** The 48-byte BHS (owned by this PDU). */
  bhs: Buffer;
  /** Additional header segments (may be empty). */
  ahs: Buffer;
  /** Data segment without padding (may be empty). */
  data: Buffer;
}

export const opcodeOf = (bhs: Buffer): number => bhs[0]! & 0x3f;
export const isImmediate = (bhs: Buffer): boolean => (bhs[0]! & 0x40) !== 0;
export const finalBit = (bhs: Buffer): boolean => (bhs[1]! & 0x80) !== 0;
export const dataSegmentLength = (bhs: Buffer): number => (bhs[5]! << 16) | (bhs[6]! << 8) | bhs[7]!;
export const totalAhsLength = (bhs: Buffer): number => bhs[4]! * 4;
export const itt = (bhs: Buffer): number => bhs.readUInt32BE(16);
export const pad4 = (n: number): number => (4 - (n & 3)) & 3;

/** 8-byte LUN field → LUN number (flat / peripheral addressing, SAM-5 §4.7). */
export function decodeLun(bhs: Buffer): number {
  const b0 = bhs[8]!;
  const method = b0 >> 6;
  if (method === 0) return bhs[9]!; // peripheral device addressing, bus 0
  if (method === 1) return ((b0 & 0x3f) << 8) | bhs[9]!; // flat space addressing
  return -1;
}

/** LUN number → the 8 bytes SAM uses (peripheral addressing below 256, flat above). */
export function encodeLun(lun: number, into: Buffer, offset: number): void {
  into.fill(0, offset, offset + 8);
  if (lun < 256) into[offset + 1] = lun;
  else {
    into[offset] = 0x40 | ((lun >> 8) & 0x3f);
    into[offset + 1] = lun & 0xff;
  }
}

export function newBhs(opcode: number, flags: number): Buffer {
  // allocUnsafe draws from Node's shared pool (Buffer.alloc would not): one BHS per PDU sent.
  const bhs = Buffer.allocUnsafe(BHS_LENGTH).fill(0);
  bhs[0] = opcode;
  bhs[1] = flags;
  return bhs;
}

export function setDataSegmentLength(bhs: Buffer, len: number): void {
  bhs[5] = (len >>> 16) & 0xff;
  bhs[6] = (len >>> 8) & 0xff;
  bhs[7] = len & 0xff;
}

const ZERO_PAD = Buffer.alloc(4);

/**
 * The buffers that make one PDU on the wire, in order, ready for writev/cork.
 * `data` may be a slice of a larger buffer: it is never copied.
 */
export function pduWireParts(bhs: Buffer, data: Buffer | undefined, headerDigest: boolean, dataDigest: boolean): Buffer[] {
  const len = data ? data.length : 0;
  setDataSegmentLength(bhs, len);
  const parts: Buffer[] = [bhs];
  if (headerDigest) parts.push(u32le(crc32c(bhs)));
  if (len > 0 && data) {
    parts.push(data);
    const p = pad4(len);
    if (p) parts.push(ZERO_PAD.subarray(0, p));
    if (dataDigest) parts.push(u32le(p ? crc32cPadded(data, p) : crc32c(data)));
  }
  return parts;
}

/** A whole PDU in one buffer (tests and small PDUs). */
export function encodePdu(bhs: Buffer, data?: Buffer, headerDigest = false, dataDigest = false): Buffer {
  return Buffer.concat(pduWireParts(bhs, data, headerDigest, dataDigest));
}

// Digests are sent in little-endian byte order: the CRC register as it leaves the wire
// (RFC 7143 §12.1 and its example: the digest of 32 zero bytes is 0x8a9136aa, sent aa 36 91 8a).
function u32le(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

function crc32cPadded(data: Buffer, padLen: number): number {
  return crc32c(Buffer.concat([data, ZERO_PAD.subarray(0, padLen)]));
}

export type FrameError =
  | { kind: "header-digest"; bhs: Buffer }
  | { kind: "data-digest"; pdu: Pdu }
  | { kind: "too-long"; bhs: Buffer; length: number; limit: number };

export type FrameResult = { pdu: Pdu } | { error: FrameError } | null;

/**
 * Splits a TCP byte stream into PDUs. Chunks are kept as received; bytes are copied once,
 * into the PDU that needs them.
 */
export class PduFramer {
  headerDigest = false;
  dataDigest = false;
  /** Largest data segment accepted (our MaxRecvDataSegmentLength, or 8192 during login). */
  maxDataSegment = 8192;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private pendingBhs: Buffer | null = null;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** The next complete PDU, an error that ends framing, or null when more bytes are needed. */
  next(): FrameResult {
    if (!this.pendingBhs) {
      if (this.buffered < BHS_LENGTH) return null;
      this.pendingBhs = this.take(BHS_LENGTH);
    }
    const bhs = this.pendingBhs;
    const ahsLen = totalAhsLength(bhs);
    const dsl = dataSegmentLength(bhs);
    if (dsl > this.maxDataSegment) {
      this.pendingBhs = null;
      return { error: { kind: "too-long", bhs, length: dsl, limit: this.maxDataSegment } };
    }
    const hd = this.headerDigest ? 4 : 0;
    const dataWire = dsl > 0 ? dsl + pad4(dsl) + (this.dataDigest ? 4 : 0) : 0;
    const need = ahsLen + hd + dataWire;
    if (this.buffered < need) return null;
    this.pendingBhs = null;
    const ahs = ahsLen ? this.take(ahsLen) : EMPTY;
    if (hd) {
      const got = this.take(4).readUInt32LE(0);
      const want = crc32c(ahsLen ? Buffer.concat([bhs, ahs]) : bhs);
      if (got !== want) {
        // The header cannot be trusted, so neither can the length we skip; the caller drops the connection.
        this.skip(dataWire);
        return { error: { kind: "header-digest", bhs } };
      }
    }
    let data: Buffer = EMPTY;
    if (dsl > 0) {
      const padded = this.take(dsl + pad4(dsl));
      data = padded.subarray(0, dsl);
      if (this.dataDigest) {
        const got = this.take(4).readUInt32LE(0);
        if (got !== crc32c(padded)) return { error: { kind: "data-digest", pdu: { bhs, ahs, data } } };
      }
    }
    return { pdu: { bhs, ahs, data } };
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      // A small slice of a large socket chunk would pin the chunk; copy small pieces.
      return n <= 64 ? Buffer.from(out) : out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return out;
  }

  private skip(n: number): void {
    if (n > 0 && n <= this.buffered) this.take(n);
  }
}

const EMPTY: Buffer = Buffer.alloc(0);

/** Text keys (RFC 7143 §6): key=value pairs separated by NUL. */
export function parseTextKeys(data: Buffer): Array<[string, string]> | { error: string } {
  const out: Array<[string, string]> = [];
  const text = data.toString("utf8");
  for (const item of text.split("\0")) {
    if (item === "") continue;
    const eq = item.indexOf("=");
    if (eq <= 0) return { error: `text key without '=': ${JSON.stringify(item.slice(0, 64))}` };
    out.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  return out;
}

export function encodeTextKeys(pairs: Array<[string, string]>): Buffer {
  if (pairs.length === 0) return EMPTY;
  return Buffer.from(pairs.map(([k, v]) => `${k}=${v}\0`).join(""), "utf8");
}
