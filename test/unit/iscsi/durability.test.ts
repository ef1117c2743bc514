// Crash durability: a target in a child process acknowledges writes + SYNCHRONIZE CACHE (and
// a FUA write); we SIGKILL it the moment the acknowledgement arrives, start a new target on
// the same file and read everything back.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cdb, TestInitiator } from "./initiator.js";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const IQN = "iqn.2024-01.org.bootproof.test:durable";
const children: ChildProcess[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootproof-iscsi-durable-"));

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  fs.rmSync(dir, { recursive: true, force: true });
});

async function spawnTarget(file: string): Promise<{ child: ChildProcess; port: number }> {
  const spec = { port: 0, targets: [{ iqn: IQN, luns: [{ lun: 0, backend: { kind: "file", path: file } }] }] };
  // `node --import tsx` keeps the target in this one process: the tsx CLI would put a wrapper
  // in between, and SIGKILL to the wrapper would leave the real target running.
  const child = spawn(
    process.execPath,
    ["--import", "tsx", path.join(ROOT, "harness/iscsi/standalone.ts"), JSON.stringify(spec)],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.push(child);
  let err = "";
  child.stderr!.on("data", (d) => {
    err += d;
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const t = setTimeout(() => reject(new Error(`target did not start in 20 s: ${err}`)), 20_000);
    child.stdout!.on("data", (d) => {
      out += d;
      const line = out.split("\n").find((l) => l.includes('"listening"'));
      if (line) {
        clearTimeout(t);
        resolve(JSON.parse(line).listening.port);
      }
    });
    child.once("exit", (code) => reject(new Error(`target exited with ${code}: ${err}`)));
  });
  return { child, port };
}

const killed = (c: ChildProcess) =>
  new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once("exit", () => r())));

describe("crash durability of the file backend", () => {
  it("loses no acknowledged write when the target is killed -9 right after SYNCHRONIZE CACHE / FUA", async () => {
    const file = path.join(dir, "disk.img");
    fs.writeFileSync(file, Buffer.alloc(16 << 20));
    const synced = randomBytes(256 * 512);
    const fua = randomBytes(16 * 512);

    const first = await spawnTarget(file);
    const ini = await TestInitiator.connect(first.port);
    expect((await ini.login({ target: IQN })).statusClass).toBe(0);
    // A FUA write is durable on its own; the bulk write becomes durable with SYNCHRONIZE CACHE.
    expect((await ini.scsi(0, cdb.write10(5000, 16, 0x08), { write: fua })).status).toBe(0);
    expect((await ini.scsi(0, cdb.write10(1000, 256), { write: synced })).status).toBe(0);
    const syncDone = await ini.scsi(0, cdb.sync10());
    first.child.kill("SIGKILL"); // the instant the acknowledgement arrived
    expect(syncDone.status).toBe(0);
    await killed(first.child);
    expect(first.child.signalCode).toBe("SIGKILL");
    // The killed process really was the target: its connection is gone.
    await expect(ini.recv(2000)).rejects.toThrow(/closed/);
    ini.close();

    const second = await spawnTarget(file);
    const reader = await TestInitiator.connect(second.port);
    expect((await reader.login({ target: IQN })).statusClass).toBe(0);
    expect((await reader.scsi(0, cdb.read10(1000, 256), { read: synced.length })).data.equals(synced)).toBe(true);
    expect((await reader.scsi(0, cdb.read10(5000, 16), { read: fua.length })).data.equals(fua)).toBe(true);
    reader.close();
    second.child.kill("SIGTERM");
    await killed(second.child);
  }, 60_000);
});
