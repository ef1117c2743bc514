import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { type CpioEntry, gzipCpio, parseCpio, writeCpio } from "../../../firmware/probe/cpio.js";

const sample: CpioEntry[] = [
  { type: "char", path: "dev/console", major: 5, minor: 1, mode: 0o600 },
  { type: "file", path: "bin/busybox", data: Buffer.from("#!fake busybox\n"), mode: 0o755 },
  { type: "symlink", path: "bin/sh", target: "busybox" },
  { type: "file", path: "init", data: Buffer.from("x".repeat(1001)), mode: 0o755 },
  { type: "file", path: "etc/empty", data: Buffer.alloc(0) },
  { type: "block", path: "dev/vda", major: 254, minor: 0 },
];

describe("newc cpio writer", () => {
  it("round-trips every entry type and adds missing parent directories first", () => {
    const entries = parseCpio(writeCpio(sample));
    expect(entries.map((e) => `${e.type}:${e.path}`)).toEqual([
      "dir:dev",
      "char:dev/console",
      "dir:bin",
      "file:bin/busybox",
      "symlink:bin/sh",
      "file:init",
      "dir:etc",
      "file:etc/empty",
      "block:dev/vda",
    ]);
    expect(entries.find((e) => e.path === "dev/console")).toEqual({
      type: "char",
      path: "dev/console",
      major: 5,
      minor: 1,
      mode: 0o600,
    });
    expect(entries.find((e) => e.path === "bin/sh")).toEqual({ type: "symlink", path: "bin/sh", target: "busybox" });
    const init = entries.find((e) => e.path === "init");
    expect(init?.type === "file" && init.data.length).toBe(1001);
    expect(init?.type === "file" && init.mode).toBe(0o755);
  });

  it("aligns every header on 4 bytes and ends with the TRAILER!!! record", () => {
    const archive = writeCpio(sample);
    expect(archive.length % 4).toBe(0);
    expect(archive.toString("latin1")).toContain("TRAILER!!!");
    // Walk the records by their sizes: each must start with the magic on a 4-byte boundary.
    const entries = parseCpio(archive);
    expect(entries).toHaveLength(9);
    let headers = 0;
    for (
      let offset = archive.indexOf("070701", 0, "latin1");
      offset >= 0;
      offset = archive.indexOf("070701", offset + 6, "latin1")
    ) {
      expect(offset % 4).toBe(0);
      headers++;
    }
    expect(headers).toBe(10);
  });

  it("is deterministic (no timestamps, fixed inode numbers)", () => {
    expect(writeCpio(sample).equals(writeCpio(sample))).toBe(true);
    expect(gzipCpio(sample).equals(gzipCpio(sample))).toBe(true);
    expect(gunzipSync(gzipCpio(sample)).equals(writeCpio(sample))).toBe(true);
  });

  it("rejects absolute, dotted and duplicate paths", () => {
    expect(() => writeCpio([{ type: "dir", path: "/abs" }])).toThrow(/must be relative/);
    expect(() => writeCpio([{ type: "dir", path: "a/../b" }])).toThrow(/'\.\.'/);
    expect(() =>
      writeCpio([
        { type: "dir", path: "a" },
        { type: "dir", path: "a" },
      ]),
    ).toThrow(/appears twice/);
    expect(() =>
      writeCpio([
        { type: "file", path: "a/b", data: Buffer.alloc(1) },
        { type: "dir", path: "a" },
      ]),
    ).toThrow(/appears twice/);
  });

  it("is read by GNU cpio as the kernel would unpack it", () => {
    const dir = mkdtempSync(join(tmpdir(), "bootproof-cpio-"));
    try {
      const archivePath = join(dir, "image.cpio");
      writeFileSync(archivePath, writeCpio(sample.filter((e) => e.type !== "char" && e.type !== "block")));
      const listing = execFileSync("cpio", ["-t", "--quiet", "-F", archivePath], { encoding: "utf8" }).trim().split("\n");
      expect(listing).toEqual(["bin", "bin/busybox", "bin/sh", "init", "etc", "etc/empty"]);
      const out = join(dir, "out");
      execFileSync("cpio", ["-i", "-d", "--quiet", "-F", archivePath, "-D", out]);
      expect(readFileSync(join(out, "bin/busybox"), "utf8")).toBe("#!fake busybox\n");
      expect(readlinkSync(join(out, "bin/sh"))).toBe("busybox");
      expect(statSync(join(out, "init")).mode & 0o777).toBe(0o755);
      // Device nodes are only header fields: GNU cpio lists them with their numbers.
      const devices = join(dir, "devices.cpio");
      writeFileSync(devices, writeCpio(sample.filter((e) => e.type === "char" || e.type === "block")));
      const verbose = execFileSync("cpio", ["-t", "-v", "--quiet", "-F", devices], { encoding: "utf8" });
      expect(verbose).toMatch(/^crw------- .*5,\s+1 .*dev\/console$/m);
      expect(verbose).toMatch(/^brw------- .*254,\s+0 .*dev\/vda$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
