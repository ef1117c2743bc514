// One long-lived Python worker per OpenStack project (their global oslo.config objects
// collide in one process), speaking JSON lines over stdio: harness/openstack/python/
// bootproof_worker.py is the other side. Every message is validated here with zod; the
// TypeScript side never parses a traceback or free text.
//
// Lifetime: started lazily by the first request, reused by every case of a run, stopped by
// stopAllWorkers() at the end of the run, by the reaper on SIGINT/SIGTERM/exit, and by the
// kernel (setpriv --pdeathsig) when bootproof itself is killed. A worker that dies or
// raises an unexpected exception fails the request with a WorkerError: an infra-error that
// names the project, the request and the exception.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import * as z from "zod/mini";
import { registerCleanup, registerTempDir } from "../../emulator/reaper.js";
import "../../emulator/zod-english.js";
import { InfraError } from "../errors.js";

/** Debian's interpreter: the `python3` first on PATH here cannot import Debian's packages. */
export const DEBIAN_PYTHON = "/usr/bin/python3";
/**
 * The worker's own scratch directory (Ironic's http_root, tftp_root, image caches): created
 * and removed by this side, because a worker is stopped with SIGKILL and cannot clean up.
 */
export const WORKER_SCRATCH_ENV = "BOOTPROOF_WORKER_SCRATCH";
const SETPRIV = "/usr/bin/setpriv";
const STDERR_TAIL = 16 * 1024;

const PythonErrorSchema = z.object({ type: z.string(), message: z.string(), traceback: z._default(z.string(), "") });
export type PythonError = z.infer<typeof PythonErrorSchema>;

const ReadySchema = z.union([
  z.object({
    ready: z.literal(true),
    project: z.string(),
    pid: z.number(),
    versions: z.record(z.string(), z.string()),
  }),
  z.object({ ready: z.literal(false), project: z.string(), error: PythonErrorSchema }),
]);

const ResponseSchema = z.union([
  z.object({ id: z.number(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.nullable(z.number()), ok: z.literal(false), error: PythonErrorSchema }),
]);

export interface WorkerSpec {
  /** "nova", "ironic", "sahara", "libvirt": named in every error. */
  project: string;
  /** The worker's main script (absolute path). */
  script: string;
  /** Directories put first on PYTHONPATH (a user's patched source tree, bootproof's python/). */
  pythonPath?: string[];
  env?: Record<string, string>;
  /** How long imports may take before the worker counts as hung (default 60 s). */
  readyTimeoutMs?: number;
  /** Default per-request limit (default 60 s). */
  requestTimeoutMs?: number;
  /** Run as this unprivileged user (libvirt's embedded driver, see libvirt_worker.py). */
  runAs?: { uid: number; gid: number };
}

export class WorkerError extends InfraError {
  constructor(
    message: string,
    readonly project: string,
    readonly method: string | undefined,
    readonly pythonError?: PythonError,
    readonly stderrTail?: string,
  ) {
    super(message);
    this.name = "WorkerError";
  }
}

interface Pending {
  id: number;
  method: string;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

function summarizeParams(params: unknown): string {
  const text = JSON.stringify(params) ?? "";
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export class PythonWorker {
  readonly project: string;
  private child: ChildProcess | undefined;
  private starting: Promise<void> | undefined;
  private stderr = "";
  private nextId = 1;
  private pending: Pending | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private unregister: (() => void) | undefined;
  private exitInfo: string | undefined;
  /** Versions the worker reported when it became ready (e.g. nova, libvirt). */
  versions: Record<string, string> = {};
  pid: number | undefined;

  constructor(readonly spec: WorkerSpec) {
    this.project = spec.project;
  }

  get running(): boolean {
    return this.child !== undefined && this.exitInfo === undefined;
  }

  /** Starts the worker if needed and waits for its ready line. */
  start(): Promise<void> {
    if (this.running && this.starting) return this.starting;
    this.starting = this.launch();
    return this.starting;
  }

  private launch(): Promise<void> {
    const { spec } = this;
    if (!existsSync(DEBIAN_PYTHON))
      return Promise.reject(
        new WorkerError(
          `the ${spec.project} worker needs Debian's ${DEBIAN_PYTHON}: install python3 (run \`bootproof doctor --fix\`)`,
          spec.project,
          undefined,
        ),
      );
    this.exitInfo = undefined;
    this.stderr = "";
    const pythonPath = [...(spec.pythonPath ?? []), process.env.PYTHONPATH ?? ""].filter((p) => p !== "").join(":");
    const scratch = mkdtempSync(join(tmpdir(), `bootproof-${spec.project}-worker-`));
    const unregisterScratch = registerTempDir(scratch);
    const removeScratch = () => {
      rmSync(scratch, { recursive: true, force: true });
      unregisterScratch();
    };
    const env = {
      ...process.env,
      ...spec.env,
      PYTHONPATH: pythonPath,
      PYTHONDONTWRITEBYTECODE: "1",
      PYTHONUNBUFFERED: "1",
      [WORKER_SCRATCH_ENV]: scratch,
    };
    const args = ["-u", spec.script];
    const user = spec.runAs ? [`--reuid=${spec.runAs.uid}`, `--regid=${spec.runAs.gid}`, "--clear-groups"] : [];
    if (spec.runAs && !existsSync(SETPRIV))
      return Promise.reject(
        new WorkerError(
          `the ${spec.project} worker must run unprivileged, which needs ${SETPRIV} (util-linux)`,
          spec.project,
          undefined,
        ),
      );
    const [file, argv] = existsSync(SETPRIV)
      ? [SETPRIV, ["--pdeathsig", "KILL", ...user, "--", DEBIAN_PYTHON, ...args]]
      : [DEBIAN_PYTHON, args];
    // Its own process group, so a stop also reaches anything the worker started (libvirt's
    // QEMU capability probe).
    const child = spawn(file, argv, { stdio: ["pipe", "pipe", "pipe"], env, detached: true });
    this.child = child;
    this.pid = child.pid;
    child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString("utf8")).slice(-STDERR_TAIL);
    });
    child.stdin?.on("error", () => {}); // a dead worker's EPIPE surfaces as its exit
    this.unregister = registerCleanup(`${spec.project} worker ${child.pid ?? "?"}`, () => this.kill());
    const lines = createInterface({ input: child.stdout! });
    let ready: ((error?: Error) => void) | undefined;
    const readyPromise = new Promise<void>((resolve, reject) => {
      ready = (error) => (error ? reject(error) : resolve());
    });
    const readyTimer = setTimeout(() => {
      ready?.(this.failure(`did not report ready within ${(spec.readyTimeoutMs ?? 60_000) / 1000} s`, undefined));
      ready = undefined;
      this.kill();
    }, spec.readyTimeoutMs ?? 60_000);
    lines.on("line", (line) => {
      if (ready) {
        const settle = ready;
        ready = undefined;
        clearTimeout(readyTimer);
        const parsed = ReadySchema.safeParse(safeJson(line));
        if (!parsed.success) {
          settle(this.failure(`printed something that is not its ready message: ${line.slice(0, 200)}`, undefined));
          this.kill();
        } else if (!parsed.data.ready) {
          const e = parsed.data.error;
          settle(this.failure(`failed to start: ${e.type}: ${e.message}`, undefined, e));
          this.kill();
        } else {
          this.versions = parsed.data.versions;
          settle();
        }
        return;
      }
      this.onResponse(line);
    });
    // A worker that exits takes its process group with it: anything it started (a privsep
    // daemon, libvirt's probe) would otherwise keep its stdout open, and "close" below would
    // never come. If it still does not come, the pipes are closed by hand.
    child.once("exit", () => {
      this.killGroup(child);
      const closeTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, 2_000);
      closeTimer.unref();
      child.once("close", () => clearTimeout(closeTimer));
    });
    // "close", not "exit": by then stdout and stderr are drained, so the report has the
    // worker's last words.
    child.once("close", (code, signal) => {
      clearTimeout(readyTimer);
      removeScratch();
      this.exitInfo = signal ? `killed by ${signal}` : `exited with status ${code}`;
      this.unregister?.();
      this.unregister = undefined;
      this.child = undefined;
      const pending = this.pending;
      this.pending = undefined;
      if (ready) ready(this.failure(`${this.exitInfo} before it was ready`, undefined));
      ready = undefined;
      if (pending) {
        clearTimeout(pending.timer);
        pending.reject(this.failure(`${this.exitInfo} while handling the request`, pending.method));
      }
    });
    child.once("error", (error) => {
      removeScratch();
      if (ready) ready(this.failure(`could not be started: ${error.message}`, undefined));
      ready = undefined;
    });
    return readyPromise;
  }

  private failure(what: string, method: string | undefined, pythonError?: PythonError): WorkerError {
    const request = method ? ` (request '${method}')` : "";
    const tail = this.stderr.trim().split("\n").slice(-12).join("\n    | ");
    const exception = pythonError ? `\n  exception: ${pythonError.type}: ${pythonError.message}` : "";
    const trace = pythonError?.traceback
      ? `\n  traceback:\n    | ${pythonError.traceback.trim().split("\n").join("\n    | ")}`
      : "";
    return new WorkerError(
      `the ${this.project} worker${request} ${what}${exception}${trace}${tail ? `\n  worker stderr:\n    | ${tail}` : ""}`,
      this.project,
      method,
      pythonError,
      this.stderr,
    );
  }

  private onResponse(line: string): void {
    const pending = this.pending;
    const parsed = ResponseSchema.safeParse(safeJson(line));
    if (!pending) return; // a late answer to a request that already timed out; the worker is being killed
    if (!parsed.success || (parsed.data.id !== null && parsed.data.id !== pending.id)) {
      this.pending = undefined;
      clearTimeout(pending.timer);
      pending.reject(this.failure(`answered with a malformed or mismatched message: ${line.slice(0, 300)}`, pending.method));
      this.kill();
      return;
    }
    this.pending = undefined;
    clearTimeout(pending.timer);
    const response = parsed.data;
    if (response.ok) pending.resolve(response.result);
    else pending.reject(this.failure("raised an unexpected exception", pending.method, response.error));
  }

  /**
   * Sends one request and validates the result with `schema`. Requests are serialized: the
   * worker handles one at a time.
   */
  request<T>(method: string, params: unknown, schema: z.ZodMiniType<T>, timeoutMs?: number): Promise<T> {
    const run = async (): Promise<T> => {
      try {
        await this.start();
      } catch (error) {
        // Name the request that needed the worker: the first request of a run starts it.
        if (error instanceof WorkerError && error.method === undefined)
          throw new WorkerError(
            error.message.replace(`the ${this.project} worker `, `the ${this.project} worker (request '${method}') `),
            error.project,
            method,
            error.pythonError,
            error.stderrTail,
          );
        throw error;
      }
      const child = this.child;
      if (!child?.stdin) throw this.failure("is not running", method);
      const id = this.nextId++;
      const limit = timeoutMs ?? this.spec.requestTimeoutMs ?? 60_000;
      const raw = await new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.pending = undefined;
          reject(this.failure(`did not answer within ${limit / 1000} s; it was stopped`, method));
          this.kill();
        }, limit);
        this.pending = { id, method, resolve, reject, timer };
        child.stdin!.write(`${JSON.stringify({ id, method, params })}\n`);
      });
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(result)"}: ${i.message}`).join("; ");
        throw this.failure(
          `returned a result that does not match the protocol: ${issues}; params ${summarizeParams(params)}`,
          method,
        );
      }
      return parsed.data;
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Closes stdin (the worker exits by itself), then kills the group after a short grace. */
  async stop(graceMs = 2_000): Promise<void> {
    const child = this.child;
    if (!child) return;
    const gone = new Promise<void>((resolve) => child.once("close", () => resolve()));
    child.stdin?.end();
    const timer = setTimeout(() => this.kill(), graceMs);
    await gone;
    clearTimeout(timer);
    this.killGroup(child);
  }

  /** Synchronous kill of the worker's whole process group (signal and exit handlers). */
  kill(): void {
    const child = this.child;
    if (child) this.killGroup(child);
  }

  private killGroup(child: ChildProcess): void {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

const workers = new Map<string, PythonWorker>();

/** The run's worker for a spec (same project and path → same process), created lazily. */
export function workerFor(spec: WorkerSpec): PythonWorker {
  const key = JSON.stringify([spec.project, spec.script, spec.pythonPath ?? [], spec.env ?? {}]);
  let worker = workers.get(key);
  if (!worker) {
    worker = new PythonWorker(spec);
    workers.set(key, worker);
  }
  return worker;
}

/** Stops every worker of the run (end of `bootproof run`, test teardown). */
export async function stopAllWorkers(): Promise<void> {
  const all = [...workers.values()];
  workers.clear();
  await Promise.all(all.map((w) => w.stop()));
}
