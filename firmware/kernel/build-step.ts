// One step of the probe kernel build (tar, make) as a child process group: its output goes to a
// log file and, line by line, to a progress callback; an interruption (Ctrl-C, SIGTERM) kills
// the whole group (make and every compiler it started), and a failure names the step with the
// tail of its log.
import { spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { registerCleanup } from "../../emulator/reaper.js";

export type KernelBuildStep = "unpack" | "config" | "make" | "install";

export class KernelBuildError extends Error {
  constructor(
    readonly step: KernelBuildStep,
    message: string,
  ) {
    super(message);
    this.name = "KernelBuildError";
  }
}

const TAIL_LINES = 25;
const SETPRIV = "/usr/bin/setpriv";

export function logTail(text: string, lines = TAIL_LINES): string {
  const all = text.split("\n");
  while (all.length > 0 && all[all.length - 1] === "") all.pop();
  return all.slice(-lines).join("\n");
}

export interface StepCommand {
  step: KernelBuildStep;
  command: string;
  args: readonly string[];
  cwd: string;
  /** Appended to: one log per step. */
  logFile: string;
  env?: Record<string, string>;
  onLine?: (line: string) => void;
}

/** Runs the command to completion; a non-zero exit is a KernelBuildError with the log's tail. */
export async function runBuildStep(step: StepCommand): Promise<void> {
  const log = createWriteStream(step.logFile, { flags: "a" });
  // setpriv --pdeathsig: make dies with bootproof even when bootproof is SIGKILLed.
  const [file, args] = existsSync(SETPRIV)
    ? [SETPRIV, ["--pdeathsig", "KILL", "--", step.command, ...step.args]]
    : [step.command, [...step.args]];
  const child = spawn(file, args, {
    cwd: step.cwd,
    env: { ...process.env, LC_ALL: "C", ...step.env },
    // Its own process group, so one kill reaches make and every compiler below it.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
    child.once("error", (error) => resolve({ code: null, signal: null, error }));
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  const unregister = registerCleanup(`kernel build ${step.step}`, async () => {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
      await exited;
    }
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream.pipe(log, { end: false });
    createInterface({ input: stream }).on("line", (line) => step.onLine?.(line));
  }
  try {
    const result = await exited;
    await new Promise<void>((resolve) => log.end(resolve));
    if (result.error) {
      throw new KernelBuildError(step.step, `the ${step.step} step could not start ${step.command}: ${result.error.message}`);
    }
    if (result.code !== 0) {
      const tail = logTail(await readFile(step.logFile, "utf8").catch(() => ""));
      const how = result.signal ? `was killed by ${result.signal}` : `exited with ${result.code}`;
      throw new KernelBuildError(
        step.step,
        `the probe kernel build failed in its ${step.step} step: ${step.command} ${how}; last lines of its log:\n${tail}`,
      );
    }
  } finally {
    unregister();
  }
}
