// Data the server acknowledged as stable (COMMIT, or a FILE_SYNC write) survives a SIGKILL of
// the server: a new server on the same export reads it back through the old handles, and its
// write verifier is a new one, so clients know to resend what was never committed.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it } from "vitest";
import { NfsTestClient } from "./client.js";

const root = mkdtempSync(join(tmpdir(), "bootproof-nfs-kill-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

async function startChild(): Promise<{ child: ChildProcess; port: number; verifier: string }> {
  const child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "server-child.ts"), root], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`the server child exited (${code}) before it listened`)));
  });
  const [port, verifier] = line.split(" ");
  return { child, port: Number(port), verifier: verifier! };
}

describe("NFS writes acknowledged as stable survive kill -9 of the server", () => {
  it("reads back committed and FILE_SYNC data after a restart, through the old handles", async () => {
    const first = await startChild();
    const client = await NfsTestClient.connect(first.port);
    const export_ = await client.mount("/export");
    const unstable = await client.create(export_, "committed.bin");
    const synced = await client.create(export_, "synced.bin");
    const payload = Buffer.alloc(256 * 1024, 0xab);
    const wrote = await client.write(unstable, 0, payload, 0);
    expect(wrote.committed).toBe(0);
    expect((await client.commit(unstable)).verifier).toEqual(wrote.verifier);
    expect((await client.write(synced, 4096, Buffer.from("fsynced"), 2)).committed).toBe(2);
    first.child.kill("SIGKILL");
    await new Promise((resolve) => first.child.once("exit", resolve));
    client.close();

    const second = await startChild();
    expect(second.verifier).not.toBe(first.verifier);
    const again = await NfsTestClient.connect(second.port);
    await again.mount("/export");
    const back = await again.read(unstable, 0, payload.length);
    expect(back.data?.equals(payload)).toBe(true);
    expect((await again.read(synced, 4096, 100)).data?.toString()).toBe("fsynced");
    const commit = await again.commit(unstable);
    expect(commit.verifier?.toString("hex")).toBe(second.verifier);
    again.close();
    second.child.kill("SIGKILL");
  }, 60_000);
});
