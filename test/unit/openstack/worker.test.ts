// The worker infrastructure's error paths, with small throwaway Python workers that use the
// real bootproof_worker.serve (no OpenStack project imported: each starts in ~50 ms).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { workerPythonDir } from "../../../harness/openstack/python-dir.js";
import { PythonWorker, stopAllWorkers, WorkerError, type WorkerSpec, workerFor } from "../../../harness/openstack/worker.js";

const scratch = mkdtempSync(join(tmpdir(), "bootproof-worker-"));
afterEach(() => stopAllWorkers());
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const PingSchema = z.object({ pid: z.number() });
const AnySchema = z.unknown();

/** A worker script: `body` defines setup() (and whatever it needs) before serve(project, setup). */
function script(name: string, body: string, project = name): WorkerSpec {
  const path = join(scratch, `${name}.py`);
  writeFileSync(path, `${body}\n\nimport bootproof_worker\nbootproof_worker.serve(${JSON.stringify(project)}, setup)\n`);
  return { project, script: path, pythonPath: [workerPythonDir()], readyTimeoutMs: 20_000 };
}

const FAKE = `
import os, subprocess, sys, time

def boom(params):
    raise ValueError("kaboom " + str(params.get("n")))

def hang(params):
    if params.get("child"):
        child = subprocess.Popen(["sleep", "300"])
        with open(params["child"], "w") as f:
            f.write(str(child.pid))
    time.sleep(300)

def garbage(params):
    import bootproof_worker
    bootproof_worker._protocol_out.write("this is not json\\n")
    bootproof_worker._protocol_out.flush()
    time.sleep(300)

def echo(params):
    print("chatter on stdout goes to stderr")
    return params

def setup():
    return {"fake": "1.0"}, {"boom": boom, "hang": hang, "garbage": garbage, "echo": echo}
`;

function readFileSyncOrEmpty(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** True once the process is gone: kill(pid, 0) throws ESRCH (a reaped child). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Gone, or a zombie waiting for a reaper (a grandchild re-parented to a container's pid 1). */
function deadOrZombie(pid: number): boolean {
  if (gone(pid)) return true;
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8")
      .replace(/^.*\) /, "")
      .startsWith("Z");
  } catch {
    return true;
  }
}

async function until(check: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function failure(promise: Promise<unknown>): Promise<WorkerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkerError);
  return error as WorkerError;
}

describe("Python workers", () => {
  it("answers requests; stdout chatter of the worker does not reach the protocol", async () => {
    const worker = workerFor(script("fake", FAKE));
    expect(await worker.request("echo", { a: [1, "x"] }, AnySchema)).toEqual({ a: [1, "x"] });
    const { pid } = await worker.request("ping", {}, PingSchema);
    expect(pid).toBe(worker.pid);
    expect(worker.versions).toEqual({ fake: "1.0" });
  });

  it("an unexpected exception is a WorkerError naming project, method and exception type; the worker lives on", async () => {
    const worker = workerFor(script("fake", FAKE));
    const error = await failure(worker.request("boom", { n: 7 }, AnySchema));
    expect(error.project).toBe("fake");
    expect(error.method).toBe("boom");
    expect(error.pythonError?.type).toBe("builtins.ValueError");
    expect(error.message).toContain("the fake worker (request 'boom') raised an unexpected exception");
    expect(error.message).toContain("exception: builtins.ValueError: kaboom 7");
    expect(error.message).toContain('in boom\n    |     raise ValueError("kaboom "');
    const pid = worker.pid;
    expect((await worker.request("ping", {}, PingSchema)).pid).toBe(pid);
  });

  it("an unknown method is a WorkerError too", async () => {
    const error = await failure(workerFor(script("fake", FAKE)).request("nope", {}, AnySchema));
    expect(error.message).toMatch(/builtins\.LookupError: unknown method 'nope' \(known: boom, echo, garbage, hang, ping\)/);
  });

  it("a result that does not match the schema is a WorkerError naming the field", async () => {
    const error = await failure(workerFor(script("fake", FAKE)).request("echo", { pid: "x" }, PingSchema));
    expect(error.message).toMatch(/returned a result that does not match the protocol: pid: /);
  });

  it("a worker killed in the middle of a request fails it; the next request restarts the worker", async () => {
    const worker = workerFor(script("fake", FAKE));
    await worker.start();
    const first = worker.pid!;
    const pending = worker.request("hang", {}, AnySchema);
    await new Promise((r) => setTimeout(r, 200));
    process.kill(first, "SIGKILL");
    const error = await failure(pending);
    expect(error.message).toContain("the fake worker (request 'hang') killed by SIGKILL while handling the request");
    expect(error.method).toBe("hang");
    const { pid } = await worker.request("ping", {}, PingSchema);
    expect(pid).not.toBe(first);
    expect(gone(first)).toBe(true);
  });

  it("a worker killed while a process it started holds its stdout still fails the request, and takes that process along", async () => {
    const worker = workerFor(script("fake", FAKE));
    await worker.start();
    const childFile = join(scratch, "grandchild.pid");
    rmSync(childFile, { force: true });
    const pending = worker.request("hang", { child: childFile }, AnySchema);
    let grandchild = 0;
    for (let i = 0; i < 100 && grandchild === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      grandchild = Number(readFileSyncOrEmpty(childFile));
    }
    expect(grandchild).toBeGreaterThan(0);
    const started = Date.now();
    process.kill(worker.pid!, "SIGKILL"); // the worker only: its `sleep` inherited the protocol pipe
    const error = await failure(pending);
    expect(error.message).toContain("killed by SIGKILL while handling the request");
    expect(Date.now() - started).toBeLessThan(5_000);
    await until(() => deadOrZombie(grandchild), "the worker's own child to be killed with its group");
  });

  it("a worker whose imports fail reports 'failed to start' with the exception", async () => {
    const spec = script("broken", `def setup():\n    import bootproof_no_such_module\n    return {}, {}`);
    const error = await failure(workerFor(spec).request("ping", {}, PingSchema));
    expect(error.message).toContain(
      "the broken worker (request 'ping') failed to start: builtins.ModuleNotFoundError: No module named 'bootproof_no_such_module'",
    );
    expect(error.method).toBe("ping");
  });

  it("a worker that dies before serve() fails with its exit status", async () => {
    const path = join(scratch, "dies.py");
    writeFileSync(path, "import sys\nsys.exit(4)\n");
    const error = await failure(new PythonWorker({ project: "dies", script: path }).start());
    expect(error.message).toContain("the dies worker exited with status 4 before it was ready");
  });

  it("garbage instead of the ready line fails the start", async () => {
    const path = join(scratch, "noisy.py");
    writeFileSync(
      path,
      `print("hello from a module", flush=True)\n${FAKE}\nimport bootproof_worker\nbootproof_worker.serve("noisy", setup)\n`,
    );
    const worker = workerFor({ project: "noisy", script: path, pythonPath: [workerPythonDir()] });
    const error = await failure(worker.start());
    expect(error.message).toContain("the noisy worker printed something that is not its ready message: hello from a module");
    await until(() => !worker.running, "the noisy worker to be stopped");
  });

  it("garbage instead of a response fails the request and stops the worker", async () => {
    const worker = workerFor(script("fake", FAKE));
    await worker.start();
    const pid = worker.pid!;
    const error = await failure(worker.request("garbage", {}, AnySchema));
    expect(error.message).toContain("(request 'garbage') answered with a malformed or mismatched message: this is not json");
    await until(() => gone(pid), "the garbage worker to be killed");
  });

  it("a request timeout kills the worker and everything it started", async () => {
    const worker = workerFor(script("fake", FAKE));
    await worker.start();
    const pid = worker.pid!;
    const childFile = join(scratch, "child.pid");
    rmSync(childFile, { force: true });
    const error = await failure(worker.request("hang", { child: childFile }, AnySchema, 1_000));
    expect(error.message).toContain("the fake worker (request 'hang') did not answer within 1 s; it was stopped");
    await until(() => gone(pid), "the timed-out worker to be gone");
    const child = Number(readFileSync(childFile, "utf8"));
    await until(() => deadOrZombie(child), "the worker's own child to be killed with its group");
  });

  it("stopAllWorkers leaves no worker process", async () => {
    const a = workerFor(script("fake", FAKE));
    const b = workerFor(script("other", FAKE));
    await Promise.all([a.start(), b.start()]);
    const pids = [a.pid!, b.pid!];
    expect(pids.every((pid) => !gone(pid))).toBe(true);
    await stopAllWorkers();
    expect(pids.map(gone)).toEqual([true, true]);
    expect(a.running || b.running).toBe(false);
  });
});
