// A small NFSv3 / MOUNT client over TCP for the server's tests: it builds calls with the
// server's own XDR writer, frames them with record marking, and matches replies by xid.
import { connect, type Socket } from "node:net";
import { XdrReader, XdrWriter } from "../../../harness/nfs/xdr.js";

export const NFS = 100003;
export const MOUNT = 100005;
export const PORTMAP = 100000;
export enum Proc {
  NULL = 0,
  GETATTR = 1,
  SETATTR = 2,
  LOOKUP = 3,
  ACCESS = 4,
  READLINK = 5,
  READ = 6,
  WRITE = 7,
  CREATE = 8,
  MKDIR = 9,
  SYMLINK = 10,
  MKNOD = 11,
  REMOVE = 12,
  RMDIR = 13,
  RENAME = 14,
  LINK = 15,
  READDIR = 16,
  READDIRPLUS = 17,
  FSSTAT = 18,
  FSINFO = 19,
  PATHCONF = 20,
  COMMIT = 21,
}

export interface Reply {
  xid: number;
  /** 0 accepted, 1 denied. */
  replyStat: number;
  acceptStat: number;
  body: XdrReader;
}

export class NfsTestClient {
  private buffer = Buffer.alloc(0);
  private waiting = new Map<number, (reply: Reply) => void>();
  private nextXid = 1;
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on("data", (data: Buffer) => this.onData(data));
    socket.on("close", () => {
      this.closed = true;
    });
    socket.on("error", () => {});
  }

  static async connect(port: number): Promise<NfsTestClient> {
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    return new NfsTestClient(socket);
  }

  private onData(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0) & 0x7fffffff;
      if (this.buffer.length < 4 + length) return;
      const record = this.buffer.subarray(4, 4 + length);
      this.buffer = this.buffer.subarray(4 + length);
      const r = new XdrReader(Buffer.from(record));
      const xid = r.uint32();
      r.uint32(); // REPLY
      const replyStat = r.uint32();
      let acceptStat = -1;
      if (replyStat === 0) {
        r.uint32();
        r.opaque(400);
        acceptStat = r.uint32();
      }
      this.waiting.get(xid)?.({ xid, replyStat, acceptStat, body: r });
      this.waiting.delete(xid);
    }
  }

  /** Sends raw bytes (already framed or not): for the robustness tests. */
  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  call(
    program: number,
    version: number,
    procedure: number,
    args: (w: XdrWriter) => void = () => {},
    timeoutMs = 5_000,
  ): Promise<Reply> {
    const xid = this.nextXid++;
    const w = new XdrWriter().uint32(xid).uint32(0).uint32(2).uint32(program).uint32(version).uint32(procedure);
    // AUTH_SYS as root from "bootproof-test".
    const cred = new XdrWriter().uint32(0).string("bootproof-test").uint32(0).uint32(0).uint32(0);
    w.uint32(1).opaque(Buffer.from(cred.bytes())).uint32(0).uint32(0);
    args(w);
    const record = Buffer.from(w.bytes());
    const header = Buffer.alloc(4);
    header.writeUInt32BE((0x80000000 | record.length) >>> 0);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(xid);
        reject(new Error(`no reply to xid ${xid} (program ${program} procedure ${procedure}) within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(xid, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      this.socket.write(Buffer.concat([header, record]));
    });
  }

  nfs(procedure: Proc, args: (w: XdrWriter) => void): Promise<Reply> {
    return this.call(NFS, 3, procedure, args);
  }

  async mount(path: string): Promise<Buffer> {
    const reply = await this.call(MOUNT, 3, 1, (w) => w.string(path));
    const status = reply.body.uint32();
    if (status !== 0) throw new Error(`MNT ${path}: status ${status}`);
    return Buffer.from(reply.body.opaque(64));
  }

  /** LOOKUP: the status, and the handle when it is OK. */
  async lookup(dir: Buffer, name: string): Promise<{ status: number; handle?: Buffer; type?: number }> {
    const reply = await this.nfs(Proc.LOOKUP, (w) => w.opaque(dir).string(name));
    const status = reply.body.uint32();
    if (status !== 0) return { status };
    const handle = Buffer.from(reply.body.opaque(64));
    const follows = reply.body.bool();
    return { status, handle, type: follows ? reply.body.uint32() : undefined };
  }

  /** CREATE (UNCHECKED, mode 0644): the new file's handle. */
  async create(dir: Buffer, name: string): Promise<Buffer> {
    const reply = await this.nfs(Proc.CREATE, (w) => {
      w.opaque(dir).string(name).uint32(0);
      w.bool(true).uint32(0o644).bool(false).bool(false).bool(false).uint32(0).uint32(0);
    });
    const status = reply.body.uint32();
    if (status !== 0) throw new Error(`CREATE ${name}: status ${status}`);
    if (!reply.body.bool()) throw new Error("CREATE returned no handle");
    return Buffer.from(reply.body.opaque(64));
  }

  /** WRITE: status, whether wcc_data had post-op attributes, count, how it was committed, the verifier. */
  async write(file: Buffer, offset: number, data: Buffer, stable: 0 | 1 | 2) {
    const reply = await this.nfs(Proc.WRITE, (w) =>
      w.opaque(file).uint64(offset).uint32(data.length).uint32(stable).opaque(data),
    );
    const status = reply.body.uint32();
    const postOp = skipWcc(reply.body);
    if (status !== 0) return { status, postOp };
    return {
      status,
      postOp,
      count: reply.body.uint32(),
      committed: reply.body.uint32(),
      verifier: Buffer.from(reply.body.fixed(8)),
    };
  }

  async commit(file: Buffer) {
    const reply = await this.nfs(Proc.COMMIT, (w) => w.opaque(file).uint64(0).uint32(0));
    const status = reply.body.uint32();
    skipWcc(reply.body);
    return { status, verifier: status === 0 ? Buffer.from(reply.body.fixed(8)) : undefined };
  }

  async read(file: Buffer, offset: number, count: number) {
    const reply = await this.nfs(Proc.READ, (w) => w.opaque(file).uint64(offset).uint32(count));
    const status = reply.body.uint32();
    skipPostOp(reply.body);
    if (status !== 0) return { status };
    const n = reply.body.uint32();
    const eof = reply.body.bool();
    const data = Buffer.from(reply.body.opaque(1 << 21));
    // A reply longer than its XDR is malformed: the Linux client rejects it and retries.
    if (reply.body.remaining !== 0) throw new Error(`READ reply has ${reply.body.remaining} bytes after its data`);
    return { status, count: n, eof, data };
  }

  async getattrStatus(handle: Buffer): Promise<number> {
    const reply = await this.nfs(Proc.GETATTR, (w) => w.opaque(handle));
    return reply.body.uint32();
  }

  close(): void {
    this.socket.destroy();
  }
}

/** fattr3 is 84 bytes. Whether the attributes were there. */
export function skipPostOp(r: XdrReader): boolean {
  const follows = r.bool();
  if (follows) r.fixed(84);
  return follows;
}

/** Whether the post-op attributes were there. */
export function skipWcc(r: XdrReader): boolean {
  if (r.bool()) r.fixed(24);
  return skipPostOp(r);
}
