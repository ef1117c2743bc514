// Process-wide cleanup registry. Everything that must not outlive bootproof (QEMU children,
// servers, per-run temp dirs) registers a cleanup here; SIGINT/SIGTERM run every cleanup
// before the process exits, so an interrupted run leaves no process and no temp dir.
// Children are additionally started under `setpriv --pdeathsig KILL`, which covers the one
// case no handler can: bootproof itself being SIGKILLed.
import { rmSync } from "node:fs";

type Cleanup = () => void | Promise<void>;

const cleanups = new Map<number, { label: string; run: Cleanup }>();
let nextId = 1;
let installed = false;
let exiting = false;

export function registerCleanup(label: string, run: Cleanup): () => void {
  installSignalHandlers();
  const id = nextId++;
  cleanups.set(id, { label, run });
  return () => {
    cleanups.delete(id);
  };
}

export async function runAllCleanups(): Promise<void> {
  const pending = [...cleanups.values()].reverse();
  cleanups.clear();
  await Promise.allSettled(pending.map(async (c) => c.run()));
}

function onSignal(signal: NodeJS.Signals): void {
  stopEverything(signal === "SIGINT" ? 130 : 143, `${signal} received`);
}

/**
 * Stops the run as an interruption: every cleanup runs, then the process exits with `code`
 * (130 as for SIGINT when bootproof's launcher went away).
 */
export function stopEverything(code: number, why: string): void {
  if (exiting) return;
  exiting = true;
  if (cleanups.size > 0) process.stderr.write(`\nbootproof: ${why}, stopping guests and servers...\n`);
  // Cleanups are bounded (QEMU gets SIGKILL after a short grace), but never hang on one.
  const hardStop = setTimeout(() => process.exit(code), 5_000);
  hardStop.unref();
  void runAllCleanups().finally(() => process.exit(code));
}

function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  process.on("SIGHUP", onSignal);
  // Last resort on a normal exit with cleanups still registered (a bug elsewhere):
  // synchronous work only is possible here, so directories are removed synchronously.
  process.on("exit", () => {
    for (const cleanup of cleanups.values()) {
      try {
        void cleanup.run();
      } catch {
        // exiting anyway
      }
    }
  });
}

/** Registers a directory to delete on interruption; returns the unregister function. */
export function registerTempDir(path: string): () => void {
  return registerCleanup(`temp dir ${path}`, () => rmSync(path, { recursive: true, force: true }));
}
