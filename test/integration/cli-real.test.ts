// The real-driver path leaves nothing behind: no QEMU, no Nova or libvirt worker, no temp
// dir, whether the run passes, fails, times out, is interrupted (SIGINT, SIGTERM), is killed
// (SIGKILL: the kernel's pdeathsig ends the children), or a worker dies mid-request (an
// infra-error naming the worker and the request).
import { readFileSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { processesWithTmpdir, waitFor } from "./processes.js";

const BIN = resolve("bin/bootproof");
const scratch = join(tmpdir(), `bp-cli-real-${process.pid}`);
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function freshTmp(name: string): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

const start = (args: string[], tmp: string) =>
  execa(BIN, [...args, "--artifacts", join(tmp, "artifacts")], {
    reject: false,
    env: { TMPDIR: tmp, CI: "true" },
    timeout: 300_000,
  });

const EXAMPLE = ["run", "nova-rescue", "--driver", "real", "--example", "virtio-root-virtio-rescue-seabios-pc"];

async function expectNothingLeft(tmp: string, allowTempDirs = false): Promise<void> {
  const left = await waitFor(
    () => processesWithTmpdir(tmp),
    (p) => p.length === 0,
    5_000,
  );
  expect(left.map((p) => p.command)).toEqual([]);
  if (!allowTempDirs) expect((await readdir(tmp)).filter((e) => e.startsWith("bootproof-"))).toEqual([]);
}

/** Starts the example and waits until QEMU (libvirt's command line) runs the normal boot. */
async function startedGuest(name: string) {
  const tmp = await freshTmp(name);
  const child = start(EXAMPLE, tmp);
  const running = await waitFor(
    () => processesWithTmpdir(tmp).map((p) => p.command),
    (commands) => commands.some((c) => c.includes("qemu-system") && c.includes("guest=instance-00000001")),
    120_000,
  );
  // The Nova worker, the libvirt worker and QEMU are all up.
  expect(running.some((c) => c.includes("nova_worker.py"))).toBe(true);
  expect(running.some((c) => c.includes("libvirt_worker.py"))).toBe(true);
  await sleep(1_500);
  return { tmp, child };
}

describe("bootproof run nova-rescue --driver real: no orphan, ever", () => {
  it("a failing case (real Nova's defect) exits 1 and leaves nothing", async () => {
    const tmp = await freshTmp("fail");
    const result = await start(EXAMPLE, tmp);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/P7-every-device-kept: virtio-balloon/);
    expect(result.stdout).toMatch(/replay: npx bootproof replay /);
    await expectNothingLeft(tmp);
  }, 300_000);

  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)(
    "%s mid-boot stops QEMU and both workers and removes the temp dirs",
    async (signal, code) => {
      const { tmp, child } = await startedGuest(signal);
      child.kill(signal);
      const result = await child;
      expect(result.exitCode).toBe(code);
      await expectNothingLeft(tmp);
    },
    300_000,
  );

  it("SIGKILL of bootproof itself takes QEMU and the workers with it (pdeathsig)", async () => {
    const { tmp, child } = await startedGuest("sigkill");
    child.kill("SIGKILL");
    await child;
    // No handler runs on SIGKILL, so temp dirs may stay; processes must not.
    await expectNothingLeft(tmp, true);
  }, 300_000);

  it("a Nova worker killed in the middle of a request is an infra-error naming it, and nothing is left", async () => {
    const tmp = await freshTmp("worker-killed");
    // A generated run sweeps 500 inputs through the Nova worker before any guest starts.
    const child = start(["run", "nova-rescue", "--driver", "real", "--runs", "1", "--seed", "1"], tmp);
    const worker = await waitFor(
      () => processesWithTmpdir(tmp).find((p) => p.command.includes("nova_worker.py")),
      (p) => p !== undefined,
      60_000,
    );
    expect(worker).toBeDefined();
    await sleep(4_000); // past its start-up: it is answering the sweep's requests now
    // Between two requests the worker waits on its pipe (state S) while the libvirt worker and
    // the properties run; a worker that dies then is restarted for the next request, rightly.
    // Kill it while it is computing (state R): inside a request.
    await waitFor(
      () => readFileSync(`/proc/${worker!.pid}/stat`, "utf8").replace(/^.*\) /, "")[0],
      (state) => state === "R",
      60_000,
    );
    process.kill(worker!.pid, "SIGKILL");
    const result = await child;
    expect(result.exitCode).toBe(2);
    expect(`${result.stdout}${result.stderr}`).toMatch(
      // On a slow machine the kill can land while Nova still imports: the first request is
      // waiting for it either way, and the error names that request.
      /the nova worker \(request 'domains'\) killed by SIGKILL (while handling the request|before it was ready)/,
    );
    await expectNothingLeft(tmp);
  }, 300_000);

  it("a boot past its deadline is a timeout (exit 2) and leaves nothing", async () => {
    const tmp = await freshTmp("timeout");
    const result = await start([...EXAMPLE, "--deadline", "2"], tmp);
    expect(result.exitCode).toBe(2);
    expect(result.stdout).toMatch(/^TIME\s+example-virtio-root-virtio-rescue-seabios-pc/m);
    expect(result.stdout).toMatch(/reached: \w+ after/);
    await expectNothingLeft(tmp);
  }, 300_000);

  it("names a wrong --nova-src and its fix (exit 2) before starting anything", async () => {
    const tmp = await freshTmp("nova-src");
    const result = await start(
      ["run", "nova-rescue", "--driver", "real", "--nova-src", tmp, "--example", "floppy-rescue-seabios"],
      tmp,
    );
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/input error: --nova-src '.*' has no nova\/__init__\.py/);
    await expectNothingLeft(tmp);
  }, 60_000);
});

describe("bootproof run ironic-iscsi --driver real: no orphan, ever", () => {
  const IRONIC = ["run", "ironic-iscsi", "--driver", "real", "--example", "bios-chap-extra-volume"];

  it("a passing real-Ironic boot exits 0 and leaves no QEMU, Ironic worker, relay or server", async () => {
    const tmp = await freshTmp("ironic-pass");
    const result = await start(IRONIC, tmp);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^PASS\s+example-bios-chap-extra-volume/m);
    // The CHAP secrets went to the target and into Ironic's script, never to the terminal.
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/s3cret-for-node|data-s3cret-22/);
    await expectNothingLeft(tmp);
  }, 300_000);

  it("SIGINT while the guest holds two iSCSI sessions through the relays stops everything", async () => {
    const tmp = await freshTmp("ironic-sigint");
    const child = start(IRONIC, tmp);
    const running = await waitFor(
      () => processesWithTmpdir(tmp).map((p) => p.command),
      (commands) => commands.filter((c) => c.includes("tcp_relay.py")).length >= 2,
      120_000,
    );
    expect(running.some((c) => c.includes("ironic_worker.py"))).toBe(true);
    expect(running.some((c) => c.includes("qemu-system"))).toBe(true);
    child.kill("SIGINT");
    const result = await child;
    expect(result.exitCode).toBe(130);
    await expectNothingLeft(tmp);
  }, 300_000);

  it("an Ironic worker killed mid-sweep is an infra-error naming it (exit 2), and nothing is left", async () => {
    const tmp = await freshTmp("ironic-worker-killed");
    const child = start(["run", "ironic-iscsi", "--driver", "real", "--runs", "1", "--seed", "1"], tmp);
    const worker = await waitFor(
      () => processesWithTmpdir(tmp).find((p) => p.command.includes("ironic_worker.py")),
      (p) => p !== undefined,
      60_000,
    );
    await sleep(4_000);
    process.kill(worker!.pid, "SIGKILL");
    const result = await child;
    expect(result.exitCode).toBe(2);
    expect(`${result.stdout}${result.stderr}`).toMatch(/the ironic worker \(request 'decide'\) killed by SIGKILL/);
    await expectNothingLeft(tmp);
  }, 300_000);
});
