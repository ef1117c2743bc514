import { readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runAllCleanups } from "../../../emulator/reaper.js";
import { KernelBuildError, logTail, runBuildStep } from "../../../firmware/kernel/build-step.js";
import { formatBuildProgress } from "../../../harness/cli/kernel-build.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "bootproof-build-step-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Running (a killed orphan may stay a zombie until init reaps it: that is not running). */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
};

describe("kernel build steps", () => {
  it("names the failing step and quotes the tail of its log", async () => {
    const lines: string[] = [];
    const failing = runBuildStep({
      step: "make",
      command: "sh",
      args: ["-c", "for i in $(seq 1 40); do echo line $i; done; echo 'error: no rule' >&2; exit 2"],
      cwd: dir,
      logFile: join(dir, "make.log"),
      onLine: (line) => lines.push(line),
    });
    const error = await failing.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KernelBuildError);
    expect((error as KernelBuildError).step).toBe("make");
    expect((error as Error).message).toMatch(/failed in its make step: sh exited with 2; last lines of its log:\n/);
    expect((error as Error).message).toContain("error: no rule");
    expect((error as Error).message).toContain("line 40");
    expect((error as Error).message).not.toContain("line 10\n");
    expect(lines).toContain("line 1");
  });

  it("kills the whole process group when bootproof is interrupted", async () => {
    const pidFile = join(dir, "pids");
    const running = runBuildStep({
      step: "make",
      command: "sh",
      // A "compiler" in the background, as make -j starts them.
      args: ["-c", `sleep 60 & echo $! > ${pidFile}; echo started; wait`],
      cwd: dir,
      logFile: join(dir, "make.log"),
    }).catch((e: unknown) => e);
    let grandchild: number | undefined;
    for (let i = 0; i < 100 && !grandchild; i++) {
      grandchild = Number(await readFile(pidFile, "utf8").catch(() => "")) || undefined;
      if (!grandchild) await new Promise((r) => setTimeout(r, 50));
    }
    expect(grandchild && alive(grandchild)).toBe(true);
    await runAllCleanups();
    const error = await running;
    expect((error as Error).message).toMatch(/was killed by SIGKILL/);
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(grandchild!)).toBe(false);
  });

  it("keeps the last lines of a log", () => {
    expect(logTail("a\nb\nc\n\n", 2)).toBe("b\nc");
    expect(logTail("", 2)).toBe("");
  });

  it("shows the step, the elapsed time and make's progress", () => {
    expect(formatBuildProgress({ step: "unpack", elapsedMs: 65_400, compiled: 0 })).toBe("probe kernel: unpack step, 1m05s");
    expect(formatBuildProgress({ step: "make", elapsedMs: 3_000, compiled: 12, lastLine: "CC kernel/fork.o" })).toBe(
      "probe kernel: make step, 0m03s, 12 files compiled (CC kernel/fork.o)",
    );
  });
});
