// Open descriptors by inode, so a client's stream of READs and WRITEs does not open and close
// the file for every block. Opened with O_NOFOLLOW from the path the export resolved; closed
// when idle, when the cache is full (least recently used first) and when the server stops.

import type { BigIntStats } from "node:fs";
import { constants, fstatSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";

const IDLE_MS = 5_000;
/** How long a dropped descriptor stays open for calls still using it. */
const RETIRE_MS = 1_000;
const MAX_OPEN = 64;

interface Entry {
  file: FileHandle;
  writable: boolean;
  lastUse: number;
  /** The file's attributes as of `statsAt` (refreshed by this server's own changes). */
  stats?: BigIntStats;
  statsAt?: number;
}

/**
 * How long a READ may answer with attributes it read before: the server makes every change
 * itself and refreshes them then; only a change behind its back is seen this late.
 */
const STATS_FRESH_MS = 20;

export class FdCache {
  private entries = new Map<bigint, Entry>();
  private opening = new Map<bigint, { file: Promise<FileHandle>; writable: boolean }>();
  private sweeper: NodeJS.Timeout | undefined;

  /** The open descriptor of a file, when one fit for the use is open (no wait: the hot path). */
  cached(ino: bigint, writable: boolean): FileHandle | undefined {
    const known = this.entries.get(ino);
    if (!known || (writable && !known.writable)) return undefined;
    known.lastUse = Date.now();
    // Most recently used last: Map keeps insertion order.
    this.entries.delete(ino);
    this.entries.set(ino, known);
    return known.file;
  }

  async get(ino: bigint, path: string, writable: boolean): Promise<FileHandle> {
    const cached = this.cached(ino, writable);
    if (cached) return cached;
    const known = this.entries.get(ino);
    // Calls of a connection run concurrently: one open per file, the others wait for it.
    const opening = this.opening.get(ino);
    if (opening && (opening.writable || !writable)) return opening.file;
    if (known) await this.drop(ino);
    const flags = (writable ? constants.O_RDWR : constants.O_RDONLY) | constants.O_NOFOLLOW;
    const pending = open(path, flags);
    this.opening.set(ino, { file: pending, writable });
    let file: FileHandle;
    try {
      file = await pending;
    } finally {
      if (this.opening.get(ino)?.file === pending) this.opening.delete(ino);
    }
    const replaced = this.entries.get(ino);
    this.entries.set(ino, { file, writable, lastUse: Date.now() });
    if (replaced && replaced.file !== file) this.retire(replaced.file);
    while (this.entries.size > MAX_OPEN) await this.drop(this.entries.keys().next().value as bigint);
    this.sweeper ??= setInterval(() => void this.sweep(), IDLE_MS).unref();
    return file;
  }

  /** The open descriptor of a file, if there is one (it was confined when it was opened). */
  peek(ino: bigint): FileHandle | undefined {
    const entry = this.entries.get(ino);
    if (entry) entry.lastUse = Date.now();
    return entry?.file;
  }

  /** The file's attributes through its descriptor, from the last few milliseconds if known. */
  stats(ino: bigint, file: FileHandle): BigIntStats {
    const entry = this.entries.get(ino);
    const now = Date.now();
    if (entry?.stats && entry.file === file && now - (entry.statsAt ?? 0) < STATS_FRESH_MS) return entry.stats;
    // fstat of an open local file answers from the inode in microseconds; a trip through
    // libuv's thread pool costs far more (measured: it was most of a 1 MiB READ's latency).
    const stats = fstatSync(file.fd, { bigint: true });
    if (entry && entry.file === file) {
      entry.stats = stats;
      entry.statsAt = now;
    }
    return stats;
  }

  /** After this server changed the file: its attributes as they are now. */
  refresh(ino: bigint, file: FileHandle): BigIntStats {
    this.stale(ino);
    return this.stats(ino, file);
  }

  /** After this server changed the file: the attributes known are not to be answered again. */
  stale(ino: bigint): void {
    const entry = this.entries.get(ino);
    if (entry) entry.statsAt = 0;
  }

  /**
   * Forget a file (removed, renamed over, reopened for writing): its next use opens it again
   * by path. The descriptor is closed a little later: a call of the same connection may be
   * reading through it right now.
   */
  async drop(ino: bigint): Promise<void> {
    const entry = this.entries.get(ino);
    if (!entry) return;
    this.entries.delete(ino);
    this.retire(entry.file);
  }

  private retiring = new Set<FileHandle>();

  private retire(file: FileHandle): void {
    this.retiring.add(file);
    setTimeout(() => {
      this.retiring.delete(file);
      void file.close().catch(() => undefined);
    }, RETIRE_MS).unref();
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    for (const [ino, entry] of [...this.entries]) if (now - entry.lastUse > IDLE_MS) await this.drop(ino);
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    const files = [...[...this.entries.values()].map((e) => e.file), ...this.retiring];
    this.entries.clear();
    this.retiring.clear();
    await Promise.all(files.map((f) => f.close().catch(() => undefined)));
  }
}
