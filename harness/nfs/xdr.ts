// XDR (RFC 4506) as ONC RPC and NFSv3 use it: big-endian 32-bit units, 64-bit hypers, opaque
// data and strings padded to 4 bytes. The reader never reads past its buffer: a truncated or
// oversized field is an XdrError, which the RPC layer answers with GARBAGE_ARGS.

export class XdrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "XdrError";
  }
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

export class XdrReader {
  private offset = 0;
  /** Bytes in `rest` (segments after `buffer` not yet read). */
  private restBytes: number;

  /**
   * A record that arrived in pieces is read as `buffer` then `rest`, in order, without
   * joining them first: a field that straddles pieces joins only as much as it needs, and
   * bulk data (opaqueParts) is handed out as the pieces themselves.
   */
  constructor(
    private buffer: Buffer,
    private rest: Buffer[] = [],
  ) {
    this.restBytes = rest.reduce((n, part) => n + part.length, 0);
  }

  get remaining(): number {
    return this.buffer.length - this.offset + this.restBytes;
  }

  private need(bytes: number, what: string): void {
    if (bytes <= this.buffer.length - this.offset) return;
    if (bytes > this.remaining) throw new XdrError(`truncated ${what}: needs ${bytes} bytes, ${this.remaining} left`);
    // The field continues in the next pieces: join what it needs into one buffer.
    const joined = [this.buffer.subarray(this.offset)];
    let length = joined[0]!.length;
    while (length < bytes) {
      const next = this.rest.shift()!;
      this.restBytes -= next.length;
      joined.push(next);
      length += next.length;
    }
    this.buffer = Buffer.concat(joined, length);
    this.offset = 0;
  }

  uint32(what = "uint32"): number {
    this.need(4, what);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  int32(what = "int32"): number {
    this.need(4, what);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint64(what = "uint64"): bigint {
    this.need(8, what);
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }

  bool(what = "bool"): boolean {
    const value = this.uint32(what);
    if (value > 1) throw new XdrError(`${what} is ${value}, not a boolean`);
    return value === 1;
  }

  /** Fixed-length opaque data (padded). */
  fixed(length: number, what = "opaque"): Buffer {
    this.need(length + pad4(length), what);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length + pad4(length);
    return value;
  }

  /** Variable-length opaque data of at most `max` bytes. */
  opaque(max: number, what = "opaque"): Buffer {
    const length = this.uint32(`${what} length`);
    if (length > max) throw new XdrError(`${what} of ${length} bytes exceeds its limit of ${max}`);
    return this.fixed(length, what);
  }

  /**
   * Variable-length opaque data of at most `max` bytes, as the record's own pieces (no copy):
   * a WRITE's payload, which goes to the file with one writev.
   */
  opaqueParts(max: number, what = "opaque"): Buffer[] {
    const length = this.uint32(`${what} length`);
    if (length > max) throw new XdrError(`${what} of ${length} bytes exceeds its limit of ${max}`);
    const total = length + pad4(length);
    if (total > this.remaining) throw new XdrError(`truncated ${what}: needs ${total} bytes, ${this.remaining} left`);
    if (total <= this.buffer.length - this.offset) return [this.fixed(length, what)];
    const parts: Buffer[] = [];
    let wanted = length;
    let skip = total;
    for (;;) {
      const here = this.buffer.length - this.offset;
      const taken = Math.min(wanted, here);
      if (taken > 0) parts.push(this.buffer.subarray(this.offset, this.offset + taken));
      wanted -= taken;
      if (skip <= here) {
        this.offset += skip;
        return parts;
      }
      skip -= here;
      this.buffer = this.rest.shift()!;
      this.restBytes -= this.buffer.length;
      this.offset = 0;
    }
  }

  string(max: number, what = "string"): string {
    return this.opaque(max, what).toString("utf8");
  }

  /** An optional value (XDR's `*`): a boolean, then the value when true. */
  optional<T>(read: () => T, what = "optional"): T | undefined {
    return this.bool(what) ? read() : undefined;
  }
}

/** A growable big-endian writer. */
export class XdrWriter {
  private buffer: Buffer;
  private length = 0;
  /** Finished segments before `buffer`: bulk data referenced, not copied (opaqueRef). */
  private segments: Buffer[] = [];

  constructor(initial = 256) {
    this.buffer = Buffer.allocUnsafe(initial);
  }

  private room(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < this.length + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }

  uint32(value: number): this {
    this.room(4);
    this.buffer.writeUInt32BE(value >>> 0, this.length);
    this.length += 4;
    return this;
  }

  int32(value: number): this {
    this.room(4);
    this.buffer.writeInt32BE(value, this.length);
    this.length += 4;
    return this;
  }

  uint64(value: bigint | number): this {
    this.room(8);
    this.buffer.writeBigUInt64BE(BigInt(value), this.length);
    this.length += 8;
    return this;
  }

  bool(value: boolean): this {
    return this.uint32(value ? 1 : 0);
  }

  fixed(data: Buffer): this {
    const padding = pad4(data.length);
    this.room(data.length + padding);
    data.copy(this.buffer, this.length);
    this.length += data.length;
    this.buffer.fill(0, this.length, this.length + padding);
    this.length += padding;
    return this;
  }

  opaque(data: Buffer): this {
    this.uint32(data.length);
    return this.fixed(data);
  }

  string(value: string): this {
    return this.opaque(Buffer.from(value, "utf8"));
  }

  /**
   * Variable-length opaque data referenced rather than copied (a READ's payload): the reply
   * goes out as segments (parts()). The caller must not change `data` afterwards.
   */
  opaqueRef(data: Buffer): this {
    this.uint32(data.length);
    // The buffer so far is never written again (a fresh one follows): a view, not a copy.
    this.segments.push(this.buffer.subarray(0, this.length), data);
    this.buffer = Buffer.allocUnsafe(Math.max(64, this.buffer.length >> 4));
    this.length = 0;
    // The data's own padding, as raw bytes (fixed() would pad the padding again).
    const padding = pad4(data.length);
    this.room(padding);
    this.buffer.fill(0, this.length, this.length + padding);
    this.length += padding;
    return this;
  }

  /** Everything written, as segments in order (no copy of referenced data). */
  parts(): Buffer[] {
    return this.length ? [...this.segments, this.buffer.subarray(0, this.length)] : [...this.segments];
  }

  /** The bytes written so far (a view, or a copy when data was referenced). */
  bytes(): Buffer {
    if (this.segments.length === 0) return this.buffer.subarray(0, this.length);
    return Buffer.concat(this.parts());
  }
}
