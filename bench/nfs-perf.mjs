#!/usr/bin/env node
// NFSv3 serving, side by side: bootproof's built-in server (harness/nfs) vs nfs-ganesha 4.3
// with its VFS backend (Debian's nfs-ganesha + nfs-ganesha-vfs), same export content, on
// loopback, measured alternately so drift on a shared machine hits both alike. Ratios are
// built-in / ganesha (> 1: the built-in server is faster).
//   seq-read:   libnfs's nfs-cp of a 64 MiB file to a local file (1 MiB reads)
//   seq-write:  libnfs's nfs-cp of a 64 MiB file into the export
//   rand-read:  4096 random 4 KiB READs, 8 in flight (bench/lib/nfs-client.mjs)
// ganesha needs a port mapper to register with: the bench starts `rpcbind -w` when none
// answers and stops it after. The built-in server runs in a child Node process (compiled
// harness/nfs: run `npm run build` first).
//
// Each workload first runs once, untimed, against each server: a harness runs its servers in
// a process that has served cases before (warm code, warm buffer pools), and ganesha's
// caches are warm after it too; the timed rounds follow.
//
// Usage: node bench/nfs-perf.mjs [--rounds N] [--json FILE]
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { NfsBenchClient } from "./lib/nfs-client.mjs";
import { startBuiltIn, startGanesha } from "./lib/nfs-servers.mjs";

const exec = promisify(execFile);
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const rounds = Number(arg("rounds", 5));
const jsonOut = arg("json", undefined);
const LARGE_MIB = 64;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function timed(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

const offsets = Array.from({ length: 4096 }, () => Math.floor(Math.random() * ((LARGE_MIB << 20) / 4096)) * 4096);

const WORKLOADS = {
  "seq-read": {
    client: "libnfs nfs-cp",
    unit: "MiB/s",
    // nfs-cp creates its local destination and refuses one that exists: a fresh name each time.
    run: async (s, work) => {
      const out = join(work, `read-${s.name}-${Date.now()}.out`);
      await exec("nfs-cp", [s.url("large.bin"), out]);
      rmSync(out);
    },
    value: (ms) => LARGE_MIB / (ms / 1000),
  },
  "seq-write": {
    client: "libnfs nfs-cp",
    unit: "MiB/s",
    run: (s, work) => exec("nfs-cp", [join(work, "source.bin"), s.url(`written-${Date.now()}.bin`)]),
    value: (ms) => LARGE_MIB / (ms / 1000),
  },
  "rand-read": {
    client: "bench/lib/nfs-client.mjs, 8 in flight",
    unit: "4 KiB reads/s",
    async run(s) {
      const client = await NfsBenchClient.connect(s.nfsPort);
      try {
        const root = await client.mount(s.mountPort, s.mountPath);
        const file = await client.lookup(root, "large.bin");
        const bytes = await client.readAt(file, offsets, 4096, 8);
        if (bytes !== offsets.length * 4096) throw new Error(`read ${bytes} bytes, wanted ${offsets.length * 4096}`);
      } finally {
        client.close();
      }
    },
    value: (ms) => offsets.length / (ms / 1000),
  },
};

async function main() {
  const work = mkdtempSync(join(tmpdir(), "bp-nfs-bench-"));
  const servers = [];
  try {
    const payload = randomBytes(LARGE_MIB << 20);
    writeFileSync(join(work, "source.bin"), payload);
    const roots = { builtIn: join(work, "builtin"), ganesha: join(work, "ganesha") };
    for (const root of Object.values(roots)) {
      mkdirSync(root);
      writeFileSync(join(root, "large.bin"), payload);
    }
    servers.push(await startBuiltIn(roots.builtIn), await startGanesha(roots.ganesha, work));
    const results = {};
    for (const [name, workload] of Object.entries(WORKLOADS)) {
      const samples = Object.fromEntries(servers.map((s) => [s.name, []]));
      for (const server of servers) await workload.run(server, work);
      for (let round = 0; round < rounds; round++)
        for (const server of round % 2 ? [...servers].reverse() : servers)
          samples[server.name].push(workload.value(await timed(() => workload.run(server, work))));
      const [ours, theirs] = servers.map((s) => median(samples[s.name]));
      results[name] = { client: workload.client, unit: workload.unit, builtIn: ours, ganesha: theirs, ratio: ours / theirs };
      console.log(
        `${name.padEnd(10)} built-in ${ours.toFixed(1)} ${workload.unit}, ganesha ${theirs.toFixed(1)} ${workload.unit}, ratio ${(ours / theirs).toFixed(2)} (${workload.client})`,
      );
    }
    if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ rounds, results }, null, 2)}\n`);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
