// One real probe boot (direct kernel, no disks) under a given accelerator: the only honest
// test of whether that accelerator works on this host.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Accelerator } from "../../emulator/argv.js";
import { prepareMachine } from "../boot/prepare.js";
import { runBoot } from "../boot/run-boot.js";

export async function probeBoot(
  accelerator: Accelerator,
  deadlineMs: number,
): Promise<{ ok: boolean; durationMs: number; detail: string }> {
  const machine = await prepareMachine({ machine: { name: "accel-probe" }, directBoot: { role: "accel-probe" } });
  const artifactDir = await mkdtemp(join(tmpdir(), "bootproof-accel-"));
  try {
    const result = await runBoot(machine, { artifactDir, accelerator, deadlineMs });
    if (result.status === "observed" && result.observation.role === "accel-probe")
      return { ok: true, durationMs: result.durationMs, detail: "observed" };
    const detail =
      result.status === "infra-error"
        ? result.error
        : result.status === "no-observation"
          ? result.reason
          : `no observation within ${deadlineMs / 1000} s (reached ${result.phase})`;
    return { ok: false, durationMs: result.durationMs, detail };
  } finally {
    await rm(artifactDir, { recursive: true, force: true });
  }
}
