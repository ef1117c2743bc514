// Write-behind: a file's UNSTABLE writes start on their way to the disk while the client is
// still sending, so that its COMMIT finds little left to flush.
//
// An UNSTABLE WRITE only reaches the page cache; the COMMIT that follows a client's stream of
// them (RFC 1813 §3.3.21) then has to write out everything at once, and the client waits for
// all of it: measured (perf trace, nfs-cp of 64 MiB to an ext4 export on this VM's virtio
// disk), the COMMIT's fsync was 84-99 ms of a 212-273 ms copy, on this server and on
// nfs-ganesha alike. Here every WRITE_BEHIND_BYTES of unstable data written to a file starts
// one fdatasync of it in the background (one at a time per file); the COMMIT waits for that
// one and then syncs what is left. The idea of PostgreSQL's backend_flush_after and RocksDB's
// bytes_per_sync, with fdatasync because Node has no sync_file_range. Measured (nfs-cp of
// 64 MiB from tmpfs, 20 interleaved rounds, medians): without 357 ms, every 4 MiB 259, every
// 8 MiB 259, 16 MiB 285, 32 MiB 310; nfs-ganesha 318.
//
// Nothing is acknowledged earlier than before: an UNSTABLE reply still promises nothing and
// COMMIT still ends with a full sync. What changes is an error's path: Linux reports a
// writeback error to one sync per descriptor, so a failed background flush would otherwise be
// swallowed, and the COMMIT after it would answer success for data that never reached the disk.
// The error is kept per file and the next COMMIT of that file fails with it (NFS3ERR_IO).

/** Unstable bytes written to a file between background flushes. */
export const WRITE_BEHIND_BYTES = 8 << 20;
/** Files tracked at most; past it, those with only a count below the threshold are forgotten. */
const MAX_TRACKED = 1024;

export interface Flushable {
  datasync(): Promise<void>;
}

interface FileState {
  /** Unstable bytes written since the last flush started. */
  pending: number;
  flushing: Promise<void> | undefined;
  /** A background flush's failure, for the next COMMIT. */
  failure: Error | undefined;
}

export class WriteBehind {
  private readonly files = new Map<bigint, FileState>();

  constructor(private readonly thresholdBytes = WRITE_BEHIND_BYTES) {}

  /** `bytes` of unstable data were written to the file (inode `ino`) through `file`. */
  written(ino: bigint, file: Flushable, bytes: number): void {
    const state = this.stateOf(ino);
    state.pending += bytes;
    if (state.pending < this.thresholdBytes || state.flushing) return;
    state.pending = 0;
    const flushing = file.datasync().then(
      () => undefined,
      (error: unknown) => {
        state.failure ??= asError(error);
      },
    );
    state.flushing = flushing;
    // One flush at a time per file, so this one is still the file's when it ends.
    void flushing.finally(() => {
      state.flushing = undefined;
      if (!state.failure && state.pending === 0 && this.files.get(ino) === state) this.files.delete(ino);
    });
  }

  /** An UNSTABLE write's copy into the file failed after its reply: the next COMMIT fails. */
  failed(ino: bigint, error: unknown): void {
    this.stateOf(ino).failure ??= asError(error);
  }

  private stateOf(ino: bigint): FileState {
    let state = this.files.get(ino);
    if (!state) {
      if (this.files.size >= MAX_TRACKED) this.prune();
      state = { pending: 0, flushing: undefined, failure: undefined };
      this.files.set(ino, state);
    }
    return state;
  }

  /**
   * Before a COMMIT's sync: waits for the file's background flush and returns (and forgets)
   * the failure of one since the last COMMIT, if any.
   */
  async settle(ino: bigint): Promise<Error | undefined> {
    const state = this.files.get(ino);
    if (!state) return undefined;
    await state.flushing;
    const failure = state.failure;
    state.failure = undefined;
    state.pending = 0;
    if (!state.flushing) this.files.delete(ino);
    return failure;
  }

  /** Forgetting a count loses no data: at worst that file's COMMIT has more left to sync. */
  private prune(): void {
    for (const [ino, state] of this.files) if (!state.flushing && !state.failure) this.files.delete(ino);
  }

  /** Whether a background flush of the file is running (for tests). */
  flushing(ino: bigint): boolean {
    return this.files.get(ino)?.flushing !== undefined;
  }

  /** Waits for every background flush (before the descriptors close). */
  async settled(): Promise<void> {
    await Promise.all([...this.files.values()].map((state) => state.flushing));
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
