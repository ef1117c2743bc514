// The guest's POSIX suite (firmware/probe/nfs-suite.sh) on the host, under the same busybox the
// probe ships: every operation passes on a correct file system, and a file system that lies is
// caught by the operation it lies to, with a detail naming what it saw.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const exec = promisify(execFile);
const SUITE = resolve("firmware/probe/nfs-suite.sh");
const BUSYBOX = "/bin/busybox";
let work: string;
let applets: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "bp-nfs-suite-"));
  applets = join(work, "bin");
  await mkdir(applets);
  const { stdout } = await exec(BUSYBOX, ["--list"]);
  for (const applet of stdout.split("\n").filter(Boolean)) await symlink(BUSYBOX, join(applets, applet));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

type Result = { op: string; ok: boolean; ms: number; detail: string };

/**
 * Runs the suite on a fresh directory. `shims` are shell functions that stand in for applets
 * (busybox's sh runs its own applets before anything on PATH, so functions are the way in).
 */
async function runSuite(name: string, shims: Record<string, string> = {}): Promise<Result[]> {
  const dir = join(work, name);
  await mkdir(dir);
  const functions = Object.entries(shims)
    .map(([applet, body]) => `${applet}() {\n${body}\n}\n`)
    .join("");
  const script = `${functions}set -- "$SUITE_DIR"\n. "$SUITE"\n`;
  const { stdout } = await exec(join(applets, "sh"), ["-c", script], {
    env: { PATH: applets, BOOTPROOF_DROP_CACHES: "/dev/null", SUITE, SUITE_DIR: dir },
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout) as Result[];
}

describe("the guest's NFS POSIX suite", () => {
  it("passes every operation on a correct file system and leaves its tree behind", async () => {
    const results = await runSuite("correct");
    expect(results.map((r) => r.op)).toEqual([
      "create_write_fsync",
      "rename_over_existing",
      "hard_link",
      "symlink",
      "readdir_10000",
      "truncate",
      "chmod",
      "offset_past_4gib",
      "two_concurrent_writers",
      "rmdir_not_empty",
      "unlink_open_file",
      "rename_directory",
    ]);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    // Each operation's time in ms, from /proc/uptime's centiseconds; creating 10 000 files
    // takes measurable time even on the host's tmpfs.
    for (const r of results) expect(Number.isInteger(r.ms) && r.ms >= 0 && r.ms % 10 === 0).toBe(true);
    expect(results.find((r) => r.op === "readdir_10000")?.ms).toBeGreaterThan(0);
    expect(await readdir(join(work, "correct", "bootproof-suite", "many"))).toHaveLength(10_000);
  });

  it("catches a truncate that does nothing and a link count that never changes", async () => {
    const results = await runSuite("lying", {
      truncate: "return 0",
      stat: 'case "$2" in %h) echo 1 ;; *) command stat "$@" ;; esac',
    });
    const failed = Object.fromEntries(results.filter((r) => !r.ok).map((r) => [r.op, r.detail]));
    expect(Object.keys(failed).sort()).toEqual(["hard_link", "truncate"]);
    expect(failed.truncate).toBe("size 1048576 after truncate to 5000");
    expect(failed.hard_link).toBe("link count 1, expected 2");
  });

  it("reports a readdir that loses an entry", async () => {
    const results = await runSuite("short-readdir", {
      ls: 'if [ "$(basename "$1")" = many ]; then command ls "$@" | head -n 9999; else command ls "$@"; fi',
    });
    expect(results.find((r) => r.op === "readdir_10000")).toEqual({
      op: "readdir_10000",
      ok: false,
      ms: expect.any(Number),
      detail: "readdir listed 9999 entries, expected 10000",
    });
  });
});
