// A sparse in-memory disk: 1 MiB chunks allocated on first write, zeros elsewhere.
import type { BlockBackend } from "./types.js";

const CHUNK = 1 << 20;

export function createMemoryBackend(sizeBytes: number, readOnly = false): BlockBackend {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 512 || sizeBytes % 512 !== 0)
    throw new Error(`memory LUN size ${sizeBytes} must be a positive multiple of 512 bytes`);
  const chunks = new Map<number, Buffer>();
  const forEachPiece = (offset: number, length: number, fn: (chunk: number, within: number, n: number, done: number) => void) => {
    let done = 0;
    while (done < length) {
      const pos = offset + done;
      const chunk = Math.floor(pos / CHUNK);
      const within = pos - chunk * CHUNK;
      const n = Math.min(CHUNK - within, length - done);
      fn(chunk, within, n, done);
      done += n;
    }
  };
  return {
    description: `memory (${sizeBytes} bytes)`,
    sizeBytes,
    readOnly,
    async read(into, offset) {
      forEachPiece(offset, into.length, (c, within, n, done) => {
        const buf = chunks.get(c);
        if (buf) buf.copy(into, done, within, within + n);
        else into.fill(0, done, done + n);
      });
    },
    async write(data, offset) {
      forEachPiece(offset, data.length, (c, within, n, done) => {
        let buf = chunks.get(c);
        if (!buf) {
          buf = Buffer.alloc(CHUNK);
          chunks.set(c, buf);
        }
        data.copy(buf, within, done, done + n);
      });
    },
    async flush() {},
    async discard(offset, length) {
      forEachPiece(offset, length, (c, within, n) => {
        const buf = chunks.get(c);
        if (!buf) return;
        if (n === CHUNK) chunks.delete(c);
        else buf.fill(0, within, within + n);
      });
    },
    async close() {
      chunks.clear();
    },
  };
}
