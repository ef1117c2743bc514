// bootproof's NFSv3 server over real TCP: mounting and reading, the handles and names that try
// to leave an export, read-only exports, fault hooks, and thousands of malformed records that
// must not crash the server or disturb another client.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { rename, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Nfs3Status, type NfsServer, startNfsServer } from "../../../harness/nfs/index.js";
import { XdrWriter } from "../../../harness/nfs/xdr.js";
import { MOUNT, NFS, NfsTestClient, PORTMAP, Proc } from "./client.js";

const scratch = mkdtempSync(join(tmpdir(), "bootproof-nfs-"));
const rw = join(scratch, "rw");
const ro = join(scratch, "ro");
let server: NfsServer;
let client: NfsTestClient;
let root: Buffer;

beforeAll(async () => {
  mkdirSync(join(rw, "dir"), { recursive: true });
  mkdirSync(ro, { recursive: true });
  writeFileSync(join(rw, "hello.txt"), "hello from the export\n");
  writeFileSync(join(ro, "base.txt"), "read-only base\n");
  mkdirSync(join(scratch, "outside"));
  writeFileSync(join(scratch, "outside", "secret"), "not for clients\n");
  symlinkSync(join(scratch, "outside", "secret"), join(rw, "escape"));
  server = await startNfsServer({
    exports: [{ root: rw }, { root: ro, path: "/base", readOnly: true }],
    faults: [
      { procedure: "READLINK", nth: 1, times: 1000, action: { kind: "status", status: "JUKEBOX" } },
      { procedure: "FSSTAT", nth: 1, times: 1000, action: { kind: "drop-connection" } },
    ],
  });
  client = await NfsTestClient.connect(server.port);
  root = await client.mount("/export");
});

afterAll(async () => {
  client.close();
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("bootproof's NFSv3 server", () => {
  it("binds loopback on an ephemeral port and gives a libnfs URL with its ports", () => {
    expect(server.host).toBe("127.0.0.1");
    expect(server.url()).toBe(`nfs://127.0.0.1/export?version=3&nfsport=${server.port}&mountport=${server.port}`);
  });

  it("answers the port mapper for its programs on its own port", async () => {
    const reply = await client.call(PORTMAP, 2, 3, (w) => w.uint32(NFS).uint32(3).uint32(6).uint32(0));
    expect(reply.body.uint32()).toBe(server.port);
    const none = await client.call(PORTMAP, 2, 3, (w) => w.uint32(100021).uint32(4).uint32(6).uint32(0));
    expect(none.body.uint32()).toBe(0);
    const v4 = await client.call(PORTMAP, 4, 3, (w) => w.uint32(MOUNT).uint32(3).string("tcp").string("").string(""));
    expect(v4.body.string(64)).toBe(`127.0.0.1.${server.port >> 8}.${server.port & 0xff}`);
  });

  it("mounts an export, looks up and reads a file", async () => {
    const file = await client.lookup(root, "hello.txt");
    expect(file.status).toBe(Nfs3Status.OK);
    const read = await client.read(file.handle!, 0, 4096);
    expect(read).toMatchObject({ status: 0, eof: true });
    expect(read.data?.toString()).toBe("hello from the export\n");
  });

  it("refuses to mount a path outside every export, or climbing with ..", async () => {
    await expect(client.mount("/etc")).rejects.toThrow(/status 2/);
    await expect(client.mount("/export/../etc")).rejects.toThrow(/status 13/);
    expect((await client.mount("/export/dir")).length).toBe(24);
  });

  it("keeps .. of the root at the root, and refuses names that nest or carry NUL", async () => {
    const parent = await client.lookup(root, "..");
    expect(parent.handle).toEqual(root);
    expect((await client.lookup(root, "dir/../../..")).status).toBe(Nfs3Status.INVAL);
    expect((await client.lookup(root, "a\0b")).status).toBe(Nfs3Status.INVAL);
    expect((await client.lookup(root, "x".repeat(300))).status).toBe(Nfs3Status.NAMETOOLONG);
  });

  it("returns a symlink as a symlink and never follows it on the client's behalf", async () => {
    const link = await client.lookup(root, "escape");
    expect(link).toMatchObject({ status: 0, type: 5 });
    expect((await client.read(link.handle!, 0, 100)).status).toBe(Nfs3Status.INVAL);
    expect((await client.lookup(link.handle!, "secret")).status).toBe(Nfs3Status.NOTDIR);
  });

  it("refuses a directory that was replaced by a symlink leading outside", async () => {
    mkdirSync(join(rw, "swap"));
    writeFileSync(join(rw, "swap", "secret"), "inside\n");
    const dir = await client.lookup(root, "swap");
    const inside = await client.lookup(dir.handle!, "secret");
    expect(inside.status).toBe(0);
    await rename(join(rw, "swap"), join(rw, "swapped"));
    await symlink(join(scratch, "outside"), join(rw, "swap"));
    // The handle follows its inode (renamed), never the new symlink.
    const read = await client.read(inside.handle!, 0, 100);
    expect(read.data?.toString()).toBe("inside\n");
    expect((await client.lookup(root, "swap")).type).toBe(5);
    await rm(join(rw, "swap"));
  });

  it("never reaches a file through a directory swapped for a symlink, even when the inode matches", async () => {
    mkdirSync(join(rw, "moved-out", "deeper"), { recursive: true });
    writeFileSync(join(rw, "moved-out", "deeper", "kept"), "was inside\n");
    const dir = await client.lookup(root, "moved-out");
    const deeper = await client.lookup(dir.handle!, "deeper");
    const kept = await client.lookup(deeper.handle!, "kept");
    expect(await client.getattrStatus(kept.handle!)).toBe(0);
    // Moved out of the export and linked back: the path the server knows ("moved-out/deeper/kept")
    // now leads through a symlink to the same inode outside.
    await rename(join(rw, "moved-out"), join(scratch, "outside", "moved-out"));
    await symlink(join(scratch, "outside", "moved-out"), join(rw, "moved-out"));
    expect(await client.getattrStatus(kept.handle!)).toBe(Nfs3Status.STALE);
    expect((await client.lookup(deeper.handle!, "kept")).status).not.toBe(0);
    // A symlink that stays inside the export is still followed to the same inode.
    await rm(join(rw, "moved-out"));
    await rename(join(scratch, "outside", "moved-out"), join(rw, "moved-in"));
    await symlink("moved-in", join(rw, "moved-out"));
    expect(await client.getattrStatus(kept.handle!)).toBe(0);
    await rm(join(rw, "moved-out"));
    await rm(join(rw, "moved-in"), { recursive: true });
  });

  it("answers forged handles BADHANDLE and handles of removed files STALE", async () => {
    expect(await client.getattrStatus(Buffer.alloc(24, 7))).toBe(Nfs3Status.BADHANDLE);
    const made = await client.create(root, "short-lived");
    await rm(join(rw, "short-lived"));
    expect(await client.getattrStatus(made)).toBe(Nfs3Status.STALE);
    // A handle of one export rewritten to name the other: the file is not in that export.
    const base = await client.mount("/base");
    const forged = Buffer.from((await client.lookup(root, "hello.txt")).handle!);
    base.copy(forged, 4, 4, 8);
    expect(await client.getattrStatus(forged)).toBe(Nfs3Status.STALE);
  });

  it("refuses every change on a read-only export with ROFS", async () => {
    const base = await client.mount("/base");
    const file = await client.lookup(base, "base.txt");
    expect((await client.write(file.handle!, 0, Buffer.from("x"), 2)).status).toBe(Nfs3Status.ROFS);
    const reply = await client.nfs(Proc.REMOVE, (w) => w.opaque(base).string("base.txt"));
    expect(reply.body.uint32()).toBe(Nfs3Status.ROFS);
    expect((await client.read(file.handle!, 0, 100)).data?.toString()).toBe("read-only base\n");
  });

  it("writes, commits with a stable verifier, and reads back past 4 GiB", async () => {
    const file = await client.create(root, "big");
    const at = 5 * 1024 ** 3;
    const wrote = await client.write(file, at, Buffer.from("far away"), 0);
    expect(wrote).toMatchObject({ status: 0, count: 8, committed: 0 });
    const commit = await client.commit(file);
    expect(commit.verifier).toEqual(wrote.verifier);
    expect((await client.read(file, at, 100)).data?.toString()).toBe("far away");
  });

  it("injects a chosen status and drops a connection when a fault rule says so", async () => {
    const link = await client.lookup(root, "escape");
    const reply = await client.nfs(Proc.READLINK, (w) => w.opaque(link.handle!));
    expect(reply.body.uint32()).toBe(Nfs3Status.JUKEBOX);
    const other = await NfsTestClient.connect(server.port);
    await expect(other.call(NFS, 3, Proc.FSSTAT, (w) => w.opaque(root), 1_000)).rejects.toThrow(/no reply/);
    expect(other.closed).toBe(true);
    // The first client's session is untouched.
    expect(await client.getattrStatus(root)).toBe(0);
  });

  it("answers an unknown program, version and procedure as RPC says", async () => {
    expect((await client.call(100099, 1, 0)).acceptStat).toBe(1); // PROG_UNAVAIL
    expect((await client.call(NFS, 4, 0)).acceptStat).toBe(2); // PROG_MISMATCH
    expect((await client.call(NFS, 3, 99)).acceptStat).toBe(3); // PROC_UNAVAIL
    expect((await client.call(NFS, 3, Proc.GETATTR, (w) => w.uint32(3))).acceptStat).toBe(4); // GARBAGE_ARGS
  });

  it("survives 10 000 malformed and truncated records while another client keeps its session", async () => {
    const valid = (procedure: number) => {
      const w = new XdrWriter().uint32(77).uint32(0).uint32(2).uint32(NFS).uint32(3).uint32(procedure);
      // Well-formed calls may be valid ones (REMOVE, RENAME...): they aim at a file of their own.
      w.uint32(0).uint32(0).uint32(0).uint32(0).opaque(root).string("fuzz-target");
      return Buffer.from(w.bytes());
    };
    const records = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
        fc.record({ p: fc.integer({ min: 0, max: 25 }), cut: fc.nat() }).map(({ p, cut }) => {
          const full = valid(p);
          return full.subarray(0, cut % (full.length + 1));
        }),
        fc
          .record({ p: fc.integer({ min: 0, max: 25 }), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) })
          .map(({ p, at, byte }) => {
            const full = Buffer.from(valid(p));
            full[at % full.length] = byte;
            return full;
          }),
      ),
      { seed: 42, numRuns: 10_000 },
    );
    let attacker = await NfsTestClient.connect(server.port);
    for (const [index, record] of records.entries()) {
      if (attacker.closed) attacker = await NfsTestClient.connect(server.port);
      const header = Buffer.alloc(4);
      // Mostly well-framed records; every 50th has a frame header claiming a huge record.
      header.writeUInt32BE(index % 50 === 49 ? 0xffffffff : (0x80000000 | record.length) >>> 0);
      attacker.sendRaw(Buffer.concat([header, record]));
      if (index % 500 === 0) expect(await client.getattrStatus(root)).toBe(0);
    }
    attacker.close();
    expect(await client.getattrStatus(root)).toBe(0);
    const file = await client.lookup(root, "hello.txt");
    expect((await client.read(file.handle!, 0, 100)).data?.toString()).toBe("hello from the export\n");
  }, 60_000);
});
