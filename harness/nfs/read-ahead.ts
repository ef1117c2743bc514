// Read-ahead for clients that stream a file with large READs, one at a time (libnfs's nfs-cp
// keeps a single 1 MiB READ in flight: each READ's latency is the whole cost). Once a file
// has been read sequentially twice, the block after the last READ is read as soon as that
// READ's reply is out, while the client is still taking it in; the next READ then answers
// from memory.
//
// The block is read on libuv's thread pool, not on the event loop's thread, although a
// synchronous read is cheaper: the kernel wakes a socket's reader on the CPU of the task that
// woke it (a "sync" wakeup), so the client and this thread take turns on one CPU, and a client
// cannot take in a reply until this thread sleeps. Measured with nfs-cp: a synchronous 1 MiB
// read-ahead after the reply held the client's first byte back by ~0.25 ms per READ
// (0.39 vs 0.14 ms from its call to the first byte); a thread-pool worker is woken without that
// hint and runs on the other CPU while the client takes the reply in. A READ that arrives
// while its block is still being read waits for that read instead of reading the block again:
// without the wait a quarter of nfs-cp's READs were read twice (88 preads per 64 READs, and
// each one that did not wait left the next READ without a block as well).
//
// The block read ahead is only used when the file is provably unchanged since:
//
// - its ctime, mtime and size, from a fresh fstat, are those seen just before it was read;
// - that ctime was then at least CHANGE_QUIET_MS old. A change made after the snapshot sets
//   ctime to the (coarse, up to a clock tick behind) current time, hence to a value later
//   than the snapshot's; a file changed in the last moments is not read ahead at all;
// - it is at most MAX_AGE_MS old, and this server's own changes drop it (forget).

import type { BigIntStats } from "node:fs";
import { fstatSync, read } from "node:fs";
import type { FileHandle } from "node:fs/promises";

/** READs smaller than this are not followed (small random reads gain nothing). */
export const READ_AHEAD_MIN = 128 * 1024;
const CHANGE_QUIET_MS = 50;
const MAX_AGE_MS = 100;
/** Files followed at once; each holds at most one block. */
const MAX_FILES = 8;

interface Block {
  offset: number;
  /** Bytes asked for (the READ's count); `bytes` were read (less at the end of the file). */
  length: number;
  bytes: number;
  buffer: Buffer;
  before: BigIntStats;
  readAt: number;
}

interface Stream {
  file: FileHandle;
  /** Where the last READ of this file ended. */
  end: number;
  /** How many READs in a row started where the one before ended. */
  sequential: number;
  block?: Block;
  /** A read-ahead is scheduled (it has not started reading yet). */
  pending: boolean;
  /** The read under way, if any, and the READs waiting for it. */
  reading?: { offset: number; length: number; waiters: (() => void)[] };
}

export interface AheadHit {
  data: Buffer;
  bytes: number;
  /** The file's attributes, just checked. */
  stats: BigIntStats;
}

export class ReadAhead {
  private streams = new Map<bigint, Stream>();
  /** Reads under way on the thread pool, and who waits for there to be none. */
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly buffers: { take(length: number): Buffer; give(buffer: Buffer): void },
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The block read ahead for this READ, when there is one and the file is unchanged; a promise
   * of it when that block is being read right now (waiting for the read under way costs less
   * than reading the block again).
   */
  take(ino: bigint, file: FileHandle, offset: number, count: number): AheadHit | undefined | Promise<AheadHit | undefined> {
    const stream = this.streams.get(ino);
    if (!stream || stream.file !== file) return undefined;
    const reading = stream.reading;
    if (!stream.block && reading && reading.offset === offset && count <= reading.length)
      return new Promise((resolve) =>
        reading.waiters.push(() =>
          resolve(this.streams.get(ino) === stream ? this.takeBlock(stream, file, offset, count) : undefined),
        ),
      );
    return this.takeBlock(stream, file, offset, count);
  }

  private takeBlock(stream: Stream, file: FileHandle, offset: number, count: number): AheadHit | undefined {
    const block = stream.block;
    if (!block) return undefined;
    stream.block = undefined;
    if (block.offset === offset && count <= block.length && this.now() - block.readAt <= MAX_AGE_MS && file.fd >= 0) {
      const stats = fstatSync(file.fd, { bigint: true });
      if (unchanged(block.before, stats)) return { data: block.buffer, bytes: Math.min(count, block.bytes), stats };
    }
    this.buffers.give(block.buffer);
    return undefined;
  }

  /**
   * A READ of [offset, offset + bytes) was answered: when it continues a sequential stream,
   * the next `count` bytes are read once the current callbacks are done (after the reply is
   * written), unless another READ of the file comes first. `before`: the file's attributes
   * as this READ saw them; they are the next block's snapshot instead of another fstat. Any
   * snapshot made before the block is read will do: a change after it shows in take's fstat
   * (the quiet period below covers a ctime that could repeat), one before it is in the block
   * or shows too.
   */
  served(ino: bigint, file: FileHandle, offset: number, count: number, bytes: number, size: bigint, before?: BigIntStats): void {
    let stream = this.streams.get(ino);
    if (!stream || stream.file !== file) {
      if (stream) this.forget(ino);
      stream = { file, end: offset + bytes, sequential: 0, pending: false };
      this.streams.set(ino, stream);
      while (this.streams.size > MAX_FILES) this.forget(this.streams.keys().next().value as bigint);
    } else {
      stream.sequential = offset === stream.end ? stream.sequential + 1 : 0;
      stream.end = offset + bytes;
      // Most recently read last: Map keeps insertion order.
      this.streams.delete(ino);
      this.streams.set(ino, stream);
    }
    if (count < READ_AHEAD_MIN || bytes < count || stream.sequential < 1 || BigInt(stream.end) >= size) return;
    if (stream.pending || stream.reading) return;
    stream.pending = true;
    const end = stream.end;
    setImmediate(() => {
      stream.pending = false;
      // Another READ came first, or the file was dropped: nothing to read ahead for.
      if (this.streams.get(ino) !== stream || stream.end !== end || stream.block) return;
      this.readBlock(ino, stream, end, count, before);
    });
  }

  private readBlock(ino: bigint, stream: Stream, offset: number, length: number, snapshot?: BigIntStats): void {
    const { file } = stream;
    let before: BigIntStats;
    try {
      before = snapshot ?? fstatSync(file.fd, { bigint: true });
    } catch {
      return;
    }
    const readAt = this.now();
    if (BigInt(offset) >= before.size || readAt - Number(before.ctimeNs / 1_000_000n) < CHANGE_QUIET_MS) return;
    const buffer = this.buffers.take(length);
    const fd = file.fd;
    const reading = { offset, length, waiters: [] as (() => void)[] };
    stream.reading = reading;
    this.inFlight++;
    // fs.read with a callback, not FileHandle.read, whose promise path was the largest
    // JavaScript item per READ in the server's profile. The descriptor cannot be closed under
    // this read: the cache closes dropped descriptors a second later, and the server's close
    // waits for settled().
    read(fd, buffer, 0, length, offset, (error, bytesRead) => {
      this.inFlight--;
      stream.reading = undefined;
      // Kept only if the stream is still followed and no READ moved it on meanwhile.
      if (!error && this.streams.get(ino) === stream && stream.end === offset && !stream.block && file.fd === fd) {
        stream.block = { offset, length, bytes: bytesRead, buffer, before, readAt };
      } else {
        this.buffers.give(buffer);
      }
      for (const wake of reading.waiters) wake();
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    });
  }

  /** Resolves once the read-aheads scheduled or under way now are done (tests, shutdown). */
  async settled(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** The file changed here (WRITE, SETATTR, removal...) or its descriptor went: drop its block. */
  forget(ino: bigint): void {
    const stream = this.streams.get(ino);
    if (!stream) return;
    this.streams.delete(ino);
    if (stream.block) this.buffers.give(stream.block.buffer);
    stream.block = undefined;
  }

  clear(): void {
    for (const ino of [...this.streams.keys()]) this.forget(ino);
  }
}

function unchanged(before: BigIntStats, now: BigIntStats): boolean {
  return now.ino === before.ino && now.ctimeNs === before.ctimeNs && now.mtimeNs === before.mtimeNs && now.size === before.size;
}
