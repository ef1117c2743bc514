// Reads the guest's serial console from the file QEMU writes it to, a few times a second.
//
// Why not a pipe: QEMU writes the serial port one byte per write(2), and a process reading
// the other end of a pipe is woken for nearly every one of them (≈3 000 wake-ups for one
// smoke boot). On a two-core TCG host those wake-ups slowed the guest itself: the bare QEMU
// command took 8.5 s with its stdout piped to an eager reader against 7.7 s with stdout on
// /dev/null or a regular file (docs/findings.md). A regular file wakes nobody; polling it
// costs one read every POLL_MS, and a line is seen at most POLL_MS after the guest printed it.
//
// Reads are synchronous on purpose: a read of a regular file from the page cache takes
// microseconds, while node's asynchronous fs.read hops through the libuv thread pool and back
// (two wake-ups per poll, ≈30 ms of CPU per boot measured with --cpu-prof), CPU that the
// guest's own QEMU threads want on a two-core host.
import { closeSync, openSync, readSync } from "node:fs";

export const CONSOLE_POLL_MS = 50;
const READ_SIZE = 64 * 1024;

export class ConsoleFileTail {
  private readonly fd: number;
  private position = 0;
  private readonly timer: NodeJS.Timeout;
  private closed = false;
  private readonly buffer = Buffer.allocUnsafe(READ_SIZE);

  /** Creates (or empties) `path` so QEMU and this reader share one inode from the start. */
  constructor(
    path: string,
    private readonly onData: (chunk: Buffer) => void,
    pollMs = CONSOLE_POLL_MS,
  ) {
    this.fd = openSync(path, "w+");
    this.timer = setInterval(() => this.drain(), pollMs);
  }

  /** Delivers everything written since the last call. */
  drain(): void {
    if (this.closed) return;
    for (;;) {
      const bytes = readSync(this.fd, this.buffer, 0, READ_SIZE, this.position);
      if (bytes === 0) return;
      this.position += bytes;
      this.onData(Buffer.from(this.buffer.subarray(0, bytes)));
    }
  }

  /** Final read once QEMU is gone, then closes the file. */
  close(): void {
    clearInterval(this.timer);
    this.drain();
    this.closed = true;
    closeSync(this.fd);
  }
}
