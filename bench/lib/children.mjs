// The processes and scratch directories a bench creates, and their end: stopped on the
// bench's way out, and also when it is interrupted. Ctrl-C (SIGINT) or a CI job's SIGTERM run
// every registered undo step, newest first, then exit 130 / 143: no server, daemon or guest
// outlives its bench and no scratch directory stays behind. (A child in the terminal's
// process group gets Ctrl-C by itself, but not a SIGTERM sent to the bench alone, and
// daemons that detach, like `rpcbind -w`, get neither.)
import { execFile, spawn } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

const undoSteps = new Set();
let installed = false;
let interrupted = false;

function install() {
  if (installed) return;
  installed = true;
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ]) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      console.error(`\n${signal}: stopping what the bench started`);
      void (async () => {
        for (const step of [...undoSteps].reverse()) {
          try {
            await step();
          } catch (error) {
            console.error(`  undo step failed: ${error?.message ?? error}`);
          }
        }
        process.exit(code);
      })();
    });
  }
}

/** Runs `step` if the bench is interrupted; the returned function unregisters it. */
export function undoOnInterrupt(step) {
  install();
  undoSteps.add(step);
  return () => undoSteps.delete(step);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export function stopChild(child, graceMs = 3000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** `child` is stopped if the bench is interrupted; the returned function stops it now. */
export function supervise(child, graceMs = 3000) {
  const forget = undoOnInterrupt(() => stopChild(child, graceMs));
  child.once("exit", () => forget());
  return async () => {
    forget();
    await stopChild(child, graceMs);
  };
}

/**
 * A fresh directory (mkdtemp of `prefix`), removed by remove() or if the bench is interrupted;
 * with `keep` (a bench's --keep), left in place either way.
 */
export function scratchDir(prefix, { keep = false } = {}) {
  const path = mkdtempSync(prefix);
  const removeNow = () => rmSync(path, { recursive: true, force: true });
  const forget = keep ? () => {} : undoOnInterrupt(removeNow);
  return {
    path,
    remove() {
      forget();
      if (!keep) removeNow();
    },
  };
}

/**
 * A built-in server in a child Node process, so that it shares no event loop with the bench's
 * clients. `code` (an ES module) starts it, writes {"port": N} and a newline to stdout, and
 * closes it on SIGTERM. Stopped if the bench is interrupted.
 */
export async function startServerChild(label, code) {
  const child = spawn(process.execPath, ["--input-type=module", "-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  const stop = supervise(child);
  const port = await new Promise((resolve, reject) => {
    child.once("exit", (c) => reject(new Error(`${label} exited early (${c})`)));
    child.stdout.once("data", (line) => resolve(JSON.parse(String(line)).port));
  });
  return { port, stop, pid: child.pid };
}

/** execFile as a promise (stdout, stderr), the command stopped if the bench is interrupted. */
export function execSupervised(file, args, options) {
  const pending = execFileAsync(file, args, options);
  supervise(pending.child);
  return pending;
}

/**
 * Runs a command to its end, its stdout collected and its stderr passed through, whatever
 * its exit status (`bootproof run` exits 1 for a fail, which is a result, not an error).
 * Unlike spawnSync, the bench keeps its event loop meanwhile, so a SIGINT or SIGTERM to the
 * bench reaches its undo steps at once and stops the command (after `graceMs`, for one that
 * has its own guests and servers to stop). `discardStdout`: stdout goes straight to /dev/null
 * instead (a reader whose output is thrown away: a pipe into the bench would add a copy).
 */
export function spawnSupervised(file, args, { graceMs = 3000, discardStdout = false } = {}) {
  const devNull = discardStdout ? openSync("/dev/null", "w") : undefined;
  let child;
  try {
    child = spawn(file, args, { stdio: ["ignore", devNull ?? "pipe", "inherit"] });
  } finally {
    if (devNull !== undefined) closeSync(devNull);
  }
  supervise(child, graceMs);
  const chunks = [];
  child.stdout?.on("data", (chunk) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (status, signal) => resolve({ status, signal, stdout: Buffer.concat(chunks).toString("utf8") }));
  });
}

/** `child` started; `ready()` must resolve, else the child is stopped and the error passed on. */
export async function superviseUntilReady(child, ready) {
  const stop = supervise(child);
  try {
    await ready();
  } catch (error) {
    await stop();
    throw error;
  }
  return stop;
}
