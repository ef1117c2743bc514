import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { contentAddressed } from "../../../firmware/cache.js";
import { fileDigest } from "../../../firmware/file-digest.js";

let root: string;
const saved = process.env.BOOTPROOF_CACHE;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "bootproof-digest-"));
  process.env.BOOTPROOF_CACHE = root;
});
afterEach(() => {
  if (saved === undefined) delete process.env.BOOTPROOF_CACHE;
  else process.env.BOOTPROOF_CACHE = saved;
  rmSync(root, { recursive: true, force: true });
});

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

/** fileDigest as a new bootproof process sees it: nothing remembered in memory. */
async function freshFileDigest(path: string): Promise<string> {
  vi.resetModules();
  const fresh = await import("../../../firmware/file-digest.js");
  return fresh.fileDigest(path);
}

describe("fileDigest", () => {
  it("is the sha256 of the content and follows changes", async () => {
    const file = join(root, "data.bin");
    writeFileSync(file, "hello");
    expect(await fileDigest(file)).toBe(sha("hello"));
    expect(await fileDigest(file)).toBe(sha("hello"));
    writeFileSync(file, "changed content");
    expect(await fileDigest(file)).toBe(sha("changed content"));
    await expect(fileDigest(join(root, "nope"))).rejects.toThrow(/no such file/);
    await expect(fileDigest(root)).rejects.toThrow(/not a regular file/);
  });

  it("remembers a digest across processes, and only while the file's identity is unchanged", async () => {
    const file = join(root, "busybox");
    writeFileSync(file, "AAAA");
    expect(await freshFileDigest(file)).toBe(sha("AAAA"));
    const [recordName] = readdirSync(join(root, "digests"));
    const recordPath = join(root, "digests", recordName ?? "");
    const record = JSON.parse(readFileSync(recordPath, "utf8")) as { path: string; sha256: string };
    expect(record).toMatchObject({ path: file, sha256: sha("AAAA") });

    // The record, not the content, answers a new process (proved by planting a marker value).
    writeFileSync(recordPath, JSON.stringify({ ...record, sha256: "from-the-record" }));
    expect(await freshFileDigest(file)).toBe("from-the-record");

    // Same size, mtime put back: the ctime still differs, so the file is hashed again.
    const before = statSync(file);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(file, "BBBB");
    utimesSync(file, before.atime, before.mtime);
    expect(await freshFileDigest(file)).toBe(sha("BBBB"));
  });

  it("ignores a corrupt record", async () => {
    const file = join(root, "image.raw");
    writeFileSync(file, "content");
    await freshFileDigest(file);
    const [recordName] = readdirSync(join(root, "digests"));
    writeFileSync(join(root, "digests", recordName ?? ""), "{not json");
    expect(await freshFileDigest(file)).toBe(sha("content"));
  });

  it("names a file inside a content-addressed entry by its entry path, and hashes anything else", async () => {
    const built = await contentAddressed("digest-test", { n: 1 }, async (workDir) => {
      await writeFile(join(workDir, "image.raw"), "built once");
      return "image.raw";
    });
    expect(await fileDigest(built)).toMatch(/^cache:digest-test\/[0-9a-f]{64}\/image\.raw$/);
    const outside = join(root, "plain.bin"); // in the cache root, but not in an entry
    writeFileSync(outside, "plain");
    expect(await fileDigest(outside)).toBe(sha("plain"));
  });
});
