// Reads the guest's serial console from the file QEMU writes it to, a few times a second.
//
// Why not a pipe: QEMU writes the serial port one byte per write(2), and a process reading
// the other end of a pipe is woken for nearly every one of them (≈3 000 wake-ups for one
// smoke boot). On a two-core TCG host those wake-ups slowed the guest itself: the bare QEMU
// command took 8.5 s with its stdout piped to an eager reader against 7.7 s with stdout on
// /dev/null or a regular file (bench/smoke-overhead.mjs, docs/findings.md). A regular file
// wakes nobody; polling it costs a read every POLL_MS, and a line is seen at most POLL_MS
// after the guest printed it.
import { closeSync, openSync, read } from "node:fs";

export const CONSOLE_POLL_MS = 50;
const READ_SIZE = 64 * 1024;

export class ConsoleFileTail {
  private readonly fd: number;
  private position = 0;
  private readonly timer: NodeJS.Timeout;
  private reading: Promise<void> | undefined;
  private closed = false;
  private readonly buffer = Buffer.allocUnsafe(READ_SIZE);

  /** Creates (or empties) `path` so QEMU and this reader share one inode from the start. */
  constructor(
    path: string,
    private readonly onData: (chunk: Buffer) => void,
    pollMs = CONSOLE_POLL_MS,
  ) {
    this.fd = openSync(path, "w+");
    this.timer = setInterval(() => void this.drain(), pollMs);
  }

  /** Reads everything written so far (one read loop at a time). */
  drain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.reading ??= this.readAvailable().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  /** Final read once QEMU is gone, then closes the file. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.reading;
    await this.drain();
    this.closed = true;
    closeSync(this.fd);
  }

  private async readAvailable(): Promise<void> {
    for (;;) {
      const bytes = await new Promise<number>((resolve) =>
        // A read error (there is none for a regular file we hold open) ends this pass.
        read(this.fd, this.buffer, 0, READ_SIZE, this.position, (error, count) => resolve(error ? 0 : count)),
      );
      if (bytes === 0) return;
      this.position += bytes;
      this.onData(Buffer.from(this.buffer.subarray(0, bytes)));
    }
  }
}
