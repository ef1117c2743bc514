#!/usr/bin/env node
// NFSv3 conformance, side by side: the same operations against bootproof's server and
// nfs-ganesha 4.3 (VFS), from the host. Operations go through libnfs's tools (nfs-ls,
// nfs-cp, nfs-cat) and through bench/lib/nfs-client.mjs at the protocol level, and the bench
// prints a table of which pass on each server. An operation that passes on ganesha must
// pass on the built-in server (exit 1 otherwise).
//
// Usage: node bench/nfs-conformance.mjs   (root, after `npm run build`)
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { scratchDir } from "./lib/children.mjs";
import { NfsBenchClient, PROC, Reader, sattr, Writer } from "./lib/nfs-client.mjs";
import { startBuiltIn, startGanesha } from "./lib/nfs-servers.mjs";

const exec = promisify(execFile);
const OK = 0;
const NOTEMPTY = 66;
const STALE = 70;

async function nfs(client, proc, build) {
  const w = new Writer();
  build(w);
  return new Reader(await client.call(100003, proc, w.bytes()));
}

const name = (w, dir, n) => w.opaque(dir).opaque(Buffer.from(n));

async function create(c, dir, n) {
  const r = await nfs(c, PROC.CREATE, (w) => sattr(name(w, dir, n).u32(0), { mode: 0o644 }));
  const status = r.u32();
  if (status !== OK) throw new Error(`CREATE ${n}: ${status}`);
  r.u32();
  return Buffer.from(r.opaque());
}

async function write(c, file, offset, data, stable = 2) {
  const r = await nfs(c, PROC.WRITE, (w) => w.opaque(file).u64(offset).u32(data.length).u32(stable).opaque(data));
  const status = r.u32();
  if (status !== OK) throw new Error(`WRITE: ${status}`);
}

async function read(c, file, offset, count) {
  const r = await nfs(c, PROC.READ, (w) => w.opaque(file).u64(offset).u32(count));
  const status = r.u32();
  if (status !== OK) throw new Error(`READ: ${status}`);
  r.postOp();
  r.u32();
  r.u32();
  return Buffer.from(r.opaque());
}

async function lookup(c, dir, n) {
  const r = await nfs(c, PROC.LOOKUP, (w) => name(w, dir, n));
  const status = r.u32();
  return status === OK ? { status, handle: Buffer.from(r.opaque()), attrs: r.postOp() } : { status };
}

async function getattr(c, handle) {
  const r = await nfs(c, PROC.GETATTR, (w) => w.opaque(handle));
  const status = r.u32();
  return status === OK ? { status, ...r.fattr() } : { status };
}

const expect = (ok, what) => {
  if (!ok) throw new Error(what);
};

/** The operations: each gets a fresh client, the export's root handle and its local path. */
const OPERATIONS = {
  "create, write + fsync, read back": async ({ c, root }) => {
    const f = await create(c, root, "created.txt");
    await write(c, f, 0, Buffer.from("written and synced\n"), 2);
    expect((await read(c, f, 0, 100)).toString() === "written and synced\n", "content differs");
  },
  "unstable write + COMMIT, read back": async ({ c, root }) => {
    const f = await create(c, root, "committed.bin");
    await write(c, f, 0, Buffer.alloc(65536, 5), 0);
    const r = await nfs(c, PROC.COMMIT, (w) => w.opaque(f).u64(0).u32(0));
    expect(r.u32() === OK, "COMMIT failed");
    expect((await read(c, f, 0, 65536)).equals(Buffer.alloc(65536, 5)), "content differs");
  },
  "rename over an existing file": async ({ c, root }) => {
    const a = await create(c, root, "rename-a");
    await write(c, a, 0, Buffer.from("A"));
    const b = await create(c, root, "rename-b");
    await write(c, b, 0, Buffer.from("B"));
    const r = await nfs(c, PROC.RENAME, (w) => name(name(w, root, "rename-a"), root, "rename-b"));
    expect(r.u32() === OK, "RENAME failed");
    const now = await lookup(c, root, "rename-b");
    expect((await read(c, now.handle, 0, 10)).toString() === "A", "rename-b does not hold A");
    expect((await lookup(c, root, "rename-a")).status !== OK, "rename-a still exists");
  },
  "hard link": async ({ c, root }) => {
    const f = await create(c, root, "linked");
    const r = await nfs(c, PROC.LINK, (w) => name(w.opaque(f), root, "linked-2"));
    expect(r.u32() === OK, "LINK failed");
    expect((await getattr(c, f)).nlink === 2, "nlink is not 2");
  },
  "symlink + readlink": async ({ c, root }) => {
    const r = await nfs(c, PROC.SYMLINK, (w) => sattr(name(w, root, "a-link"), {}).opaque(Buffer.from("target/of/link")));
    expect(r.u32() === OK, "SYMLINK failed");
    const link = await lookup(c, root, "a-link");
    expect(link.attrs?.type === 5, "not a symlink");
    const rl = await nfs(c, PROC.READLINK, (w) => w.opaque(link.handle));
    expect(rl.u32() === OK, "READLINK failed");
    rl.postOp();
    expect(rl.opaque().toString() === "target/of/link", "READLINK text differs");
  },
  "readdir of 10 000 entries": async ({ c, root }) => {
    const dir = await lookup(c, root, "many");
    let cookie = 0n;
    let verifier = Buffer.alloc(8);
    let count = 0;
    for (let guard = 0; guard < 10_000; guard++) {
      const r = await nfs(c, PROC.READDIR, (w) => w.opaque(dir.handle).u64(cookie).fixed(verifier).u32(32768));
      expect(r.u32() === OK, "READDIR failed");
      r.postOp();
      verifier = Buffer.from(r.b.subarray(r.o, r.o + 8));
      r.o += 8;
      while (r.u32()) {
        r.u64();
        const n = r.opaque().toString();
        cookie = r.u64();
        if (n !== "." && n !== "..") count++;
      }
      if (r.u32()) break;
    }
    expect(count === 10_000, `listed ${count} entries`);
  },
  "truncate (SETATTR size)": async ({ c, root }) => {
    const f = await create(c, root, "truncated");
    await write(c, f, 0, Buffer.alloc(10_000, 1));
    const r = await nfs(c, PROC.SETATTR, (w) => sattr(w.opaque(f), { size: 100 }).u32(0));
    expect(r.u32() === OK, "SETATTR failed");
    expect((await getattr(c, f)).size === 100n, "size is not 100");
  },
  "chmod (SETATTR mode)": async ({ c, root }) => {
    const f = await create(c, root, "chmodded");
    const r = await nfs(c, PROC.SETATTR, (w) => sattr(w.opaque(f), { mode: 0o600 }).u32(0));
    expect(r.u32() === OK, "SETATTR failed");
    expect(((await getattr(c, f)).mode & 0o777) === 0o600, "mode is not 0600");
  },
  "offsets past 4 GiB": async ({ c, root }) => {
    const f = await create(c, root, "sparse-far");
    const at = 5 * 1024 ** 3;
    await write(c, f, at, Buffer.from("far"));
    expect((await read(c, f, at, 3)).toString() === "far", "content differs");
    expect((await getattr(c, f)).size === BigInt(at + 3), "size differs");
  },
  "two concurrent writers": async ({ c, root, port, mountPort, path }) => {
    const f = await create(c, root, "shared");
    const other = await NfsBenchClient.connect(port);
    try {
      await other.mount(mountPort, path);
      await Promise.all([
        ...Array.from({ length: 16 }, (_, i) => write(c, f, i * 8192, Buffer.alloc(4096, 1 + i), 0)),
        ...Array.from({ length: 16 }, (_, i) => write(other, f, i * 8192 + 4096, Buffer.alloc(4096, 100 + i), 0)),
      ]);
      const all = await read(c, f, 0, 16 * 8192);
      for (let i = 0; i < 16; i++) {
        expect(all[i * 8192] === 1 + i && all[i * 8192 + 4096] === 100 + i, `block ${i} differs`);
      }
    } finally {
      other.close();
    }
  },
  "rmdir of a non-empty directory is NOTEMPTY": async ({ c, root }) => {
    const mk = await nfs(c, PROC.MKDIR, (w) => sattr(name(w, root, "full-dir"), { mode: 0o755 }));
    expect(mk.u32() === OK, "MKDIR failed");
    mk.u32();
    const dir = Buffer.from(mk.opaque());
    await create(c, dir, "inside");
    const r = await nfs(c, PROC.RMDIR, (w) => name(w, root, "full-dir"));
    expect(r.u32() === NOTEMPTY, "not NOTEMPTY");
  },
  "a removed file's handle is STALE": async ({ c, root }) => {
    const f = await create(c, root, "removed");
    const r = await nfs(c, PROC.REMOVE, (w) => name(w, root, "removed"));
    expect(r.u32() === OK, "REMOVE failed");
    expect((await getattr(c, f)).status === STALE, "not STALE");
  },
  "libnfs: nfs-ls, nfs-cp up and down, nfs-cat": async ({ server, work }) => {
    const local = join(work, `up-${server.name}.txt`);
    writeFileSync(local, "through libnfs\n");
    await exec("nfs-cp", [local, server.url(`libnfs-${server.name}.txt`)]);
    const { stdout } = await exec("nfs-cat", [server.url(`libnfs-${server.name}.txt`)]);
    expect(stdout === "through libnfs\n", "nfs-cat differs");
    const down = join(work, `down-${server.name}.txt`);
    await exec("nfs-cp", [server.url(`libnfs-${server.name}.txt`), down]);
    expect(readFileSync(down, "utf8") === "through libnfs\n", "nfs-cp down differs");
    const ls = await exec("nfs-ls", [server.url("").replace(/\/\?/, "?")]);
    expect(ls.stdout.includes(`libnfs-${server.name}.txt`), "nfs-ls does not list it");
  },
};

async function main() {
  const scratch = scratchDir(join(tmpdir(), "bp-nfs-conformance-"));
  const work = scratch.path;
  const servers = [];
  try {
    const roots = { builtIn: join(work, "builtin"), ganesha: join(work, "ganesha") };
    for (const root of Object.values(roots)) {
      mkdirSync(join(root, "many"), { recursive: true });
      for (let i = 0; i < 10_000; i++) writeFileSync(join(root, "many", `f${i}`), "");
    }
    servers.push(await startBuiltIn(roots.builtIn), await startGanesha(roots.ganesha, work));
    const table = {};
    for (const server of servers) {
      for (const [op, run] of Object.entries(OPERATIONS)) {
        table[op] ??= {};
        const c = await NfsBenchClient.connect(server.nfsPort);
        try {
          const root = await c.mount(server.mountPort, server.mountPath);
          await run({ c, root, server, work, port: server.nfsPort, mountPort: server.mountPort, path: server.mountPath });
          table[op][server.name] = "pass";
        } catch (error) {
          table[op][server.name] = `FAIL: ${error.message.split("\n")[0]}`;
        } finally {
          c.close();
        }
      }
    }
    console.log("| operation | built-in | ganesha |\n| --- | --- | --- |");
    for (const [op, results] of Object.entries(table)) console.log(`| ${op} | ${results["built-in"]} | ${results.ganesha} |`);
    const regressions = Object.entries(table).filter(([, r]) => r.ganesha === "pass" && r["built-in"] !== "pass");
    console.log(
      regressions.length
        ? `\nverdict: ${regressions.length} operation(s) pass on ganesha but not on the built-in server`
        : "\nverdict: every operation that passes on ganesha passes on the built-in server",
    );
    process.exitCode = regressions.length ? 1 : 0;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    scratch.remove();
  }
}

await main();
