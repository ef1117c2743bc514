// The data procedures of NFSv3 (RFC 1813 §3.3.6, 3.3.7, 3.3.21): READ, WRITE and COMMIT, the
// path a client streaming a file takes on every block. A READ of a file that is open and whose
// path is known is answered synchronously (fstat through the cached descriptor, no path
// walk, no promise hop: see dispatch in transport.ts); large sequential READs are read ahead
// (read-ahead.ts); WRITEs go to the page cache straight from the pieces their record arrived in
// (an UNSTABLE one right after its reply), and a stream of UNSTABLE ones starts on its way to
// the disk before the COMMIT (write-behind.ts).
import { type BigIntStats, lstatSync, readSync, writevSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { fileReadBuffers } from "../files/aligned-buffers.js";
import type { NfsExport } from "./export.js";
import type { FdCache } from "./fd-cache.js";
import { type Context, type Encoder, MAX_IO, type Resolved } from "./nfs3-procedure.js";
import { postOpAttr, preOpOf, readHandle, wccData } from "./nfs3-xdr.js";
import { type AheadHit, READ_AHEAD_MIN, ReadAhead } from "./read-ahead.js";
import { Nfs3Status, NfsError, statusOfError } from "./status.js";
import { WriteBehind } from "./write-behind.js";
import { XdrError, type XdrWriter } from "./xdr.js";

enum StableHow {
  UNSTABLE = 0,
  DATA_SYNC = 1,
  FILE_SYNC = 2,
}

/** What the data procedures need of the NFS program: its descriptors, exports and checks. */
export interface Nfs3Files {
  readonly fds: FdCache;
  exportOf(handle: Buffer): NfsExport;
  resolve(handle: Buffer): Promise<Resolved>;
  /** Throws NFS3ERR_ROFS for a read-only export. */
  writable(exp: NfsExport): void;
  /** A copy-on-write placeholder gets its base content before anything changes it. */
  beforeChange(exp: NfsExport, ino: bigint, path: string): Promise<void>;
  /** Forget a file's descriptor and what was read ahead of it. */
  dropFile(ino: bigint): Promise<void>;
  /** The write verifier now (a fault may change it). */
  verifier(): Buffer;
}

export class Nfs3Io {
  /**
   * READ buffers: aligned (the page-cache copy into them is up to 4x faster, see
   * files/aligned-buffers.ts) and reused once their reply is sent (a 1 MiB allocation per
   * READ costs GC time and page faults).
   */
  private readonly readBuffers = fileReadBuffers;
  private readonly readAhead = new ReadAhead(this.readBuffers);
  private readonly writeBehind = new WriteBehind();

  constructor(private readonly files: Nfs3Files) {}

  /** The file changed or went: what was read ahead of it is dropped. */
  forget(ino: bigint): void {
    this.readAhead.forget(ino);
  }

  /** Before the descriptors close: no read-ahead is left reading through one. */
  async close(): Promise<void> {
    this.readAhead.clear();
    await Promise.all([this.readAhead.settled(), this.writeBehind.settled()]);
  }

  /**
   * A READ's file through its open descriptor, when there is one and its path is known (fstat,
   * no path walk: the hot path of a client streaming a file); undefined when it needs the
   * general resolution.
   */
  private openTarget(handle: Buffer) {
    const exp = this.files.exportOf(handle);
    const ino = handle.readBigUInt64BE(8);
    const file = this.files.fds.peek(ino);
    if (!file) return undefined;
    const stats = this.openStats(handle, ino, file);
    if (!stats) return undefined;
    return exp.knownPath(handle) === undefined ? undefined : { exp, stats };
  }

  /** openTarget's general case: the path found again, or the handle resolved like any other. */
  private async resolveOpen(handle: Buffer) {
    const exp = this.files.exportOf(handle);
    const ino = handle.readBigUInt64BE(8);
    const file = this.files.fds.peek(ino);
    if (file) {
      const stats = this.openStats(handle, ino, file);
      if (stats) {
        const { relative } = await exp.resolveKnown(handle, stats);
        return { exp, relative, stats, path: exp.absolute(relative) };
      }
      await this.files.dropFile(ino);
    }
    return this.files.resolve(handle);
  }

  /** The open file's attributes while it is still the handle's file and linked somewhere in the export. */
  private openStats(handle: Buffer, ino: bigint, file: FileHandle): BigIntStats | undefined {
    const stats = this.files.fds.stats(ino, file);
    return stats.nlink > 0n && BigInt.asUintN(64, stats.birthtimeNs) === handle.readBigUInt64BE(16) ? stats : undefined;
  }

  /** Synchronous when the file is open and its path known (see dispatch in transport.ts). */
  read(ctx: Context): Encoder | Promise<Encoder> {
    const handle = readHandle(ctx.args);
    const offset = ctx.args.uint64("offset");
    const count = Math.min(ctx.args.uint32("count"), MAX_IO);
    const target = this.openTarget(handle);
    const file = target && this.files.fds.cached(target.stats.ino, false);
    if (target && file) return this.readFrom(ctx, target, file, offset, count);
    return (async () => {
      const resolved = await this.resolveOpen(handle);
      ctx.failure = (w) => postOpAttr(w, resolved.stats, resolved.exp.id);
      this.checkReadable(resolved.stats);
      // A copy-on-write placeholder's content is still its base file's.
      const source = resolved.exp.cow?.contentPath(resolved.stats.ino, resolved.path) ?? resolved.path;
      const file =
        this.files.fds.cached(resolved.stats.ino, false) ?? (await this.files.fds.get(resolved.stats.ino, source, false));
      return this.readFrom(ctx, resolved, file, offset, count);
    })();
  }

  private checkReadable(stats: BigIntStats): void {
    if (stats.isDirectory()) throw new NfsError(Nfs3Status.ISDIR);
    if (!stats.isFile()) throw new NfsError(Nfs3Status.INVAL);
  }

  private readFrom(
    ctx: Context,
    target: { exp: NfsExport; stats: BigIntStats },
    file: FileHandle,
    offset: bigint,
    count: number,
  ): Encoder | Promise<Encoder> {
    ctx.failure = (w) => postOpAttr(w, target.stats, target.exp.id);
    this.checkReadable(target.stats);
    // The block a read-ahead fetched while the client took in the previous reply, if any
    // (with the file's attributes just checked), or the one it is fetching now; else read now.
    if (count < READ_AHEAD_MIN) return this.answerRead(ctx, target, file, offset, count, undefined);
    const ahead = this.readAhead.take(target.stats.ino, file, Number(offset), count);
    return ahead instanceof Promise
      ? ahead.then((hit) => this.answerRead(ctx, target, file, offset, count, hit))
      : this.answerRead(ctx, target, file, offset, count, ahead);
  }

  private answerRead(
    ctx: Context,
    target: { exp: NfsExport; stats: BigIntStats },
    file: FileHandle,
    offset: bigint,
    count: number,
    ahead: AheadHit | undefined,
  ): Encoder {
    const ino = target.stats.ino;
    const start = Number(offset);
    const large = count >= READ_AHEAD_MIN;
    const stats = ahead?.stats ?? target.stats;
    const data = ahead?.data ?? this.readBuffers.take(count);
    ctx.onSent = () => this.readBuffers.give(data);
    let bytesRead = ahead?.bytes ?? 0;
    // Read synchronously (at most MAX_IO): from the page cache it takes microseconds, a trip
    // through libuv's thread pool costs more than the read (exports are local files).
    if (!ahead && offset < stats.size) bytesRead = readSync(file.fd, data, 0, count, start);
    if (large && offset < stats.size) this.readAhead.served(ino, file, start, count, bytesRead, stats.size, stats);
    const eof = offset + BigInt(bytesRead) >= stats.size;
    return (w: XdrWriter) => {
      postOpAttr(w, stats, target.exp.id);
      w.uint32(bytesRead).bool(eof).opaqueRef(data.subarray(0, bytesRead));
    };
  }

  async write(ctx: Context) {
    const handle = readHandle(ctx.args);
    const offset = ctx.args.uint64("offset");
    const count = ctx.args.uint32("count");
    const stable = ctx.args.uint32("stable_how") as StableHow;
    const data = ctx.args.opaqueParts(MAX_IO, "data");
    if (stable > StableHow.FILE_SYNC) throw new XdrError(`stable_how ${stable}`);
    const target = await this.resolveOpen(handle);
    const before = preOpOf(target.stats);
    ctx.failure = (w) => wccData(w, before, target.stats, target.exp.id);
    this.files.writable(target.exp);
    if (target.stats.isDirectory()) throw new NfsError(Nfs3Status.ISDIR);
    if (!target.stats.isFile()) throw new NfsError(Nfs3Status.INVAL);
    const length = Math.min(count, totalLength(data));
    // Past 2^53 a position is no longer exact (and no local file system goes that far): a
    // status now, not a copy that fails after its reply.
    if (offset + BigInt(length) > BigInt(Number.MAX_SAFE_INTEGER)) throw new NfsError(Nfs3Status.FBIG);
    this.readAhead.forget(target.stats.ino);
    await this.files.beforeChange(target.exp, target.stats.ino, target.path);
    const file = this.files.fds.cached(target.stats.ino, true) ?? (await this.files.fds.get(target.stats.ino, target.path, true));
    const verifier = this.files.verifier();
    if (stable === StableHow.UNSTABLE) {
      // Answered first, copied into the page cache right after the reply is on the socket and
      // before the next record is handled: a client that waits for each WRITE (libnfs's
      // nfs-cp) sends the next megabyte while this one is copied. An UNSTABLE reply promises
      // nothing durable (RFC 1813 §3.3.7); the price is that the reply can carry no post-op
      // attributes (the copy has not happened yet: wcc "after" is absent, which clients
      // handle by revalidating), and that a copy that fails is reported to the file's next
      // COMMIT, as a failed background flush is, instead of to this WRITE.
      ctx.afterReply = () => this.copyIn(target.stats.ino, file, firstBytes(data, length), length, offset);
      return (w: XdrWriter) => {
        wccData(w, before, undefined, target.exp.id);
        w.uint32(length).uint32(stable).fixed(verifier);
      };
    }
    // Into the page cache synchronously, like a READ (a thread-pool trip costs more than the
    // copy), straight from the pieces the record arrived in; a stable write's sync to the disk
    // is what may take long, and stays off the loop.
    const bytesWritten = writevSync(file.fd, firstBytes(data, length), Number(offset));
    if (stable === StableHow.FILE_SYNC) await file.sync();
    else await file.datasync();
    const after = this.files.fds.refresh(target.stats.ino, file);
    return (w: XdrWriter) => {
      wccData(w, before, after, target.exp.id);
      w.uint32(bytesWritten).uint32(stable).fixed(verifier);
    };
  }

  /** An UNSTABLE WRITE's data, after its reply: never throws (a failure goes to COMMIT). */
  private copyIn(ino: bigint, file: FileHandle, data: Buffer[], length: number, offset: bigint): void {
    try {
      const written = writevSync(file.fd, data, Number(offset));
      // A regular file takes a short write only when it cannot take more (no space, a size
      // limit); the count already went to the client.
      if (written < length) throw new Error(`short write: ${written} of ${length} bytes at offset ${offset}`);
      this.writeBehind.written(ino, file, written);
    } catch (error) {
      this.writeBehind.failed(ino, error);
    }
    this.files.fds.stale(ino);
  }

  async commit(ctx: Context) {
    const handle = readHandle(ctx.args);
    ctx.args.uint64("offset");
    ctx.args.uint32("count");
    const target = await this.files.resolve(handle);
    const before = preOpOf(target.stats);
    ctx.failure = (w) => wccData(w, before, target.stats, target.exp.id);
    this.files.writable(target.exp);
    if (!target.stats.isFile()) throw new NfsError(Nfs3Status.INVAL);
    // A background flush or an UNSTABLE WRITE's copy that failed since the last COMMIT fails
    // this one: the sync below would not see that error again (write-behind.ts).
    const lost = await this.writeBehind.settle(target.stats.ino);
    // ENOSPC, EFBIG, EDQUOT keep their status; anything else is an I/O error.
    if (lost) {
      const status = statusOfError(lost);
      throw new NfsError(status === Nfs3Status.SERVERFAULT ? Nfs3Status.IO : status, `unstable data was lost: ${lost.message}`);
    }
    // A placeholder holds nothing written: its content is the base's, already stable.
    if (!target.exp.cow?.isPlaceholder(target.stats.ino))
      await (await this.files.fds.get(target.stats.ino, target.path, true)).sync();
    const after = lstatSync(target.path, { bigint: true });
    const verifier = this.files.verifier();
    return (w: XdrWriter) => {
      wccData(w, before, after, target.exp.id);
      w.fixed(verifier);
    };
  }
}

function totalLength(parts: Buffer[]): number {
  let length = 0;
  for (const part of parts) length += part.length;
  return length;
}

/** The first `length` bytes of a list of pieces (a WRITE's count may be less than its data). */
function firstBytes(parts: Buffer[], length: number): Buffer[] {
  const out: Buffer[] = [];
  for (const part of parts) {
    if (length <= 0) break;
    out.push(part.length <= length ? part : part.subarray(0, length));
    length -= part.length;
  }
  return out;
}
