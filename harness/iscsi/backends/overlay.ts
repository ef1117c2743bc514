// Copy-on-write over a read-only base image. The base is opened O_RDONLY and never
// written, so many cases can share one cached image. Written blocks go to an overlay file
// (sparse, same offsets as the base) and a bitmap records which 512-byte blocks it owns;
// writes are whole blocks, so no read-modify-write of the base is ever needed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { closeFd, fdatasync, readFully, writeFully } from "./fd-io.js";
import type { BlockBackend } from "./types.js";

const BLOCK = 512;

export async function openOverlayBackend(spec: {
  base: string;
  overlayPath?: string;
  sizeBytes?: number;
}): Promise<BlockBackend> {
  let baseFd: number;
  try {
    baseFd = fs.openSync(spec.base, "r");
  } catch (err) {
    throw new Error(
      `cannot open overlay base image ${spec.base} read-only: ${(err as NodeJS.ErrnoException).code} (check the path)`,
    );
  }
  const baseSize = fs.fstatSync(baseFd).size;
  const size = spec.sizeBytes ?? baseSize - (baseSize % BLOCK);
  if (size < BLOCK || size % BLOCK !== 0) {
    fs.closeSync(baseFd);
    throw new Error(`overlay over ${spec.base}: size ${size} must be a positive multiple of 512`);
  }
  let tempDir: string | undefined;
  let overlayPath = spec.overlayPath;
  if (!overlayPath) {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "bootproof-overlay-"));
    overlayPath = path.join(tempDir, "overlay.img");
  }
  // A fresh overlay each open: the block map lives in memory, so old overlay contents
  // would be meaningless without it.
  const ovFd = fs.openSync(overlayPath, "w+");
  const blocks = size / BLOCK;
  const owned = new Uint8Array(Math.ceil(blocks / 8));
  const isOwned = (b: number): boolean => (owned[b >> 3]! & (1 << (b & 7))) !== 0;
  const baseBlocks = Math.floor(baseSize / BLOCK);

  /** Calls fn for each run of blocks that all live in the same place. */
  const runs = (
    first: number,
    count: number,
    fn: (start: number, n: number, inOverlay: boolean) => Promise<void>,
  ): Promise<unknown> => {
    const work: Promise<void>[] = [];
    let start = first;
    while (start < first + count) {
      const inOv = isOwned(start);
      let end = start + 1;
      while (end < first + count && isOwned(end) === inOv) end++;
      work.push(fn(start, end - start, inOv));
      start = end;
    }
    return Promise.all(work);
  };

  let closed = false;
  return {
    description: `overlay over ${spec.base}`,
    sizeBytes: size,
    readOnly: false,
    async read(into, offset) {
      const first = offset / BLOCK;
      await runs(first, into.length / BLOCK, async (start, n, inOv) => {
        const slice = into.subarray((start - first) * BLOCK, (start - first + n) * BLOCK);
        if (inOv) return readFully(ovFd, slice, start * BLOCK);
        if (start >= baseBlocks) return void slice.fill(0);
        return readFully(baseFd, slice, start * BLOCK);
      });
    },
    async write(data, offset, durable) {
      await writeFully(ovFd, data, offset);
      const first = offset / BLOCK;
      for (let b = first; b < first + data.length / BLOCK; b++) owned[b >> 3]! |= 1 << (b & 7);
      if (durable) await fdatasync(ovFd);
    },
    flush: () => fdatasync(ovFd),
    async discard(offset, length) {
      await writeFully(ovFd, Buffer.alloc(length), offset);
      const first = offset / BLOCK;
      for (let b = first; b < first + length / BLOCK; b++) owned[b >> 3]! |= 1 << (b & 7);
    },
    async close() {
      if (closed) return;
      closed = true;
      await closeFd(baseFd);
      await closeFd(ovFd);
      if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
