// The real CLI as a user runs it: exit codes, bad input named with its fix, nothing left
// behind, and Ctrl-C mid-boot stopping QEMU and removing temp dirs.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processesWithTmpdir, waitFor } from "./processes.js";

// The launcher users run (npm's bin): a sh script that execs node.
const BIN = resolve("bin/bootproof");
const FIXTURES = resolve("test/fixtures/scenarios");
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "bp-cli-it-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

/** QEMU processes whose command line mentions `marker` (our private TMPDIR). */
function qemuProcessesMentioning(marker: string): string[] {
  try {
    return execFileSync("pgrep", ["-af", "qemu-system"], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.includes(marker));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

async function bootproof(args: string[], tmp: string) {
  return execa(BIN, args, { reject: false, env: { TMPDIR: tmp, CI: "true" }, timeout: 180_000 });
}

async function freshTmp(name: string): Promise<string> {
  const dir = join(scratch, name);
  await execa("mkdir", ["-p", dir]);
  return dir;
}

describe("bootproof CLI", () => {
  it("lists the built-in scenarios", async () => {
    const result = await bootproof(["list"], await freshTmp("list"));
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^smoke\s+/m);
  });

  it("survives a reader that has gone away (`bootproof list | head -1`)", async () => {
    // `true` exits before node has started, so every write meets a closed pipe (EPIPE).
    const result = await execa("bash", ["-o", "pipefail", "-c", `"${BIN}" list | true`], { reject: false });
    expect(result.stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(result.exitCode).toBe(0);
  });

  it.each([
    ["pci-collision.mjs", /PCI slot 5 collides with device 'first'/],
    ["unknown-device.mjs", /disks\[0\]\.kind: unknown kind; use one of: virtio-blk, scsi-hd/],
    ["missing-image.mjs", /file not found: \/nonexistent\/bootproof\/data\.img; check the path/],
  ])("rejects %s with a precise error, exit 2, nothing left behind", async (fixture, message) => {
    const tmp = await freshTmp(fixture);
    const result = await bootproof(["run", join(FIXTURES, fixture), "--artifacts", join(tmp, "artifacts")], tmp);
    expect(result.exitCode).toBe(2);
    expect(`${result.stdout}\n${result.stderr}`).toMatch(message);
    expect(qemuProcessesMentioning(tmp)).toEqual([]);
    expect((await readdir(tmp)).filter((e) => e.startsWith("bootproof-"))).toEqual([]);
  });

  it("starts node without the caller's NODE_EXTRA_CA_CERTS and gives it back to bootproof's code", async () => {
    const tmp = await freshTmp("ca-certs");
    const result = await execa(BIN, ["run", join(FIXTURES, "caller-environment.mjs"), "--print-qemu"], {
      reject: false,
      env: { TMPDIR: tmp, CI: "true", NODE_EXTRA_CA_CERTS: "/nonexistent/ca.pem" },
    });
    expect(result.exitCode).toBe(0);
    // node warns about an unreadable extra CA file only when it loads it at start-up.
    expect(result.stderr).not.toMatch(/extra certs/i);
    expect(result.stdout).toMatch(/^# ca--nonexistent-ca-pem example direct/m);
    const direct = await execa("node", ["-e", "0"], { reject: false, env: { NODE_EXTRA_CA_CERTS: "/nonexistent/ca.pem" } });
    expect(direct.stderr).toMatch(/extra certs/i); // the control: plain node does load it
  });

  it("keeps credentials out of every artifact and output, and replays a scenario file's case with its real input", async () => {
    const tmp = await freshTmp("credentials");
    const artifacts = join(tmp, "artifacts");
    const fixture = join(FIXTURES, "credential-input.mjs");
    const run = await bootproof(["run", fixture, "--artifacts", artifacts, "--junit", join(tmp, "junit.xml")], tmp);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/the real credential arrived/);
    const caseRecord = JSON.parse(await readFile(join(artifacts, "example-chap", "case.json"), "utf8"));
    expect(caseRecord).toMatchObject({ scenario: fixture, inputRedacted: true, input: { authPassword: "<redacted>" } });
    const written = await execa("grep", ["-rl", "hunter2", tmp], { reject: false });
    expect(written.stdout).toBe(""); // no file under the run's directory holds it
    expect(`${run.stdout}${run.stderr}`).not.toContain("hunter2");

    // Replay from another directory: the record names the scenario module by its path.
    const replay = await execa(BIN, ["replay", join(artifacts, "example-chap")], {
      reject: false,
      cwd: tmp,
      env: { TMPDIR: tmp, CI: "true" },
    });
    expect(replay.exitCode).toBe(1);
    expect(replay.stdout).toMatch(/the real credential arrived/);
    expect(`${replay.stdout}${replay.stderr}`).not.toContain("hunter2");
    // ...and the replay's own record replays too (the command it prints).
    const again = replay.stdout.match(/replay: npx bootproof replay (\S+)/)?.[1];
    expect(again).toBeDefined();
    const second = await execa(BIN, ["replay", again ?? ""], { reject: false, env: { TMPDIR: tmp, CI: "true" } });
    expect(second.exitCode).toBe(1);
    expect(second.stdout).toMatch(/the real credential arrived/);
  });

  it("names the scenario and the fix for an unknown scenario", async () => {
    const result = await bootproof(["run", "no-such-scenario"], await freshTmp("unknown"));
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/unknown scenario 'no-such-scenario': use one of smoke/);
  });

  it("SIGINT mid-boot stops QEMU and removes the run's temp dir", async () => {
    const tmp = await freshTmp("sigint");
    const child = execa(BIN, ["run", "smoke", "--example", "uefi-disk", "--artifacts", join(tmp, "artifacts")], {
      reject: false,
      env: { TMPDIR: tmp, CI: "true" },
    });
    // Wait until the guest is really running (its QMP socket lives in our TMPDIR).
    const deadline = Date.now() + 120_000;
    while (qemuProcessesMentioning(tmp).length === 0 && Date.now() < deadline) await sleep(100);
    expect(qemuProcessesMentioning(tmp)).toHaveLength(1);
    await sleep(2_000);
    child.kill("SIGINT");
    const result = await child;
    expect(result.exitCode).toBe(130);
    expect(qemuProcessesMentioning(tmp)).toEqual([]);
    expect((await readdir(tmp)).filter((e) => e.startsWith("bootproof-"))).toEqual([]);
  });

  // As some CI runners cancel a job: a signal to npm only, not to its process group. npm
  // forwards SIGTERM to the `sh -c` it runs, which dies of it, and npm exits; SIGKILL ends npm
  // alone. Either way bootproof is left without its launcher and must stop on its own
  // (emulator/launcher-watch.ts). SIGINT is not here: npm forwards it and the shell defers
  // it until its child exits, so nothing reaches bootproof (README "In CI").
  it.each(["SIGTERM", "SIGKILL"] as const)(
    "%s to the npx process alone stops bootproof, its guest and its temp dir",
    async (signal) => {
      const tmp = await freshTmp(`npx-${signal}`);
      // stdio ignored: a pipe would keep `await npx` waiting for bootproof, which inherits it.
      const npx = execa("npx", ["bootproof", "run", "smoke", "--example", "uefi-disk", "--artifacts", join(tmp, "artifacts")], {
        reject: false,
        stdio: "ignore",
        env: { TMPDIR: tmp, CI: "true" },
      });
      const deadline = Date.now() + 120_000;
      while (qemuProcessesMentioning(tmp).length === 0 && Date.now() < deadline) await sleep(100);
      expect(qemuProcessesMentioning(tmp)).toHaveLength(1);
      process.kill(npx.pid as number, signal);
      await npx;
      // OVMF and the kernel had seconds ahead of them: gone well before the guest could finish.
      const left = await waitFor(
        () => processesWithTmpdir(tmp),
        (p) => p.length === 0,
        4_000,
      );
      expect(left).toEqual([]);
      expect(existsSync(join(tmp, "artifacts", "summary.json"))).toBe(false);
      expect((await readdir(tmp)).filter((e) => e.startsWith("bootproof-"))).toEqual([]);
    },
  );

  it("exits 0 when every case passes and prints the case table", async () => {
    const tmp = await freshTmp("pass");
    const result = await bootproof(
      ["run", "smoke", "--example", "direct", "--artifacts", join(tmp, "artifacts"), "--junit", join(tmp, "junit.xml")],
      tmp,
    );
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^PASS\s+example-direct/m);
    expect(result.stdout).toMatch(/verdict: pass/);
  });

  it("serves an image over iSCSI standalone, demands CHAP and never prints the secret", async () => {
    const tmp = await freshTmp("serve-iscsi");
    const image = join(tmp, "lun0.img");
    await execa("truncate", ["-s", "8M", image]);
    const secret = "never-print-this-42";
    const server = execa(BIN, ["serve", "iscsi", "--lun", image, "--port", "0", "--chap", `alice:${secret}`], {
      reject: false,
      env: { CI: "true" },
    });
    let banner = "";
    server.stdout?.on("data", (chunk: Buffer) => {
      banner += chunk.toString();
    });
    const deadline = Date.now() + 20_000;
    while (!/listening on 127\.0\.0\.1:\d+/.test(banner) && Date.now() < deadline) await sleep(50);
    const port = banner.match(/127\.0\.0\.1:(\d+)/)?.[1];
    expect(port).toBeDefined();
    const url = (user: string) => `iscsi://${user}@127.0.0.1:${port}/iqn.2026-11.dev.bootproof:target/0`;
    const good = await execa("iscsi-inq", ["-i", "iqn.2026-11.dev.bootproof:test", url(`alice%${secret}`)], { reject: false });
    expect(good.stdout).toMatch(/DIRECT_ACCESS/);
    const bad = await execa("iscsi-inq", ["-i", "iqn.2026-11.dev.bootproof:test", url("alice%wrong")], { reject: false });
    expect(bad.exitCode).not.toBe(0);
    server.kill("SIGINT");
    const result = await server;
    expect(result.exitCode).toBe(130);
    expect(`${result.stdout}${result.stderr}`).toMatch(/login failed: |"login-failed"/);
    expect(`${result.stdout}${result.stderr}`).not.toContain(secret);
  });
});
