// `bootproof run --shard i/n` and `bootproof merge-reports` as a CI job runs them: each shard
// exits with its own verdict, the merge writes one summary and one JUnit file with the same
// verdicts as the unsharded run, and exits as the unsharded run does.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = resolve("bin/bootproof");
const SCENARIO = resolve("test/fixtures/scenarios/boot-free-defects.mjs");
let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "bp-cli-shards-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});
const bootproof = (args: string[]) => execa(BIN, args, { reject: false, env: { CI: "true" }, timeout: 120_000 });
const verdicts = async (dir: string) =>
  (
    JSON.parse(await readFile(join(dir, "summary.json"), "utf8")) as { cases: Array<{ caseId: string; verdict: string }> }
  ).cases.map((c) => `${c.caseId}:${c.verdict}`);

describe("run --shard and merge-reports", () => {
  it("three shards merged give the unsharded run's verdicts, summary and JUnit", async () => {
    const run = ["run", SCENARIO, "--runs", "8", "--seed", "3", "--no-shrink"];
    const whole = await bootproof([...run, "--artifacts", join(scratch, "whole")]);
    expect(whole.exitCode).toBe(1);
    const shardDirs = [1, 2, 3].map((i) => join(scratch, `shard-${i}`));
    for (const [i, dir] of shardDirs.entries()) {
      const shard = await bootproof([...run, "--shard", `${i + 1}/3`, "--artifacts", dir]);
      expect([0, 1]).toContain(shard.exitCode);
    }
    const out = join(scratch, "merged");
    const merged = await bootproof(["merge-reports", ...shardDirs, "--out", out]);
    expect(merged.exitCode).toBe(whole.exitCode);
    expect(await verdicts(out)).toEqual(await verdicts(join(scratch, "whole")));
    // The merged JUnit is the unsharded run's, apart from timings and artifact paths.
    const wholeJunit = join(scratch, "whole.xml");
    await bootproof([...run, "--artifacts", join(scratch, "whole-again"), "--junit", wholeJunit]);
    const comparableJunit = async (path: string) =>
      (await readFile(path, "utf8")).replace(/ time="[\d.]+"/g, "").replace(/<system-out>[\s\S]*?<\/system-out>/g, "");
    expect(await comparableJunit(join(out, "junit.xml"))).toBe(await comparableJunit(wholeJunit));
    expect((await readFile(join(out, "junit.xml"), "utf8")).match(/<testcase /g)?.length).toBe((await verdicts(out)).length);
    expect(await readFile(join(out, "report.html"), "utf8")).toContain("case-008");
    expect(merged.stdout).toMatch(/static sweep: 200 inputs/);
  });

  it("names a bad --shard and a missing shard as bad input (exit 2)", async () => {
    const bad = await bootproof(["run", SCENARIO, "--shard", "4/3"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--shard must be i\/n with 1 ≤ i ≤ n/);
    const dir = join(scratch, "lonely");
    await bootproof(["run", SCENARIO, "--runs", "2", "--seed", "1", "--shard", "1/2", "--artifacts", dir]);
    const merged = await bootproof(["merge-reports", dir, "--out", join(scratch, "lonely-merged")]);
    expect(merged.exitCode).toBe(2);
    expect(merged.stderr).toMatch(/shard\(s\) 2 of 2 are missing/);
  });
});
