// Copy-on-write exports: cases share one read-only base tree; each case's export starts as a
// copy of it, its changes stay in its own upper directory, the base is never written, and
// handles survive the copy-up (and a server restart).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startNfsServer } from "../../../harness/nfs/index.js";
import { NfsTestClient, Proc } from "./client.js";

const scratch = mkdtempSync(join(tmpdir(), "bootproof-nfs-cow-"));
const base = join(scratch, "base");
mkdirSync(join(base, "etc"), { recursive: true });
writeFileSync(join(base, "etc", "hostname"), "base-host\n");
writeFileSync(join(base, "big.bin"), Buffer.alloc(3 * 1024 * 1024, 7));
symlinkSync("etc/hostname", join(base, "hostname-link"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function caseExport(name: string) {
  const upper = join(scratch, name);
  mkdirSync(upper, { recursive: true });
  const server = await startNfsServer({ exports: [{ root: upper, base }] });
  const client = await NfsTestClient.connect(server.port);
  const root = await client.mount("/export");
  return { upper, server, client, root };
}

describe("copy-on-write NFS exports", () => {
  it("reads the base, keeps writes in the case's upper tree, and never writes the base", async () => {
    const a = await caseExport("case-a");
    const b = await caseExport("case-b");
    const etcA = (await a.client.lookup(a.root, "etc")).handle!;
    const host = (await a.client.lookup(etcA, "hostname")).handle!;
    expect((await a.client.read(host, 0, 100)).data?.toString()).toBe("base-host\n");
    expect((await a.client.write(host, 0, Buffer.from("case"), 2)).status).toBe(0);
    // The same handle, after the copy-up: the case's content, the base's rest.
    expect((await a.client.read(host, 0, 100)).data?.toString()).toBe("case-host\n");
    expect(readFileSync(join(base, "etc", "hostname"), "utf8")).toBe("base-host\n");
    // Another case over the same base sees the base.
    const etcB = (await b.client.lookup(b.root, "etc")).handle!;
    const hostB = (await b.client.lookup(etcB, "hostname")).handle!;
    expect((await b.client.read(hostB, 0, 100)).data?.toString()).toBe("base-host\n");
    // Removing in one case removes nothing from the base or the other case.
    const removed = await a.client.nfs(Proc.REMOVE, (w) => w.opaque(a.root).string("big.bin"));
    expect(removed.body.uint32()).toBe(0);
    expect(readFileSync(join(base, "big.bin")).length).toBe(3 * 1024 * 1024);
    const big = (await b.client.lookup(b.root, "big.bin")).handle!;
    const read = await b.client.read(big, 2 * 1024 * 1024, 16);
    expect(read.data).toEqual(Buffer.alloc(16, 7));
    // A symlink of the base is a symlink in the case.
    expect((await b.client.lookup(b.root, "hostname-link")).type).toBe(5);
    for (const c of [a, b]) {
      c.client.close();
      await c.server.close();
    }
  });

  it("a restarted server over the same upper tree knows which files still read the base", async () => {
    const first = await caseExport("case-restart");
    const etc = (await first.client.lookup(first.root, "etc")).handle!;
    const host = (await first.client.lookup(etc, "hostname")).handle!;
    first.client.close();
    await first.server.close();
    const again = await startNfsServer({ exports: [{ root: first.upper, base }] });
    const client = await NfsTestClient.connect(again.port);
    await client.mount("/export");
    expect((await client.read(host, 0, 100)).data?.toString()).toBe("base-host\n");
    client.close();
    await again.close();
  });
});
