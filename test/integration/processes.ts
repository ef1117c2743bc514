// Which processes a test's bootproof left behind: every process whose environment carries the
// test's private TMPDIR (QEMU, the Python workers, libvirt's helpers all inherit it), so a
// test sees its own children even after they were reparented, and nobody else's.
import { readdirSync, readFileSync } from "node:fs";

export interface ProcessInfo {
  pid: number;
  command: string;
}

export function processesWithTmpdir(tmpdir: string): ProcessInfo[] {
  const marker = `TMPDIR=${tmpdir}\0`;
  const found: ProcessInfo[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      if (/^\d+ \(.*\) Z/.test(stat)) continue; // a zombie is already gone, its parent has not reaped it yet
      if (!`${readFileSync(`/proc/${entry}/environ`, "latin1")}\0`.includes(marker)) continue;
      found.push({ pid: Number(entry), command: readFileSync(`/proc/${entry}/cmdline`, "latin1").replaceAll("\0", " ").trim() });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Waits until `predicate` holds (polling), or the deadline passes; returns the last value. */
export async function waitFor<T>(probe: () => T, predicate: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = probe();
  while (!predicate(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    value = probe();
  }
  return value;
}

/** True while a process with this pid exists (signal 0 probes without sending anything). */
export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
