#!/usr/bin/env node
// NFSv3 serving, side by side: bootproof's built-in server (harness/nfs) vs nfs-ganesha 4.3
// with its VFS backend (Debian's nfs-ganesha + nfs-ganesha-vfs), same export content, on
// loopback, measured alternately so drift on a shared machine hits both alike. Ratios are
// built-in / ganesha (> 1: the built-in server is faster).
//   seq-read:   libnfs's nfs-cp of a 64 MiB file to a local file on tmpfs (1 MiB reads)
//   seq-read-discard: libnfs's nfs-cat of the same file to /dev/null (1 MiB reads, nothing
//               written by the client: its turn shrinks to taking the reply in, so the
//               servers' own READ paths decide)
//   seq-write:  libnfs's nfs-cp of a 64 MiB file into the export
//   seq-read-4: the same file, 1 MiB READs with 4 in flight (bench/lib/nfs-client.mjs)
//   rand-read:  4096 random 4 KiB READs, 8 in flight (bench/lib/nfs-client.mjs)
// ganesha needs a port mapper to register with: the bench starts `rpcbind -w` when none
// answers and stops it after. The built-in server runs in a child Node process (compiled
// harness/nfs: run `npm run build` first).
//
// Each workload first warms both servers up, untimed: 4096 requests or more per server,
// alternating. The built-in server is JIT-compiled: V8 moves a function to optimized code only
// after many calls, and the functions of a 1 MiB READ run once per megabyte, so a fresh
// server's first few thousand READs are served by unoptimized code (measured: a fresh
// server's nfs-cp copy of 64 MiB took 80-100 ms, about 68 ms after some 40 copies, 2560 READs;
// with V8's tier-up budget lowered, --interrupt-budget=8000, it was steady after 5 copies; on
// 2026-12-03 budgets of 4000 and 16000 made the first ten copies slower instead, 0.83-0.96x of
// the default, so the server runs with V8's defaults).
// Throughput is a steady-state number, as ganesha's is (compiled; its caches are warm after the
// warm-up too). The medians over the first warm-up runs are printed beside it as the cold ratio.
//
// The ratio is the median over rounds of each round's pair (built-in / ganesha, measured
// moments apart), with its 95 % bootstrap interval (bench/lib/stats.mjs).
//
// Usage: node bench/nfs-perf.mjs [--rounds N] [--only seq-read,seq-read-discard,seq-write,seq-read-4,rand-read] [--seed N] [--json FILE]
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execSupervised, scratchDir, spawnSupervised } from "./lib/children.mjs";
import { NfsBenchClient } from "./lib/nfs-client.mjs";
import { startBuiltIn, startGanesha } from "./lib/nfs-servers.mjs";
import { median, pairedRatio, seeded } from "./lib/stats.mjs";

const exec = execSupervised;
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const rounds = Number(arg("rounds", 5));
const jsonOut = arg("json", undefined);
const only = arg("only", undefined);
// The random READs' offsets come from it: a run is repeated with the same --seed.
const seed = Number(arg("seed", 1));
const LARGE_MIB = 64;

async function timed(fn) {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

// CPU time in ms (user + system), from /proc at the kernel's tick (10 ms): the server's, and
// the client's (libnfs's tool as a waited-for child, or the bench's own client in this process;
// the bench process's own work, such as spawning the tool, counts as the client's).
// Where throughput is at parity, they say which side of the copy loop did the work.
const TICK_MS = 10;
/** Fields of /proc/PID/stat after the command name: [11] utime, [12] stime, [13] cutime, [14] cstime. */
const statOf = (pid) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ").map(Number);
const cpuOf = (pid) => {
  const fields = statOf(pid);
  return (fields[11] + fields[12]) * TICK_MS;
};
function clientCpu() {
  const fields = statOf("self");
  const { user, system } = process.cpuUsage();
  return (fields[13] + fields[14]) * TICK_MS + (user + system) / 1000;
}

const sequentialOffsets = Array.from({ length: LARGE_MIB }, (_, i) => i << 20);
const offsetRandom = seeded(seed);
const offsets = Array.from({ length: 4096 }, () => Math.floor(offsetRandom() * ((LARGE_MIB << 20) / 4096)) * 4096);

/** READs of large.bin through the bench's own client: `size` bytes at each offset, `depth` in flight. */
async function readLarge(s, at, size, depth) {
  const client = await NfsBenchClient.connect(s.nfsPort);
  try {
    const root = await client.mount(s.mountPort, s.mountPath);
    const file = await client.lookup(root, "large.bin");
    const bytes = await client.readAt(file, at, size, depth);
    if (bytes !== at.length * size) throw new Error(`read ${bytes} bytes, wanted ${at.length * size}`);
  } finally {
    client.close();
  }
}

const WORKLOADS = {
  "seq-read": {
    client: "libnfs nfs-cp",
    unit: "MiB/s",
    // nfs-cp creates its local destination and refuses one that exists (so not /dev/null): a
    // fresh name each time, on tmpfs when there is one, so that the client's sink is memory,
    // not a disk's page cache and writeback (the same for both servers, but noise).
    run: async (s, { sink }) => {
      const out = join(sink, `read-${s.name}-${Date.now()}.out`);
      await exec("nfs-cp", [s.url("large.bin"), out]);
      rmSync(out);
    },
    value: (ms) => LARGE_MIB / (ms / 1000),
    // 64 READs a run.
    warmRuns: 64,
  },
  // The same READs with a client that throws the data away: nfs-cp's 1 MiB write to its sink
  // after each READ is some 0.6 ms of its ~1.1 ms turn, whichever server answers, and hides
  // the difference between the servers' own READ paths (docs/nfs-performance.md).
  "seq-read-discard": {
    client: "libnfs nfs-cat > /dev/null",
    unit: "MiB/s",
    run: async (s) => {
      const { status, signal } = await spawnSupervised("nfs-cat", [s.url("large.bin")], { discardStdout: true });
      if (status !== 0) throw new Error(`nfs-cat ${s.url("large.bin")}: exit ${status ?? signal}`);
    },
    value: (ms) => LARGE_MIB / (ms / 1000),
    // 64 READs a run.
    warmRuns: 64,
  },
  "seq-write": {
    client: "libnfs nfs-cp",
    unit: "MiB/s",
    run: (s, { work }) => exec("nfs-cp", [join(work, "source.bin"), s.url(`written-${Date.now()}.bin`)]),
    // Untimed: what a run wrote goes, so that every run writes into the same amount of page
    // cache (85 runs would otherwise leave 5 GiB per server behind). A fresh name per run:
    // ganesha's cache does not see a removal behind its back.
    after: (s) => {
      for (const name of readdirSync(s.root)) if (name.startsWith("written-")) rmSync(join(s.root, name));
    },
    value: (ms) => LARGE_MIB / (ms / 1000),
    // 64 WRITEs and a COMMIT a run.
    warmRuns: 64,
  },
  // How a kernel client streams a file: its read-ahead keeps several rsize READs in flight
  // (Linux allows 15 x rsize ahead of an NFS reader), where nfs-cp waits for each reply.
  "seq-read-4": {
    client: "bench/lib/nfs-client.mjs, 1 MiB READs, 4 in flight",
    unit: "MiB/s",
    run: (s) => readLarge(s, sequentialOffsets, 1 << 20, 4),
    value: (ms) => LARGE_MIB / (ms / 1000),
    // 64 READs a run.
    warmRuns: 64,
  },
  "rand-read": {
    client: "bench/lib/nfs-client.mjs, 8 in flight",
    unit: "4 KiB reads/s",
    run: (s) => readLarge(s, offsets, 4096, 8),
    value: (ms) => offsets.length / (ms / 1000),
    // 4096 READs a run.
    warmRuns: 2,
  },
};

/** Warm-up runs whose medians are reported as the cold figures. */
const COLD_RUNS = 8;

/** Runs one round of `workload` on every server, the order alternating with `round`. */
async function roundOf(workload, servers, dirs, round, samples, cpu) {
  for (const server of round % 2 ? [...servers].reverse() : servers) {
    const serverBefore = cpuOf(server.pid);
    const clientBefore = clientCpu();
    samples[server.name].push(workload.value(await timed(() => workload.run(server, dirs))));
    if (cpu) {
      cpu[server.name].server += cpuOf(server.pid) - serverBefore;
      cpu[server.name].client += clientCpu() - clientBefore;
      cpu[server.name].runs++;
    }
    workload.after?.(server);
  }
}

/** The untimed warm-up; returns each server's median over its first COLD_RUNS runs. */
async function warmUp(workload, servers, dirs) {
  const samples = Object.fromEntries(servers.map((s) => [s.name, []]));
  for (let round = 0; round < workload.warmRuns; round++) await roundOf(workload, servers, dirs, round, samples);
  return Object.fromEntries(servers.map((s) => [s.name, median(samples[s.name].slice(0, COLD_RUNS))]));
}

async function main() {
  const scratch = scratchDir(join(tmpdir(), "bp-nfs-bench-"));
  const work = scratch.path;
  const sinkScratch = existsSync("/dev/shm") ? scratchDir("/dev/shm/bp-nfs-bench-") : undefined;
  const dirs = { work, sink: sinkScratch?.path ?? work };
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
      if (only && !only.split(",").includes(name)) continue;
      const cold = await warmUp(workload, servers, dirs);
      const samples = Object.fromEntries(servers.map((s) => [s.name, []]));
      const cpu = Object.fromEntries(servers.map((s) => [s.name, { server: 0, client: 0, runs: 0 }]));
      for (let round = 0; round < rounds; round++) await roundOf(workload, servers, dirs, round, samples, cpu);
      const cpuPerRun = Object.fromEntries(
        servers.map((s) => [
          s.name,
          { serverMs: cpu[s.name].server / cpu[s.name].runs, clientMs: cpu[s.name].client / cpu[s.name].runs },
        ]),
      );
      const [ours, theirs] = servers.map((s) => median(samples[s.name]));
      const paired = pairedRatio(samples["built-in"], samples.ganesha);
      const coldRatio = cold["built-in"] / cold.ganesha;
      results[name] = {
        client: workload.client,
        unit: workload.unit,
        builtIn: ours,
        ganesha: theirs,
        ratio: paired.ratio,
        ratioInterval95: [paired.low, paired.high],
        cold: { builtIn: cold["built-in"], ganesha: cold.ganesha, ratio: coldRatio },
        warmupRuns: workload.warmRuns,
        cpuPerRun,
      };
      console.log(
        `${name.padEnd(10)} built-in ${ours.toFixed(1)} ${workload.unit}, ganesha ${theirs.toFixed(1)} ${workload.unit}, ratio ${paired.ratio.toFixed(2)} ` +
          `[95% ${paired.low.toFixed(2)}-${paired.high.toFixed(2)}] (${workload.client}); ` +
          `cold ratio ${coldRatio.toFixed(2)} (first ${Math.min(COLD_RUNS, workload.warmRuns)} of ${workload.warmRuns} warm-up runs each)`,
      );
      const cpuLine = servers
        .map(
          (s) =>
            `${s.name} server ${cpuPerRun[s.name].serverMs.toFixed(1)} ms, client ${cpuPerRun[s.name].clientMs.toFixed(1)} ms`,
        )
        .join("; ");
      console.log(`${"".padEnd(10)} CPU per run: ${cpuLine}`);
    }
    if (jsonOut) writeFileSync(jsonOut, `${JSON.stringify({ rounds, seed, results }, null, 2)}\n`);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    scratch.remove();
    sinkScratch?.remove();
  }
}

await main();
