// A minimal NFSv3 client for the NFS bench's random-read workload (libnfs's tools only copy
// whole files): MOUNT, LOOKUP, then READs at given offsets with a fixed number in flight,
// over one TCP connection with record marking, AUTH_SYS as root.
import { connect } from "node:net";

class Writer {
  constructor() {
    this.parts = [];
  }
  u32(v) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  u64(v) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  /** Fixed-length opaque data (a verifier): no length, padded. */
  fixed(data) {
    this.parts.push(data, Buffer.alloc((4 - (data.length % 4)) % 4));
    return this;
  }
  opaque(data) {
    this.u32(data.length);
    this.parts.push(data, Buffer.alloc((4 - (data.length % 4)) % 4));
    return this;
  }
  bytes() {
    return Buffer.concat(this.parts);
  }
}

export class NfsBenchClient {
  static async connect(port) {
    const socket = connect(port, "127.0.0.1");
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    socket.setNoDelay(true);
    return new NfsBenchClient(socket);
  }

  constructor(socket) {
    this.socket = socket;
    this.xid = 1;
    this.waiting = new Map();
    // Pieces received and not yet a whole record: joined once per record, not per piece (a
    // 1 MiB READ reply arrives as some sixteen socket reads).
    this.pieces = [];
    this.buffered = 0;
    socket.on("data", (data) => {
      this.pieces.push(data);
      this.buffered += data.length;
      for (;;) {
        if (this.buffered < 4) return;
        if (this.pieces[0].length < 4) this.pieces = [Buffer.concat(this.pieces)];
        const length = this.pieces[0].readUInt32BE(0) & 0x7fffffff;
        if (this.buffered < 4 + length) return;
        const joined = this.pieces.length === 1 ? this.pieces[0] : Buffer.concat(this.pieces, this.buffered);
        const record = joined.subarray(4, 4 + length);
        const rest = joined.subarray(4 + length);
        this.pieces = rest.length ? [rest] : [];
        this.buffered = rest.length;
        const xid = record.readUInt32BE(0);
        // xid, REPLY, MSG_ACCEPTED, verifier (flavor, empty body), accept_stat: 24 bytes.
        this.waiting.get(xid)?.(record.subarray(24));
        this.waiting.delete(xid);
      }
    });
  }

  call(program, procedure, args) {
    const xid = this.xid++;
    const cred = new Writer().u32(0).opaque(Buffer.from("bench")).u32(0).u32(0).u32(0).bytes();
    const body = new Writer().u32(xid).u32(0).u32(2).u32(program).u32(3).u32(procedure).u32(1).opaque(cred).u32(0).u32(0);
    const record = Buffer.concat([body.bytes(), args]);
    const header = Buffer.alloc(4);
    header.writeUInt32BE((0x80000000 | record.length) >>> 0);
    return new Promise((resolve) => {
      this.waiting.set(xid, resolve);
      this.socket.write(Buffer.concat([header, record]));
    });
  }

  async mount(mountPort, path) {
    const mounter = mountPort === undefined ? this : await NfsBenchClient.connect(mountPort);
    const reply = await mounter.call(100005, 1, new Writer().opaque(Buffer.from(path)).bytes());
    if (mounter !== this) mounter.close();
    if (reply.readUInt32BE(0) !== 0) throw new Error(`MNT ${path}: status ${reply.readUInt32BE(0)}`);
    return reply.subarray(8, 8 + reply.readUInt32BE(4));
  }

  async lookup(dir, name) {
    const reply = await this.call(100003, 3, new Writer().opaque(dir).opaque(Buffer.from(name)).bytes());
    if (reply.readUInt32BE(0) !== 0) throw new Error(`LOOKUP ${name}: status ${reply.readUInt32BE(0)}`);
    return reply.subarray(8, 8 + reply.readUInt32BE(4));
  }

  /** READs of `size` bytes at each offset, `depth` in flight; returns the bytes read. */
  async readAt(file, offsets, size, depth = 8) {
    let next = 0;
    let total = 0;
    const worker = async () => {
      while (next < offsets.length) {
        const offset = offsets[next++];
        const reply = await this.call(100003, 6, new Writer().opaque(file).u64(offset).u32(size).bytes());
        if (reply.readUInt32BE(0) !== 0) throw new Error(`READ at ${offset}: status ${reply.readUInt32BE(0)}`);
        // status, post_op_attr (bool + 84 bytes when present), count.
        const attrs = reply.readUInt32BE(4) ? 88 : 4;
        total += reply.readUInt32BE(4 + attrs);
      }
    };
    await Promise.all(Array.from({ length: depth }, worker));
    return total;
  }

  close() {
    this.socket.destroy();
  }
}

/** NFSv3 procedures the conformance bench uses, over NfsBenchClient.call. */
export const PROC = {
  GETATTR: 1,
  SETATTR: 2,
  LOOKUP: 3,
  READLINK: 5,
  READ: 6,
  WRITE: 7,
  CREATE: 8,
  MKDIR: 9,
  SYMLINK: 10,
  REMOVE: 12,
  RMDIR: 13,
  RENAME: 14,
  LINK: 15,
  READDIR: 16,
  COMMIT: 21,
};

/** A reply body reader. */
export class Reader {
  constructor(buffer) {
    this.b = buffer;
    this.o = 0;
  }
  u32() {
    const v = this.b.readUInt32BE(this.o);
    this.o += 4;
    return v;
  }
  u64() {
    const v = this.b.readBigUInt64BE(this.o);
    this.o += 8;
    return v;
  }
  opaque() {
    const n = this.u32();
    const v = this.b.subarray(this.o, this.o + n);
    this.o += n + ((4 - (n % 4)) % 4);
    return v;
  }
  /** fattr3 → the fields the suite checks. */
  fattr() {
    const type = this.u32();
    const mode = this.u32();
    const nlink = this.u32();
    this.u32();
    this.u32();
    const size = this.u64();
    this.o += 8 + 8 + 8 + 8 + 24;
    return { type, mode, nlink, size };
  }
  postOp() {
    return this.u32() ? this.fattr() : undefined;
  }
  wcc() {
    if (this.u32()) this.o += 24;
    return this.postOp();
  }
}

export { Writer };

/** sattr3 with only mode and/or size set. */
export function sattr(w, { mode, size } = {}) {
  w.u32(mode === undefined ? 0 : 1);
  if (mode !== undefined) w.u32(mode);
  w.u32(0).u32(0);
  w.u32(size === undefined ? 0 : 1);
  if (size !== undefined) w.u64(size);
  return w.u32(0).u32(0);
}
