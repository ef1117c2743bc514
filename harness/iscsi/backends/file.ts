// A plain image file. Writes go to the page cache; SYNCHRONIZE CACHE and FUA writes call
// fdatasync, so an acknowledged durable write survives a crash of this process or host.
import fs from "node:fs";
import { closeFd, fdatasync, readFully, writeFully, zeroRange } from "./fd-io.js";
import type { BlockBackend } from "./types.js";

export async function openFileBackend(path: string, readOnly = false): Promise<BlockBackend> {
  let fd: number;
  try {
    fd = fs.openSync(path, readOnly ? "r" : "r+");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new Error(
      `cannot open LUN image ${path} ${readOnly ? "read-only" : "read-write"}: ${e.code ?? e.message} (create it first, e.g. truncate -s 64M ${path}, or mark the LUN read-only)`,
    );
  }
  const size = fs.fstatSync(fd).size;
  if (size < 512) {
    fs.closeSync(fd);
    throw new Error(`LUN image ${path} is ${size} bytes; it must hold at least one 512-byte block`);
  }
  let closed = false;
  return {
    description: path,
    sizeBytes: size - (size % 512),
    readOnly,
    read: (into, offset) => readFully(fd, into, offset),
    async write(data, offset, durable) {
      await writeFully(fd, data, offset);
      if (durable) await fdatasync(fd);
    },
    flush: () => (readOnly ? Promise.resolve() : fdatasync(fd)),
    discard: (offset, length) => zeroRange(fd, offset, length),
    async close() {
      if (closed) return;
      closed = true;
      await closeFd(fd);
    },
  };
}
