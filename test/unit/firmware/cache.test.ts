import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { cacheKeyHash, cacheRoot, contentAddressed, stableJson } from "../../../firmware/cache.js";

let root: string;
const saved = process.env.BOOTPROOF_CACHE;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "bootproof-cache-"));
  process.env.BOOTPROOF_CACHE = root;
});
afterEach(() => {
  if (saved === undefined) delete process.env.BOOTPROOF_CACHE;
  else process.env.BOOTPROOF_CACHE = saved;
  rmSync(root, { recursive: true, force: true });
});

const listKind = (kind: string) => readdirSync(join(root, kind));

describe("content-addressed cache", () => {
  it("honours BOOTPROOF_CACHE and hashes keys independent of property order", () => {
    expect(cacheRoot()).toBe(root);
    expect(stableJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(cacheKeyHash("k", { a: 1, b: 2 })).toBe(cacheKeyHash("k", { b: 2, a: 1 }));
    expect(cacheKeyHash("k", { a: 1 })).not.toBe(cacheKeyHash("k", { a: 2 }));
    expect(cacheKeyHash("k", { a: 1 })).not.toBe(cacheKeyHash("other", { a: 1 }));
  });

  it("builds once, returns <root>/<kind>/<hash>/<file>, keeps only the produced file", async () => {
    const build = vi.fn(async (work: string) => {
      await writeFile(join(work, "out.img"), "image");
      await writeFile(join(work, "scratch.tmp"), "left over");
      return "out.img";
    });
    const first = await contentAddressed("thing", { v: 1 }, build);
    expect(first).toBe(join(root, "thing", cacheKeyHash("thing", { v: 1 }), "out.img"));
    expect(readFileSync(first, "utf8")).toBe("image");
    expect(readdirSync(join(first, "..")).sort()).toEqual([".entry.json", "out.img"]);
    expect(await contentAddressed("thing", { v: 1 }, build)).toBe(first);
    expect(build).toHaveBeenCalledTimes(1);
  });

  it("shares one build between concurrent callers in a process", async () => {
    let builds = 0;
    const build = async (work: string) => {
      builds++;
      await new Promise((r) => setTimeout(r, 30));
      await writeFile(join(work, "f"), "x");
      return "f";
    };
    const paths = await Promise.all([1, 2, 3].map(() => contentAddressed("shared", "key", build)));
    expect(new Set(paths).size).toBe(1);
    expect(builds).toBe(1);
  });

  it("two independent builders of one key (separate processes) leave one complete entry", async () => {
    // Fresh module instances have separate in-flight maps, like two processes would.
    vi.resetModules();
    const a = await import("../../../firmware/cache.js");
    vi.resetModules();
    const b = await import("../../../firmware/cache.js");
    expect(a.contentAddressed).not.toBe(b.contentAddressed);
    let builds = 0;
    const build = (content: string) => async (work: string) => {
      builds++;
      await new Promise((r) => setTimeout(r, 20));
      await writeFile(join(work, "f"), content);
      return "f";
    };
    const [pathA, pathB] = await Promise.all([
      a.contentAddressed("race", 1, build("A")),
      b.contentAddressed("race", 1, build("B")),
    ]);
    expect(builds).toBe(2);
    expect(pathA).toBe(pathB);
    expect(["A", "B"]).toContain(readFileSync(pathA, "utf8"));
    expect(listKind("race")).toEqual([cacheKeyHash("race", 1)]);
  });

  it("a failed build leaves nothing behind and can be retried", async () => {
    await expect(
      contentAddressed("broken", 1, async (work) => {
        await writeFile(join(work, "half"), "half-written");
        throw new Error("tool crashed");
      }),
    ).rejects.toThrow("tool crashed");
    expect(listKind("broken")).toEqual([]);
    await expect(contentAddressed("broken", 1, async () => "missing.img")).rejects.toThrow(/does not exist/);
    await expect(contentAddressed("broken", 1, async () => "../escape")).rejects.toThrow(/plain name/);
    expect(listKind("broken")).toEqual([]);
    const ok = await contentAddressed("broken", 1, async (work) => {
      await writeFile(join(work, "good"), "ok");
      return "good";
    });
    expect(readFileSync(ok, "utf8")).toBe("ok");
  });

  it("rejects kinds that are not safe directory names", async () => {
    await expect(contentAddressed("../x", 1, async () => "f")).rejects.toThrow(/cache kind/);
  });
});
