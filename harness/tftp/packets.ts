// TFTP wire format (RFC 1350) with the option extension (RFC 2347). Pure functions: bytes in,
// typed packets out and back. Decoding never throws: a malformed packet is a value the
// server answers with an ERROR, not an exception that could take a transfer down.

export const Opcode = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 error codes (plus 8 from RFC 2347). */
export const ErrorCode = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8,
} as const;

export type TftpPacket =
  | { op: "RRQ" | "WRQ"; filename: string; mode: string; options: Map<string, string> }
  | { op: "DATA"; block: number; data: Buffer }
  | { op: "ACK"; block: number }
  | { op: "ERROR"; code: number; message: string }
  | { op: "OACK"; options: Map<string, string> };

export type RequestPacket = Extract<TftpPacket, { filename: string }>;

export type DecodeResult = { ok: true; packet: TftpPacket } | { ok: false; reason: string };

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Splits NUL-terminated strings; fails if the last one is unterminated or not UTF-8. */
function splitStrings(bytes: Buffer): string[] | string {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0) continue;
    try {
      out.push(utf8.decode(bytes.subarray(start, i)));
    } catch {
      return "a string field is not valid UTF-8";
    }
    start = i + 1;
  }
  if (start !== bytes.length) return "a string field is not NUL-terminated";
  return out;
}

function decodeOptions(fields: string[]): Map<string, string> | string {
  if (fields.length % 2 !== 0) return "an option has a name but no value";
  const options = new Map<string, string>();
  for (let i = 0; i < fields.length; i += 2) {
    // Option names are case-insensitive (RFC 2347); the first occurrence wins.
    const name = fields[i]!.toLowerCase();
    if (!options.has(name)) options.set(name, fields[i + 1]!);
  }
  return options;
}

export function decodePacket(bytes: Buffer): DecodeResult {
  if (bytes.length < 2) return { ok: false, reason: `packet of ${bytes.length} bytes has no opcode` };
  const opcode = bytes.readUInt16BE(0);
  switch (opcode) {
    case Opcode.RRQ:
    case Opcode.WRQ: {
      const fields = splitStrings(bytes.subarray(2));
      if (typeof fields === "string") return { ok: false, reason: `request: ${fields}` };
      if (fields.length < 2) return { ok: false, reason: "request lacks a filename or a mode" };
      const options = decodeOptions(fields.slice(2));
      if (typeof options === "string") return { ok: false, reason: `request: ${options}` };
      const op = opcode === Opcode.RRQ ? "RRQ" : "WRQ";
      return { ok: true, packet: { op, filename: fields[0]!, mode: fields[1]!.toLowerCase(), options } };
    }
    case Opcode.DATA:
      if (bytes.length < 4) return { ok: false, reason: "DATA packet shorter than 4 bytes" };
      return { ok: true, packet: { op: "DATA", block: bytes.readUInt16BE(2), data: bytes.subarray(4) } };
    case Opcode.ACK:
      if (bytes.length < 4) return { ok: false, reason: "ACK packet shorter than 4 bytes" };
      return { ok: true, packet: { op: "ACK", block: bytes.readUInt16BE(2) } };
    case Opcode.ERROR: {
      if (bytes.length < 4) return { ok: false, reason: "ERROR packet shorter than 4 bytes" };
      // Peers often omit the terminator or send junk; keep what is readable.
      const end = bytes.indexOf(0, 4);
      const message = bytes.subarray(4, end === -1 ? bytes.length : end).toString("latin1");
      return { ok: true, packet: { op: "ERROR", code: bytes.readUInt16BE(2), message } };
    }
    case Opcode.OACK: {
      const fields = splitStrings(bytes.subarray(2));
      if (typeof fields === "string") return { ok: false, reason: `OACK: ${fields}` };
      const options = decodeOptions(fields);
      if (typeof options === "string") return { ok: false, reason: `OACK: ${options}` };
      return { ok: true, packet: { op: "OACK", options } };
    }
    default:
      return { ok: false, reason: `unknown opcode ${opcode}` };
  }
}

function stringsPacket(opcode: number, strings: string[]): Buffer {
  const parts = strings.map((s) => Buffer.from(`${s}\0`, "utf8"));
  const header = Buffer.alloc(2);
  header.writeUInt16BE(opcode, 0);
  return Buffer.concat([header, ...parts]);
}

export function encodeRequest(
  op: "RRQ" | "WRQ",
  filename: string,
  mode = "octet",
  options: Record<string, string | number> = {},
): Buffer {
  const fields = [filename, mode];
  for (const [name, value] of Object.entries(options)) fields.push(name, String(value));
  return stringsPacket(op === "RRQ" ? Opcode.RRQ : Opcode.WRQ, fields);
}

/** A DATA packet; `data` is copied once into the packet buffer. */
export function encodeData(block: number, data: Uint8Array): Buffer {
  const packet = Buffer.allocUnsafe(4 + data.length);
  packet.writeUInt16BE(Opcode.DATA, 0);
  packet.writeUInt16BE(block & 0xffff, 2);
  packet.set(data, 4);
  return packet;
}

export function encodeAck(block: number): Buffer {
  const packet = Buffer.alloc(4);
  packet.writeUInt16BE(Opcode.ACK, 0);
  packet.writeUInt16BE(block & 0xffff, 2);
  return packet;
}

export function encodeError(code: number, message: string): Buffer {
  const text = Buffer.from(`${message}\0`, "utf8");
  const packet = Buffer.alloc(4 + text.length);
  packet.writeUInt16BE(Opcode.ERROR, 0);
  packet.writeUInt16BE(code & 0xffff, 2);
  text.copy(packet, 4);
  return packet;
}

export function encodeOack(options: Map<string, string>): Buffer {
  const fields: string[] = [];
  for (const [name, value] of options) fields.push(name, value);
  return stringsPacket(Opcode.OACK, fields);
}
