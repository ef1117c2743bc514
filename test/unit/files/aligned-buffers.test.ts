import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AlignedBufferPool, alignedBuffer, IO_ALIGNMENT } from "../../../harness/files/aligned-buffers.js";

describe("alignedBuffer", () => {
  it("cuts buffers of the asked size at 64-byte offsets of page-aligned WebAssembly memory, never overlapping", () => {
    const sizes = [1, 63, 64, 65, 4096, 100_000, 1 << 20];
    const buffers = sizes.map((size) => alignedBuffer(size));
    for (const [index, buffer] of buffers.entries()) {
      expect(buffer.length).toBe(sizes[index]);
      // WebAssembly.Memory buffers start on a page; the offset inside is what aligns the slice.
      expect(buffer.byteOffset % IO_ALIGNMENT).toBe(0);
      expect(buffer.buffer.byteLength % (64 * 1024)).toBe(0);
    }
    for (const [index, buffer] of buffers.entries()) buffer.fill(index + 1);
    for (const [index, buffer] of buffers.entries()) expect(buffer.every((byte) => byte === index + 1)).toBe(true);
  });

  it("gives a buffer of a quarter slab or more its own memory", () => {
    const big = alignedBuffer(5 * 1024 * 1024);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBeGreaterThanOrEqual(5 * 1024 * 1024);
  });

  it("refuses sizes that are not a non-negative integer", () => {
    expect(() => alignedBuffer(-1)).toThrow(RangeError);
    expect(() => alignedBuffer(1.5)).toThrow(RangeError);
  });

  it("is an ordinary Buffer for file reads", () => {
    const dir = mkdtempSync(join(tmpdir(), "bp-aligned-"));
    try {
      const path = join(dir, "f");
      const content = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i & 0xff));
      writeFileSync(path, content);
      const fd = openSync(path, "r");
      const into = alignedBuffer(content.length);
      expect(readSync(fd, into, 0, into.length, 0)).toBe(content.length);
      closeSync(fd);
      expect(into.equals(content)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("AlignedBufferPool", () => {
  it("hands a given-back buffer out again for the same size, and a fresh one for another size", () => {
    const pool = new AlignedBufferPool();
    const first = pool.take(4096);
    pool.give(first);
    expect(pool.heldBytes).toBe(4096);
    expect(pool.take(8192)).not.toBe(first);
    expect(pool.take(4096)).toBe(first);
    expect(pool.heldBytes).toBe(0);
  });

  it("ignores buffers it did not hand out and buffers given twice", () => {
    const pool = new AlignedBufferPool();
    pool.give(Buffer.alloc(4096));
    expect(pool.heldBytes).toBe(0);
    const buffer = pool.take(4096);
    pool.give(buffer);
    pool.give(buffer);
    expect(pool.heldBytes).toBe(4096);
    expect(pool.take(4096)).toBe(buffer);
    expect(pool.take(4096)).not.toBe(buffer);
  });

  it("holds at most maxFreeBytes", () => {
    const pool = new AlignedBufferPool(10_000);
    const buffers = [pool.take(4096), pool.take(4096), pool.take(4096)];
    for (const buffer of buffers) pool.give(buffer);
    expect(pool.heldBytes).toBe(8192);
  });
});
