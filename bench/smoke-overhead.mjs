#!/usr/bin/env node
// Harness overhead: `bootproof run smoke --example bios-disk` (through bin/bootproof, the
// launcher users run) against the bare QEMU command it prints with --print-qemu, in one
// run on the same machine. Target: median ratio ≤ 1.03 (the harness adds almost nothing).
//   node bench/smoke-overhead.mjs [--rounds N] [--example NAME]
// Needs `npm run build` first (npm ci does it).
//
// Method. A TCG boot on this kind of host varies by ±10 % from one run to the next (the
// guest's CPU work itself varies with host timing), far more than the effect measured. So:
// rounds are paired (each bootproof run next to a bare one) and their order alternates
// (ABBA) so slow drift cancels; the headline is the median of per-round ratios with a
// bootstrap 95 % interval (fixed seed: the same timings always give the same interval).
// From bootproof's summary.json each run is also split into start-up (process start → QEMU
// spawned), QEMU's own lifetime and teardown (QEMU gone → process exit): the harness's own
// cost, free of the boot's noise.
import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { scratchDir, supervise } from "./lib/children.mjs";
import { bootstrapMedianInterval, median } from "./lib/stats.mjs";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "15" }, example: { type: "string", default: "bios-disk" } },
});
const rounds = Number(values.rounds);
const example = values.example;
const bin = resolve("bin/bootproof");

function rssKiB(pid) {
  try {
    const match = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+) kB/m);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** Runs a command to completion; returns wall ms and the peak RSS of the process itself. */
function timed(file, args) {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(file, args, { stdio: ["ignore", "ignore", "ignore"] });
    supervise(child);
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssKiB(child.pid));
    }, 50);
    child.on("error", reject);
    child.on("exit", (code) => {
      clearInterval(sampler);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`${file} ${args.join(" ")} exited ${code}`));
      else resolvePromise({ ms, peakRssMiB: peak / 1024 });
    });
  });
}

async function runBootproof(artifacts) {
  const run = await timed(bin, ["run", "smoke", "--example", example, "--artifacts", artifacts]);
  const summary = JSON.parse(readFileSync(join(artifacts, "summary.json"), "utf8"));
  const window = summary.cases[0].boots[0].qemuWindow;
  return {
    ...run,
    startupMs: window.spawnedAtMs,
    qemuMs: window.endedAtMs - window.spawnedAtMs,
    teardownMs: run.ms - window.endedAtMs,
  };
}

const printed = execFileSync(bin, ["run", "smoke", "--example", example, "--print-qemu"], { encoding: "utf8" });
const bareCommand = printed.split("\n").find((l) => l.startsWith("qemu-system"));
if (!bareCommand) throw new Error(`--print-qemu printed no command:\n${printed}`);
console.log(`bare command: ${bareCommand}\n`);
const runBare = () => timed("sh", ["-c", bareCommand]);

const scratchDirectory = scratchDir(join(tmpdir(), "bp-bench-"));
const scratch = scratchDirectory.path;
const rows = [];
try {
  // One warm-up of each so caches (media, page cache) are hot for both.
  await runBare();
  await runBootproof(join(scratch, "warm"));
  for (let round = 0; round < rounds; round++) {
    const artifacts = join(scratch, `r${round}`);
    let harness;
    let bare;
    if (round % 2 === 0) {
      harness = await runBootproof(artifacts);
      bare = await runBare();
    } else {
      bare = await runBare();
      harness = await runBootproof(artifacts);
    }
    rows.push({ harness, bare });
    console.log(
      `round ${String(round + 1).padStart(2)}: bootproof ${(harness.ms / 1000).toFixed(2)} s ` +
        `(start-up ${harness.startupMs.toFixed(0)} ms, qemu ${(harness.qemuMs / 1000).toFixed(2)} s, teardown ${harness.teardownMs.toFixed(0)} ms, ` +
        `peak RSS ${harness.peakRssMiB.toFixed(0)} MiB), bare qemu ${(bare.ms / 1000).toFixed(2)} s, ratio ${(harness.ms / bare.ms).toFixed(3)}`,
    );
  }
} finally {
  scratchDirectory.remove();
}

const harnessMs = rows.map((r) => r.harness.ms);
const bareMs = rows.map((r) => r.bare.ms);
const paired = rows.map((r) => r.harness.ms / r.bare.ms);
const qemuPaired = rows.map((r) => r.harness.qemuMs / r.bare.ms);
const [low, high] = bootstrapMedianInterval(paired);
console.log(`\n${rounds} rounds, ${example}`);
console.log(
  `median bootproof ${(median(harnessMs) / 1000).toFixed(2)} s, median bare qemu ${(median(bareMs) / 1000).toFixed(2)} s`,
);
console.log(
  `median of paired ratios bootproof/bare = ${median(paired).toFixed(3)} (bootstrap 95 % interval ${low.toFixed(3)}–${high.toFixed(3)}); ` +
    `ratio of medians = ${(median(harnessMs) / median(bareMs)).toFixed(3)} (target <= 1.03)`,
);
console.log(
  `bootproof's own time: start-up median ${median(rows.map((r) => r.harness.startupMs)).toFixed(0)} ms, ` +
    `teardown median ${median(rows.map((r) => r.harness.teardownMs)).toFixed(0)} ms; ` +
    `QEMU's lifetime under bootproof / bare command: median ${median(qemuPaired).toFixed(3)}`,
);
console.log(`bootproof peak RSS: max ${Math.max(...rows.map((r) => r.harness.peakRssMiB)).toFixed(0)} MiB (target < 150 MiB)`);
