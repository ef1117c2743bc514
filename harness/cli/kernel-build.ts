// `bootproof kernel build` (also run by `doctor --fix`): installs what the build needs (the
// "fast-kernel" requirement group), builds the fast probe kernel into the cache and shows its
// progress: a live line on a terminal (log-update), plain lines every 15 s in CI logs.

import { buildProbeKernel, type KernelBuildProgress } from "../../firmware/kernel/build.js";
import { forgetSourceVersion } from "../../firmware/kernel/probe-kernel.js";
import type { GuestKernel } from "../../firmware/kernel.js";
import { ensureRequirements } from "../doctor/doctor.js";
import { InfraError } from "../errors.js";

const PLAIN_EVERY_MS = 15_000;

export function formatBuildProgress(p: KernelBuildProgress): string {
  const seconds = Math.round(p.elapsedMs / 1000);
  const detail = p.step === "make" ? `, ${p.compiled} files compiled${p.lastLine ? ` (${p.lastLine})` : ""}` : "";
  return `probe kernel: ${p.step} step, ${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s${detail}`;
}

/** A progress sink: live on a TTY outside CI, otherwise a plain line per step and every 15 s. */
async function progressDisplay(
  stream: NodeJS.WriteStream,
): Promise<{ show: (p: KernelBuildProgress) => void; done: () => void }> {
  if (stream.isTTY === true && !process.env.CI) {
    const { createLogUpdate } = await import("log-update");
    const update = createLogUpdate(stream);
    let last = 0;
    return {
      // make prints hundreds of lines a second: the display redraws at most 10 times a second.
      show: (p) => {
        if (p.elapsedMs - last < 100 && p.step === "make") return;
        last = p.elapsedMs;
        update(formatBuildProgress(p).slice(0, Math.max(20, (stream.columns ?? 100) - 1)));
      },
      done: () => update.done(),
    };
  }
  let step: string | undefined;
  let last = 0;
  return {
    show: (p) => {
      if (p.step === step && p.elapsedMs - last < PLAIN_EVERY_MS) return;
      step = p.step;
      last = p.elapsedMs;
      stream.write(`${formatBuildProgress(p)}\n`);
    },
    done: () => {},
  };
}

export async function kernelBuildCommand(options: { fix: boolean; jobs?: number }): Promise<GuestKernel> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const requirements = await ensureRequirements(["fast-kernel"], { fix: options.fix, log });
  if (requirements.missing.length > 0) {
    throw new InfraError(
      `building the probe kernel needs ${requirements.missing.map((m) => m.debianPackage).join(", ")}: run \`bootproof doctor --fix\` as root`,
    );
  }
  if (requirements.installed.length > 0) forgetSourceVersion();
  const display = await progressDisplay(process.stderr);
  try {
    const result = await buildProbeKernel({ jobs: options.jobs, onProgress: display.show });
    display.done();
    log(
      result.built
        ? `probe kernel ${result.kernel.release} built in ${(result.durationMs / 1000).toFixed(0)} s: ${result.kernel.vmlinuz}`
        : `probe kernel ${result.kernel.release} is already built: ${result.kernel.vmlinuz}`,
    );
    return result.kernel;
  } catch (error) {
    display.done();
    throw error;
  }
}
