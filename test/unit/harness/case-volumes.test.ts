// Case volumes (disks that outlive one boot of a case) and the write recording the target
// does on every LU: merged byte ranges, lazily created sparse files, image comparison.
import { existsSync, statSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createMemoryBackend } from "../../../harness/iscsi/backends/memory.js";
import { ChangedRanges, recordChanges } from "../../../harness/iscsi/backends/recording.js";
import { CaseVolumes } from "../../../harness/services/case-volumes.js";

describe("ChangedRanges", () => {
  it("merges touching and overlapping ranges and keeps separate ones apart", () => {
    const r = new ChangedRanges();
    r.add(4096, 512);
    r.add(0, 512);
    r.add(512, 512); // touches [0, 512)
    r.add(4000, 200); // overlaps [4096, 4608)
    r.add(9000, 0); // empty: ignored
    expect(r.list()).toEqual([
      [0, 1024],
      [4000, 608],
    ]);
    expect(r.bytes).toBe(1632);
  });
});

describe("recordChanges", () => {
  it("reports writes and discards after they are done, and nothing for reads and flushes", async () => {
    const seen: Array<[number, number]> = [];
    const backend = recordChanges(createMemoryBackend(1 << 20, false), (o, l) => seen.push([o, l]));
    await backend.write(Buffer.alloc(1024, 7), 2048, false);
    await backend.read(Buffer.alloc(512), 0);
    await backend.flush();
    await backend.discard(8192, 4096);
    expect(seen).toEqual([
      [2048, 1024],
      [8192, 4096],
    ]);
    const back = Buffer.alloc(1024);
    await backend.read(back, 2048);
    expect(back.every((b) => b === 7)).toBe(true);
  });
});

describe("CaseVolumes", () => {
  it("creates a sparse file only when first served, keeps it across uses, and removes it on release", () => {
    const volumes = new CaseVolumes();
    const volume = volumes.volume("lu0", 8 * 1024 ** 3);
    expect(volumes.volume("lu0", 8 * 1024 ** 3)).toBe(volume);
    const path = volume.path;
    expect(statSync(path).size).toBe(8 * 1024 ** 3);
    // Sparse: an 8 GiB volume takes (almost) no blocks.
    expect(statSync(path).blocks * 512).toBeLessThan(1 << 20);
    writeFileSync(path, Buffer.from("image-bytes"), { flag: "r+" });
    expect(volumes.startsWith(volume, Buffer.from("image-bytes"))).toBe(true);
    expect(volumes.startsWith(volume, Buffer.from("other-bytes"))).toBe(false);
    volumes.release();
    expect(existsSync(path)).toBe(false);
  });

  it("refuses a bad name, a size that is not whole blocks, and a second size for one name", () => {
    const volumes = new CaseVolumes();
    expect(() => volumes.volume("../x", 512)).toThrow(/case volume name '..\/x'/);
    expect(() => volumes.volume("lu0", 1000)).toThrow(/multiple of 512/);
    volumes.volume("lu0", 512);
    expect(() => volumes.volume("lu0", 1024)).toThrow(/exists with 512 bytes; asked for 1024/);
    volumes.release();
  });
});
