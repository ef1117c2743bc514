// The streaming paths: records read as the pieces they arrived in (a WRITE's payload is never
// joined), and the read-ahead for large sequential READs, which must never answer with data
// the file no longer holds.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type NfsServer, startNfsServer } from "../../../harness/nfs/index.js";
import { ReadAhead } from "../../../harness/nfs/read-ahead.js";
import { XdrReader, XdrWriter } from "../../../harness/nfs/xdr.js";
import { NfsTestClient, Proc } from "./client.js";

const MiB = 1024 * 1024;
const scratch = mkdtempSync(join(tmpdir(), "bootproof-nfs-stream-"));
let server: NfsServer;
let client: NfsTestClient;
let root: Buffer;

function pattern(length: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + seed) & 0xff;
  return out;
}
/** Buffer equality without element-by-element diffing of megabytes. */
const same = (a: Buffer | undefined, b: Buffer) => expect(a?.equals(b)).toBe(true);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const immediate = () => new Promise((resolve) => setImmediate(resolve));

beforeAll(async () => {
  writeFileSync(join(scratch, "big.bin"), pattern(4 * MiB, 1));
  writeFileSync(join(scratch, "other.bin"), pattern(4 * MiB, 2));
  server = await startNfsServer({ exports: [{ root: scratch }] });
  client = await NfsTestClient.connect(server.port);
  root = await client.mount("/export");
  // Files changed in the last moments are not read ahead: let these settle.
  await sleep(120);
});

afterAll(async () => {
  client.close();
  await server.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("XdrReader over a record's pieces", () => {
  it("reads fields that straddle pieces, and hands out bulk data as views of the pieces", () => {
    const payload = pattern(10, 3);
    const record = Buffer.from(
      new XdrWriter()
        .uint32(7)
        .uint64(1n << 40n)
        .opaque(payload)
        .uint32(9)
        .bytes(),
    );
    // Cut into pieces of 3 bytes: every field crosses a boundary.
    const pieces: Buffer[] = [];
    for (let at = 0; at < record.length; at += 3) pieces.push(record.subarray(at, at + 3));
    const r = new XdrReader(pieces[0]!, pieces.slice(1));
    expect(r.uint32()).toBe(7);
    expect(r.uint64()).toBe(1n << 40n);
    const parts = r.opaqueParts(100);
    same(Buffer.concat(parts), payload);
    expect(parts.length).toBeGreaterThan(1);
    // Views, not copies: the parts share memory with the record.
    expect(parts.every((p) => p.buffer === record.buffer)).toBe(true);
    expect(r.uint32()).toBe(9);
    expect(r.remaining).toBe(0);
  });

  it("refuses bulk data longer than its limit or than what is left", () => {
    const record = Buffer.from(new XdrWriter().opaque(pattern(16, 0)).bytes());
    expect(() => new XdrReader(record.subarray(0, 6), [record.subarray(6, 12)]).opaqueParts(100)).toThrow(/truncated/);
    expect(() => new XdrReader(record.subarray(0, 6), [record.subarray(6)]).opaqueParts(8)).toThrow(/exceeds/);
  });
});

describe("a WRITE that arrives in many pieces", () => {
  it("lands in the file as sent, count bytes of it", async () => {
    const file = (await client.lookup(root, "other.bin")).handle!;
    const data = pattern(MiB, 9);
    // The record by hand, sent in small pieces with pauses: the server sees many socket reads.
    const w = new XdrWriter().uint32(0xabc).uint32(0).uint32(2).uint32(100003).uint32(3).uint32(Proc.WRITE);
    w.uint32(0).uint32(0).uint32(0).uint32(0);
    w.opaque(file)
      .uint64(4096)
      .uint32(MiB - 5)
      .uint32(0)
      .opaque(data);
    const body = Buffer.from(w.bytes());
    const marker = Buffer.alloc(4);
    marker.writeUInt32BE((0x80000000 | body.length) >>> 0);
    const record = Buffer.concat([marker, body]);
    const probe = await NfsTestClient.connect(server.port);
    try {
      for (let at = 0; at < record.length; at += 200 * 1024) {
        probe.sendRaw(record.subarray(at, at + 200 * 1024));
        await sleep(5);
      }
      await sleep(50);
    } finally {
      probe.close();
    }
    const back = await client.read(file, 4096, MiB);
    expect(back.status).toBe(0);
    same(back.data?.subarray(0, MiB - 5), data.subarray(0, MiB - 5));
    // Past count: the file's old bytes.
    same(back.data?.subarray(MiB - 5, MiB), pattern(4 * MiB, 2).subarray(4096 + MiB - 5, 4096 + MiB));
  });
});

describe("a stream of UNSTABLE WRITEs (write-behind flushes it while it arrives)", () => {
  it("is in the file, every byte as sent, after its COMMIT, with the WRITEs' verifier", async () => {
    const file = await client.create(root, "stream.bin");
    const blocks = 20;
    const verifiers = new Set<string>();
    for (let i = 0; i < blocks; i++) {
      const wrote = await client.write(file, i * MiB, pattern(MiB, 100 + i), 0);
      expect(wrote.status).toBe(0);
      expect(wrote.committed).toBe(0);
      verifiers.add(String(wrote.verifier?.toString("hex")));
    }
    const commit = await client.commit(file);
    expect(commit.status).toBe(0);
    expect(verifiers).toEqual(new Set([commit.verifier?.toString("hex")]));
    const onDisk = readFileSync(join(scratch, "stream.bin"));
    expect(onDisk.length).toBe(blocks * MiB);
    for (let i = 0; i < blocks; i++) same(onDisk.subarray(i * MiB, (i + 1) * MiB), pattern(MiB, 100 + i));
  });
});

describe("an UNSTABLE WRITE is answered before its data is copied into the file", () => {
  it("has the data in the file for the next call, and says nothing of the attributes after", async () => {
    const file = await client.create(root, "early.bin");
    // A FILE_SYNC WRITE is copied and synced first: its reply has the attributes after (and
    // they are fresh in the server's cache now, 4 KiB long: they must not be answered again).
    const stable = await client.write(file, 0, pattern(4096, 42), 2);
    expect(stable).toMatchObject({ status: 0, postOp: true, count: 4096 });
    const data = pattern(MiB, 41);
    const unstable = await client.write(file, 0, data, 0);
    expect(unstable).toMatchObject({ status: 0, postOp: false, count: MiB });
    const read = await client.read(file, 0, MiB);
    expect(read.count).toBe(MiB);
    same(read.data, data);
    expect(read.eof).toBe(true);
    // Past the 4 KiB the attributes cached before said: only the copy's length counts.
    const tail = await client.read(file, MiB / 2, 4096);
    same(tail.data, data.subarray(MiB / 2, MiB / 2 + 4096));
    expect(readFileSync(join(scratch, "early.bin")).length).toBe(MiB);
    // GETATTR: status, then fattr3's type, mode, nlink, uid, gid and size.
    const attrs = (await client.nfs(Proc.GETATTR, (w) => w.opaque(file))).body;
    expect(attrs.uint32()).toBe(0);
    attrs.fixed(20);
    expect(attrs.uint64()).toBe(BigInt(MiB));
    expect((await client.commit(file)).status).toBe(0);
  });

  it("refuses a WRITE past 2^53 with FBIG before any reply claims it", async () => {
    const file = await client.create(root, "far.bin");
    const far = await client.nfs(Proc.WRITE, (w) =>
      w
        .opaque(file)
        .uint64(2n ** 60n)
        .uint32(16)
        .uint32(0)
        .opaque(Buffer.alloc(16)),
    );
    expect(far.body.uint32()).toBe(27);
    expect((await client.commit(file)).status).toBe(0);
  });
});

describe("read-ahead", () => {
  /**
   * Runs `body` on a settled 4 MiB file read sequentially twice (0 and 1 MiB), so that a
   * read-ahead of 2 MiB is due; `pool` holds the buffers given back. Closes the file after.
   */
  async function followed(
    name: string,
    seed: number,
    body: (f: { path: string; file: FileHandle; pool: Buffer[]; ahead: ReadAhead }) => Promise<void>,
  ): Promise<void> {
    const path = join(scratch, name);
    writeFileSync(path, pattern(4 * MiB, seed));
    await sleep(120);
    const file = await open(path, "r");
    const pool: Buffer[] = [];
    const ahead = new ReadAhead({ take: (n) => Buffer.alloc(n), give: (b) => void pool.push(b) });
    try {
      ahead.served(1n, file, 0, MiB, MiB, BigInt(4 * MiB));
      ahead.served(1n, file, MiB, MiB, MiB, BigInt(4 * MiB));
      await body({ path, file, pool, ahead });
    } finally {
      await file.close();
    }
  }

  it("reads the next block of a sequential stream and drops it when the file changes", async () => {
    await followed("ahead.bin", 5, async ({ path, file, pool, ahead }) => {
      await ahead.settled();
      const hit = await ahead.take(1n, file, 2 * MiB, MiB);
      expect(hit?.bytes).toBe(MiB);
      same(hit?.data.subarray(0, MiB), pattern(4 * MiB, 5).subarray(2 * MiB, 3 * MiB));

      // The stream goes on; the file changes behind the server's back before the next READ.
      ahead.served(1n, file, 2 * MiB, MiB, MiB, BigInt(4 * MiB));
      await ahead.settled();
      const writer = await open(path, "r+");
      writeSync(writer.fd, Buffer.alloc(16, 0xee), 0, 16, 3 * MiB);
      await writer.close();
      expect(await ahead.take(1n, file, 3 * MiB, MiB)).toBeUndefined();
      await immediate();
      expect(pool.length).toBe(1);
    });
  });

  it("drops a block whose file changed after the READ's attributes were taken, before it was read", async () => {
    await followed("snapshot.bin", 9, async ({ path, file, pool, ahead }) => {
      await ahead.settled();
      const hit = await ahead.take(1n, file, 2 * MiB, MiB);
      expect(hit?.bytes).toBe(MiB);
      // The READ's attributes are the next block's snapshot; the file changes behind the
      // server's back before the read-ahead (scheduled, not started) reads the block.
      ahead.served(1n, file, 2 * MiB, MiB, MiB, BigInt(4 * MiB), hit?.stats);
      const writer = openSync(path, "r+");
      writeSync(writer, Buffer.alloc(16, 0xee), 0, 16, 3 * MiB);
      closeSync(writer);
      await ahead.settled();
      expect(await ahead.take(1n, file, 3 * MiB, MiB)).toBeUndefined();
      expect(pool.length).toBe(1);
    });
  });

  it("has a READ that arrives while its block is being read wait for that read", async () => {
    await followed("waited.bin", 8, async ({ file, pool, ahead }) => {
      await immediate();
      // The read-ahead of 2 MiB is on the thread pool: it cannot have completed yet.
      const pending = ahead.take(1n, file, 2 * MiB, MiB);
      expect(pending).toBeInstanceOf(Promise);
      const hit = await pending;
      expect(hit?.bytes).toBe(MiB);
      same(hit?.data.subarray(0, MiB), pattern(4 * MiB, 8).subarray(2 * MiB, 3 * MiB));
      // A READ of another offset does not wait.
      ahead.served(1n, file, 2 * MiB, MiB, MiB, BigInt(4 * MiB));
      await immediate();
      expect(ahead.take(1n, file, 0, MiB)).toBeUndefined();
      await ahead.settled();
      expect(pool.length).toBe(0);
    });
  });

  it("gives back a block whose file changed here while it was being read", async () => {
    await followed("inflight.bin", 7, async ({ file, pool, ahead }) => {
      await immediate();
      // The read is on the thread pool now; a WRITE through this server drops the stream.
      ahead.forget(1n);
      await ahead.settled();
      expect(await ahead.take(1n, file, 2 * MiB, MiB)).toBeUndefined();
      expect(pool.length).toBe(1);
    });
  });

  it("does not read ahead a file that was just changed", async () => {
    const path = join(scratch, "fresh.bin");
    writeFileSync(path, pattern(4 * MiB, 6));
    const file = await open(path, "r");
    const ahead = new ReadAhead({ take: (n) => Buffer.alloc(n), give: () => {} });
    try {
      ahead.served(1n, file, 0, MiB, MiB, BigInt(4 * MiB));
      ahead.served(1n, file, MiB, MiB, MiB, BigInt(4 * MiB));
      await ahead.settled();
      expect(await ahead.take(1n, file, 2 * MiB, MiB)).toBeUndefined();
    } finally {
      await file.close();
    }
  });

  it("answers streaming READs with the file's current content after WRITEs and changes behind its back", async () => {
    const file = (await client.lookup(root, "big.bin")).handle!;
    const expected = pattern(4 * MiB, 1);
    for (const at of [0, MiB]) same((await client.read(file, at, MiB)).data, expected.subarray(at, at + MiB));
    // Through the server: a WRITE into the block that may have been read ahead.
    const written = pattern(4096, 77);
    expect((await client.write(file, 2 * MiB + 100, written, 0)).status).toBe(0);
    written.copy(expected, 2 * MiB + 100);
    same((await client.read(file, 2 * MiB, MiB)).data, expected.subarray(2 * MiB, 3 * MiB));
    // Behind its back: the next block changes on disk after the previous READ.
    await sleep(120);
    same((await client.read(file, 0, MiB)).data, expected.subarray(0, MiB));
    same((await client.read(file, MiB, MiB)).data, expected.subarray(MiB, 2 * MiB));
    await immediate();
    const handle = await open(join(scratch, "big.bin"), "r+");
    await handle.write(Buffer.alloc(64, 0x5a), 0, 64, 2 * MiB + 10);
    await handle.close();
    Buffer.alloc(64, 0x5a).copy(expected, 2 * MiB + 10);
    same((await client.read(file, 2 * MiB, MiB)).data, expected.subarray(2 * MiB, 3 * MiB));
  });
});
