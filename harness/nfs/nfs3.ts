// The NFS version 3 program (RFC 1813 §3): all 22 procedures over one or more exports. Each
// procedure decodes its arguments (a decoding error is GARBAGE_ARGS), does its work through
// the export's confined paths, and answers its status with the body RFC 1813 gives that
// status (attributes, weak cache consistency data). File system errors become nfsstat3.
// READ, WRITE and COMMIT, the data path, are in nfs3-io.ts; the rest is here.
//
// Not checked here: file permissions against the caller's AUTH_SYS identity. The server acts
// with its own rights (a test harness serving its own trees); read-only exports refuse every
// change with NFS3ERR_ROFS. New files are given the caller's uid/gid when the server can.
import { randomBytes } from "node:crypto";
// Metadata changes that only touch an inode or a directory entry (create, chmod, chown,
// utimes, mkdir, symlink, link, readlink) are made synchronously, as metadata is read
// (export.ts): on a local export each is a few microseconds in the kernel, and a trip through
// libuv's thread pool and back cost a CREATE more than the create (the Linux client's
// `touch` of 10 000 files is a CREATE and a SETATTR each). What may free a file's blocks or
// read a whole directory (remove, rename over a file, truncate, readdir) stays off the loop.
import {
  type BigIntStats,
  chmodSync,
  closeSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readlinkSync,
  symlinkSync,
} from "node:fs";
import { readdir, rename, rmdir, statfs, truncate as truncatePath, unlink } from "node:fs/promises";
import type { NfsExport } from "./export.js";
import { FdCache } from "./fd-cache.js";
import { Nfs3Io } from "./nfs3-io.js";
import { type Context, type Encoder, MAX_IO, type Procedure, type Resolved } from "./nfs3-procedure.js";
import {
  fattr3,
  NFS3_COOKIEVERFSIZE,
  NFS3_WRITEVERFSIZE,
  newBody,
  type PreOp,
  postOpAttr,
  postOpFh,
  preOpOf,
  readHandle,
  readSattr3,
  type Sattr3,
  wccData,
} from "./nfs3-xdr.js";
import { AcceptStat, AUTH_SYS, type RpcCall, type RpcOutcome } from "./rpc.js";
import { Nfs3Status, NfsError, statusOfError } from "./status.js";
import { XdrError, type XdrWriter } from "./xdr.js";

export const NFS_PROGRAM = 100003;
export const NFS_VERSION = 3;

export const NFS3_PROCEDURES = [
  "NULL",
  "GETATTR",
  "SETATTR",
  "LOOKUP",
  "ACCESS",
  "READLINK",
  "READ",
  "WRITE",
  "CREATE",
  "MKDIR",
  "SYMLINK",
  "MKNOD",
  "REMOVE",
  "RMDIR",
  "RENAME",
  "LINK",
  "READDIR",
  "READDIRPLUS",
  "FSSTAT",
  "FSINFO",
  "PATHCONF",
  "COMMIT",
] as const;
export type Nfs3Procedure = (typeof NFS3_PROCEDURES)[number];

/** What a fault rule may do inside the NFS program (transport faults act before it). */
export type Nfs3Fault = { kind: "status"; status: Nfs3Status } | { kind: "new-verifier" };

const ACCESS_READ = 0x1;
const ACCESS_LOOKUP = 0x2;
const ACCESS_MODIFY = 0x4;
const ACCESS_EXTEND = 0x8;
const ACCESS_DELETE = 0x10;
const ACCESS_EXECUTE = 0x20;
export interface Nfs3Options {
  exports: NfsExport[];
  fault?: (procedure: Nfs3Procedure, call: RpcCall) => Nfs3Fault | undefined;
}

export class Nfs3Program {
  /** Changes with every server instance (and on a fault): clients resend uncommitted writes. */
  verifier = randomBytes(NFS3_WRITEVERFSIZE);
  private readonly fds = new FdCache();
  private readonly procedures: Record<Nfs3Procedure, Procedure>;
  private readonly io: Nfs3Io;

  constructor(private readonly options: Nfs3Options) {
    this.io = new Nfs3Io({
      fds: this.fds,
      exportOf: (handle) => this.exportOf(handle),
      resolve: (handle) => this.resolve(handle),
      writable: (exp) => this.writable(exp),
      beforeChange: (exp, ino, path) => this.beforeChange(exp, ino, path),
      dropFile: (ino) => this.dropFile(ino),
      verifier: () => this.verifier,
    });
    this.procedures = {
      NULL: () => () => {},
      GETATTR: (c) => this.getattr(c),
      SETATTR: (c) => this.setattr(c),
      LOOKUP: (c) => this.lookup(c),
      ACCESS: (c) => this.access(c),
      READLINK: (c) => this.readlinkProc(c),
      READ: (c) => this.io.read(c),
      WRITE: (c) => this.io.write(c),
      CREATE: (c) => this.create(c),
      MKDIR: (c) => this.mkdirProc(c),
      SYMLINK: (c) => this.symlinkProc(c),
      MKNOD: (c) => this.mknod(c),
      REMOVE: (c) => this.remove(c, "file"),
      RMDIR: (c) => this.remove(c, "dir"),
      RENAME: (c) => this.renameProc(c),
      LINK: (c) => this.linkProc(c),
      READDIR: (c) => this.readdirProc(c, false),
      READDIRPLUS: (c) => this.readdirProc(c, true),
      FSSTAT: (c) => this.fsstat(c),
      FSINFO: (c) => this.fsinfo(c),
      PATHCONF: (c) => this.pathconf(c),
      COMMIT: (c) => this.io.commit(c),
    };
  }

  async close(): Promise<void> {
    // A read-ahead still reading uses a descriptor the cache is about to close.
    await this.io.close();
    await this.fds.close();
  }

  handle = (call: RpcCall): RpcOutcome | Promise<RpcOutcome> => {
    const name = NFS3_PROCEDURES[call.procedure];
    if (!name) return { kind: "error", stat: AcceptStat.PROC_UNAVAIL };
    const ctx: Context = { call, args: call.args, failure: () => {} };
    const fault = this.options.fault?.(name, call);
    if (fault?.kind === "new-verifier") this.verifier = randomBytes(NFS3_WRITEVERFSIZE);
    const failed = (error: unknown): RpcOutcome => {
      ctx.onSent?.();
      // Arguments that do not decode: GARBAGE_ARGS, from the transport.
      if (error instanceof XdrError || error instanceof RangeError) throw error;
      const body = newBody().uint32(statusOfError(error));
      ctx.failure(body);
      return { kind: "success", body };
    };
    const succeeded = (ok: Encoder): RpcOutcome => {
      const body = newBody();
      try {
        if (name !== "NULL") body.uint32(Nfs3Status.OK);
        ok(body);
      } catch (error) {
        return failed(error);
      }
      return ctx.onSent || ctx.afterReply
        ? { kind: "success", body, onSent: ctx.onSent, afterReply: ctx.afterReply }
        : { kind: "success", body };
    };
    let result: Encoder | Promise<Encoder>;
    try {
      if (fault?.kind === "status") throw new NfsError(fault.status, "injected");
      result = this.procedures[name](ctx);
    } catch (error) {
      return failed(error);
    }
    return result instanceof Promise ? result.then(succeeded, failed) : succeeded(result);
  };
  /** Forget a file's descriptor and what was read ahead of it (it changed, or is gone). */
  private async dropFile(ino: bigint): Promise<void> {
    this.io.forget(ino);
    await this.fds.drop(ino);
  }

  // ---- helpers -----------------------------------------------------------------------------

  private exportOf(handle: Buffer): NfsExport {
    const found = this.options.exports.find((e) => e.owns(handle));
    if (!found) throw new NfsError(Nfs3Status.BADHANDLE, "a handle of no export");
    return found;
  }

  private async resolve(handle: Buffer): Promise<Resolved> {
    const exp = this.exportOf(handle);
    const { relative, stats } = await exp.resolve(handle);
    return { exp, relative, stats, path: exp.absolute(relative) };
  }

  private writable(exp: NfsExport): void {
    if (exp.readOnly) throw new NfsError(Nfs3Status.ROFS);
  }

  private async directory(handle: Buffer) {
    const dir = await this.resolve(handle);
    if (!dir.stats.isDirectory()) throw new NfsError(Nfs3Status.NOTDIR);
    return dir;
  }

  /** The caller's identity for new files (AUTH_SYS), when the server may give it away. */
  private own(call: RpcCall, path: string): void {
    if (call.auth.flavor !== AUTH_SYS || process.getuid?.() !== 0) return;
    try {
      lchownSync(path, call.auth.sys.uid, call.auth.sys.gid);
    } catch {
      // Best effort: the file exists either way, owned by the server.
    }
  }

  /** A copy-on-write placeholder gets its base content before anything changes it. */
  private async beforeChange(exp: NfsExport, ino: bigint, path: string): Promise<void> {
    if (!exp.cow?.isPlaceholder(ino)) return;
    await this.dropFile(ino);
    await exp.cow.copyUp(ino, path);
  }

  private async applySattr(path: string, stats: BigIntStats, attrs: Sattr3, ino: bigint, exp?: NfsExport): Promise<void> {
    // Its descriptor's remembered attributes are about to be wrong.
    await this.dropFile(ino);
    if (attrs.size !== undefined && exp) await this.beforeChange(exp, ino, path);
    if (attrs.mode !== undefined && !stats.isSymbolicLink()) chmodSync(path, attrs.mode & 0o7777);
    if (attrs.uid !== undefined || attrs.gid !== undefined)
      lchownSync(path, attrs.uid ?? Number(stats.uid), attrs.gid ?? Number(stats.gid));
    if (attrs.size !== undefined) {
      if (!stats.isFile()) throw new NfsError(stats.isDirectory() ? Nfs3Status.ISDIR : Nfs3Status.INVAL);
      await this.dropFile(ino);
      await truncatePath(path, Number(attrs.size));
    }
    if (attrs.atime.how !== "dont-change" || attrs.mtime.how !== "dont-change") {
      const now = Date.now() / 1000;
      const pick = (how: Sattr3["atime"], current: bigint) =>
        how.how === "server" ? now : how.how === "client" ? how.seconds + how.nseconds / 1e9 : Number(current) / 1e9;
      lutimesSync(path, pick(attrs.atime, stats.atimeNs), pick(attrs.mtime, stats.mtimeNs));
    }
  }

  /** Arguments common to the directory-changing procedures: the directory and the name. */
  private async dirop(ctx: Context, changes: boolean) {
    const handle = readHandle(ctx.args);
    const name = ctx.args.string(1024, "filename3");
    const dir = await this.directory(handle);
    const before = preOpOf(dir.stats);
    ctx.failure = (w) => wccData(w, before, dir.stats, dir.exp.id);
    if (changes) this.writable(dir.exp);
    const relative = dir.exp.child(dir.relative, name);
    if (changes && (name === "." || name === "..")) throw new NfsError(Nfs3Status.INVAL, `cannot change ${name}`);
    dir.exp.checkParent(relative);
    return { ...dir, name, before, child: relative, childPath: dir.exp.absolute(relative) };
  }

  /** The body of CREATE, MKDIR and SYMLINK: the new object's handle and attributes, the directory's wcc. */
  private async created(
    dir: { exp: NfsExport; relative: string; path: string },
    before: PreOp | undefined,
    child: string,
  ): Promise<(w: XdrWriter) => void> {
    const stats = lstatSync(dir.exp.absolute(child), { bigint: true });
    const handle = dir.exp.handleOf(stats, child);
    const after = dir.exp.statInside(dir.relative);
    return (w) => {
      postOpFh(w, handle);
      postOpAttr(w, stats, dir.exp.id);
      wccData(w, before, after, dir.exp.id);
    };
  }

  // ---- procedures --------------------------------------------------------------------------

  private async getattr(ctx: Context) {
    const { stats, exp } = await this.resolve(readHandle(ctx.args));
    return (w: XdrWriter) => fattr3(w, stats, exp.id);
  }

  private async setattr(ctx: Context) {
    const handle = readHandle(ctx.args);
    const attrs = readSattr3(ctx.args);
    const guard = ctx.args.optional(() => ({ seconds: ctx.args.uint32(), nseconds: ctx.args.uint32() }), "sattrguard3");
    const target = await this.resolve(handle);
    const before = preOpOf(target.stats);
    ctx.failure = (w) => wccData(w, before, target.stats, target.exp.id);
    this.writable(target.exp);
    if (guard && BigInt(guard.seconds) * 1_000_000_000n + BigInt(guard.nseconds) !== target.stats.ctimeNs)
      throw new NfsError(Nfs3Status.NOT_SYNC);
    await this.applySattr(target.path, target.stats, attrs, target.stats.ino, target.exp);
    const after = target.exp.statInside(target.relative);
    return (w: XdrWriter) => wccData(w, before, after, target.exp.id);
  }

  private async lookup(ctx: Context) {
    const handle = readHandle(ctx.args);
    const name = ctx.args.string(1024, "filename3");
    const dir = await this.directory(handle);
    ctx.failure = (w) => postOpAttr(w, dir.stats, dir.exp.id);
    const relative = dir.exp.child(dir.relative, name);
    const stats = dir.exp.statInside(relative);
    if (!stats) throw new NfsError(Nfs3Status.NOENT);
    const child = dir.exp.handleOf(stats, relative);
    return (w: XdrWriter) => {
      w.opaque(child);
      postOpAttr(w, stats, dir.exp.id);
      postOpAttr(w, dir.stats, dir.exp.id);
    };
  }

  private async access(ctx: Context) {
    const handle = readHandle(ctx.args);
    const wanted = ctx.args.uint32("access");
    const target = await this.resolve(handle);
    ctx.failure = (w) => postOpAttr(w, target.stats, target.exp.id);
    let granted = ACCESS_READ | ACCESS_LOOKUP | ACCESS_MODIFY | ACCESS_EXTEND | ACCESS_DELETE;
    if (target.exp.readOnly) granted &= ~(ACCESS_MODIFY | ACCESS_EXTEND | ACCESS_DELETE);
    const executable = (target.stats.mode & 0o111n) !== 0n;
    if (target.stats.isDirectory() || executable) granted |= ACCESS_EXECUTE;
    return (w: XdrWriter) => {
      postOpAttr(w, target.stats, target.exp.id);
      w.uint32(granted & wanted);
    };
  }

  private async readlinkProc(ctx: Context) {
    const target = await this.resolve(readHandle(ctx.args));
    ctx.failure = (w) => postOpAttr(w, target.stats, target.exp.id);
    if (!target.stats.isSymbolicLink()) throw new NfsError(Nfs3Status.INVAL, "not a symlink");
    const text = readlinkSync(target.path);
    return (w: XdrWriter) => {
      postOpAttr(w, target.stats, target.exp.id);
      w.string(text);
    };
  }

  private async create(ctx: Context) {
    const op = await this.dirop(ctx, true);
    const mode = ctx.args.uint32("createmode3");
    let attrs: Sattr3 | undefined;
    let verifier: Buffer | undefined;
    if (mode === 0 || mode === 1) attrs = readSattr3(ctx.args);
    else if (mode === 2) verifier = ctx.args.fixed(8, "createverf3");
    else throw new XdrError(`createmode3 ${mode}`);
    const existing = op.exp.statChecked(op.child);
    if (existing) {
      if (mode === 1) throw new NfsError(Nfs3Status.EXIST);
      // EXCLUSIVE: a retransmission of the same create finds the verifier it stored.
      if (verifier && !(existing.isFile() && existing.mtimeNs / 1000n === verifierMicros(verifier)))
        throw new NfsError(Nfs3Status.EXIST);
      if (!existing.isFile()) throw new NfsError(existing.isDirectory() ? Nfs3Status.ISDIR : Nfs3Status.EXIST);
      if (attrs) await this.applySattr(op.childPath, existing, attrs, existing.ino, op.exp);
    } else {
      closeSync(openSync(op.childPath, "wx", (attrs?.mode ?? 0o644) & 0o7777));
      this.own(ctx.call, op.childPath);
      const stats = lstatSync(op.childPath, { bigint: true });
      if (verifier) {
        const seconds = Number(verifierMicros(verifier)) / 1e6;
        lutimesSync(op.childPath, seconds, seconds);
      } else if (attrs) await this.applySattr(op.childPath, stats, { ...attrs, mode: undefined }, stats.ino);
    }
    return this.created(op, op.before, op.child);
  }

  private async mkdirProc(ctx: Context) {
    const op = await this.dirop(ctx, true);
    const attrs = readSattr3(ctx.args);
    mkdirSync(op.childPath, (attrs.mode ?? 0o755) & 0o7777);
    this.own(ctx.call, op.childPath);
    return this.created(op, op.before, op.child);
  }

  private async symlinkProc(ctx: Context) {
    const op = await this.dirop(ctx, true);
    readSattr3(ctx.args);
    const target = ctx.args.string(4096, "nfspath3");
    // Stored verbatim: the server itself never follows it.
    symlinkSync(target, op.childPath);
    this.own(ctx.call, op.childPath);
    return this.created(op, op.before, op.child);
  }

  private async mknod(ctx: Context): Promise<never> {
    await this.dirop(ctx, true);
    throw new NfsError(Nfs3Status.NOTSUPP, "special files are not served");
  }

  private async remove(ctx: Context, kind: "file" | "dir") {
    const op = await this.dirop(ctx, true);
    const stats = op.exp.statChecked(op.child);
    if (!stats) throw new NfsError(Nfs3Status.NOENT);
    if (kind === "dir") {
      if (!stats.isDirectory()) throw new NfsError(Nfs3Status.NOTDIR);
      await rmdir(op.childPath);
    } else {
      if (stats.isDirectory()) throw new NfsError(Nfs3Status.ISDIR);
      await unlink(op.childPath);
      await this.dropFile(stats.ino);
      if (stats.nlink <= 1n) await op.exp.cow?.forget(stats.ino);
    }
    const after = op.exp.statInside(op.relative);
    return (w: XdrWriter) => wccData(w, op.before, after, op.exp.id);
  }

  private async renameProc(ctx: Context) {
    const from = await this.dirop(ctx, true);
    const toHandle = readHandle(ctx.args);
    const toName = ctx.args.string(1024, "filename3");
    const to = await this.directory(toHandle);
    const toBefore = preOpOf(to.stats);
    ctx.failure = (w) => {
      wccData(w, from.before, from.stats, from.exp.id);
      wccData(w, toBefore, to.stats, to.exp.id);
    };
    if (to.exp !== from.exp) throw new NfsError(Nfs3Status.XDEV);
    if (toName === "." || toName === "..") throw new NfsError(Nfs3Status.INVAL);
    const target = to.exp.child(to.relative, toName);
    to.exp.checkParent(target);
    const replaced = to.exp.statChecked(target);
    await rename(from.childPath, to.exp.absolute(target));
    if (replaced) {
      await this.dropFile(replaced.ino);
      if (replaced.nlink <= 1n && !replaced.isDirectory()) await to.exp.cow?.forget(replaced.ino);
    }
    const fromAfter = from.exp.statInside(from.relative);
    const toAfter = to.exp.statInside(to.relative);
    return (w: XdrWriter) => {
      wccData(w, from.before, fromAfter, from.exp.id);
      wccData(w, toBefore, toAfter, to.exp.id);
    };
  }

  private async linkProc(ctx: Context) {
    const fileHandle = readHandle(ctx.args);
    const file = await this.resolve(fileHandle);
    ctx.failure = (w) => {
      postOpAttr(w, file.stats, file.exp.id);
      wccData(w, undefined, undefined, file.exp.id);
    };
    const op = await this.dirop(ctx, true);
    ctx.failure = (w) => {
      postOpAttr(w, file.stats, file.exp.id);
      wccData(w, op.before, op.stats, op.exp.id);
    };
    if (op.exp !== file.exp) throw new NfsError(Nfs3Status.XDEV);
    if (file.stats.isDirectory()) throw new NfsError(Nfs3Status.ISDIR, "no hard links to directories");
    linkSync(file.path, op.childPath);
    const fileAfter = lstatSync(file.path, { bigint: true });
    const dirAfter = op.exp.statInside(op.relative);
    return (w: XdrWriter) => {
      postOpAttr(w, fileAfter, file.exp.id);
      wccData(w, op.before, dirAfter, op.exp.id);
    };
  }

  private async readdirProc(ctx: Context, plus: boolean) {
    const handle = readHandle(ctx.args);
    const cookie = ctx.args.uint64("cookie3");
    ctx.args.fixed(NFS3_COOKIEVERFSIZE, "cookieverf3");
    const dircount = ctx.args.uint32("count");
    const maxcount = plus ? ctx.args.uint32("maxcount") : dircount;
    const dir = await this.directory(handle);
    ctx.failure = (w) => postOpAttr(w, dir.stats, dir.exp.id);
    // Cookies are positions in the sorted listing ("." and ".." first): stable while the
    // directory does not change, which is all RFC 1813 asks (the verifier stays zero).
    const names = [".", "..", ...(await readdir(dir.path)).sort()];
    const start = Number(cookie);
    if (start > names.length) throw new NfsError(Nfs3Status.BAD_COOKIE);
    const limit = Math.max(512, Math.min(maxcount, MAX_IO)) - 256;
    const body = newBody();
    let used = 0;
    let index = start;
    for (; index < names.length; index++) {
      const name = names[index]!;
      const relative = dir.exp.child(dir.relative, name);
      const stats = dir.exp.statInside(relative);
      if (!stats) continue; // removed since the listing
      const entry = newBody();
      entry
        .bool(true)
        .uint64(stats.ino)
        .string(name)
        .uint64(index + 1);
      if (plus) {
        postOpAttr(entry, stats, dir.exp.id);
        postOpFh(entry, dir.exp.handleOf(stats, relative));
      }
      const bytes = entry.bytes();
      if (used + bytes.length > limit) break;
      used += bytes.length;
      body.fixed(bytes);
    }
    if (index === start && index < names.length) throw new NfsError(Nfs3Status.TOOSMALL);
    const eof = index >= names.length;
    return (w: XdrWriter) => {
      postOpAttr(w, dir.stats, dir.exp.id);
      w.fixed(Buffer.alloc(NFS3_COOKIEVERFSIZE));
      w.fixed(body.bytes());
      w.bool(false).bool(eof);
    };
  }

  private async fsstat(ctx: Context) {
    const target = await this.resolve(readHandle(ctx.args));
    ctx.failure = (w) => postOpAttr(w, target.stats, target.exp.id);
    const fs = await statfs(target.exp.absolute(""), { bigint: true });
    return (w: XdrWriter) => {
      postOpAttr(w, target.stats, target.exp.id);
      w.uint64(fs.blocks * fs.bsize)
        .uint64(fs.bfree * fs.bsize)
        .uint64(fs.bavail * fs.bsize)
        .uint64(fs.files)
        .uint64(fs.ffree)
        .uint64(fs.ffree)
        .uint32(0);
    };
  }

  private async fsinfo(ctx: Context) {
    const target = await this.resolve(readHandle(ctx.args));
    ctx.failure = (w) => postOpAttr(w, target.stats, target.exp.id);
    return (w: XdrWriter) => {
      postOpAttr(w, target.stats, target.exp.id);
      // rtmax, rtpref, rtmult, wtmax, wtpref, wtmult, dtpref
      w.uint32(MAX_IO).uint32(MAX_IO).uint32(4096).uint32(MAX_IO).uint32(MAX_IO).uint32(4096).uint32(65536);
      w.uint64(0x7fffffffffffffffn).uint32(0).uint32(1);
      // FSF3_LINK | FSF3_SYMLINK | FSF3_HOMOGENEOUS | FSF3_CANSETTIME
      w.uint32(0x1 | 0x2 | 0x8 | 0x10);
    };
  }

  private async pathconf(ctx: Context) {
    const target = await this.resolve(readHandle(ctx.args));
    ctx.failure = (w) => postOpAttr(w, target.stats, target.exp.id);
    return (w: XdrWriter) => {
      postOpAttr(w, target.stats, target.exp.id);
      w.uint32(32000).uint32(255).bool(true).bool(true).bool(false).bool(true);
    };
  }
}

/**
 * EXCLUSIVE create keeps the client's verifier in the new file's times (as knfsd does), at
 * microsecond precision: what a double of seconds carries exactly through utimes.
 */
function verifierMicros(verifier: Buffer): bigint {
  const seconds = BigInt(verifier.readUInt32BE(0) & 0x7fffffff);
  return seconds * 1_000_000n + BigInt(verifier.readUInt32BE(4) % 1_000_000);
}
