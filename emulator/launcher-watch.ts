// Stops bootproof when the npm process that launched it goes away. Measured with npm 11: a
// SIGTERM sent to the `npx bootproof run …` process alone (as some CI runners cancel a job)
// kills the `sh -c` npm runs bootproof under, and npm exits; a SIGKILL ends npm alone. Either
// way bootproof and its guest ran on, and the interrupted case passed. (A SIGINT npm forwards
// to that shell, which holds it until its child exits: nothing bootproof can see.) Ctrl-C in a
// terminal signals the whole process group and needs none of this. Linux only: /proc.
//
// Identity is pid plus start time (field 22 of /proc/PID/stat), so a recycled pid never
// passes for the launcher.
import { readFileSync } from "node:fs";

export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Clock ticks since boot at which the process started. */
  startTime: string;
  /** argv joined by spaces; npm sets its title to e.g. "npm exec bootproof run smoke". */
  commandLine: string;
}

/** `/proc/PID/stat` → parent pid and start time. The command name may hold spaces and ')'. */
export function parseStat(stat: string): { ppid: number; startTime: string } | undefined {
  const afterName = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // afterName[0] is field 3 (state): ppid is field 4, starttime field 22.
  const ppid = Number(afterName[1]);
  const startTime = afterName[19];
  if (!Number.isInteger(ppid) || startTime === undefined) return undefined;
  return { ppid, startTime };
}

/** The nearest ancestor that is npm or npx (`npm exec`, `npm run`, `npm test`, `npx`). */
export function launcherOf(ancestors: readonly ProcessInfo[]): ProcessInfo | undefined {
  return ancestors.find((p) => /^(npm|npx)(\s|$)/.test(p.commandLine) || /(^|\/)npx(-cli\.js)?(\s|$)/.test(p.commandLine));
}

export function readProcess(pid: number): ProcessInfo | undefined {
  try {
    const stat = parseStat(readFileSync(`/proc/${pid}/stat`, "utf8"));
    if (!stat) return undefined;
    const commandLine = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, "").replace(/\0/g, " ");
    return { pid, ...stat, commandLine };
  } catch {
    return undefined;
  }
}

/** This process's ancestors, nearest first, up to (not including) pid 1. */
export function ancestors(limit = 16): ProcessInfo[] {
  const chain: ProcessInfo[] = [];
  let pid = process.ppid;
  while (pid > 1 && chain.length < limit) {
    const info = readProcess(pid);
    if (!info) break;
    chain.push(info);
    pid = info.ppid;
  }
  return chain;
}

/**
 * Calls `onGone` once when the npm launcher among this process's ancestors exits. Returns a
 * stop function; does nothing (and costs nothing) when no npm launched bootproof.
 */
export function watchLauncher(onGone: (launcher: ProcessInfo) => void, intervalMs = 500): () => void {
  const launcher = launcherOf(ancestors());
  if (!launcher) return () => {};
  const timer = setInterval(() => {
    if (readProcess(launcher.pid)?.startTime === launcher.startTime) return;
    clearInterval(timer);
    onGone(launcher);
  }, intervalMs);
  // The watch never keeps bootproof alive on its own.
  timer.unref();
  return () => clearInterval(timer);
}
