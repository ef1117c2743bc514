#!/usr/bin/env node
// Harness overhead: `bootproof run smoke --example bios-disk` against the bare QEMU command
// it prints with --print-qemu, alternating in one run on the same machine. Reports median
// wall times, their ratio (target ≤ 1.03) and bootproof's own peak RSS (QEMU excluded).
//   node bench/smoke-overhead.mjs [--rounds N] [--example NAME]
// Needs `npm run build` first (npm ci does it).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "5" }, example: { type: "string", default: "bios-disk" } },
});
const rounds = Number(values.rounds);
const example = values.example;
const bin = resolve("bin/bootproof.js");

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

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

const printed = execFileSync("node", [bin, "run", "smoke", "--example", example, "--print-qemu"], { encoding: "utf8" });
const bareCommand = printed.split("\n").find((l) => l.startsWith("qemu-system"));
if (!bareCommand) throw new Error(`--print-qemu printed no command:\n${printed}`);
console.log(`bare command: ${bareCommand}\n`);

const scratch = mkdtempSync(join(tmpdir(), "bp-bench-"));
const harness = [];
const bare = [];
const rss = [];
try {
  // One warm-up of each so caches (media, page cache) are hot for both.
  await timed("sh", ["-c", bareCommand]);
  await timed("node", [bin, "run", "smoke", "--example", example, "--artifacts", join(scratch, "warm")]);
  for (let round = 0; round < rounds; round++) {
    const h = await timed("node", [bin, "run", "smoke", "--example", example, "--artifacts", join(scratch, `r${round}`)]);
    const b = await timed("sh", ["-c", bareCommand]);
    harness.push(h.ms);
    bare.push(b.ms);
    rss.push(h.peakRssMiB);
    console.log(
      `round ${round + 1}: bootproof ${(h.ms / 1000).toFixed(2)} s (peak RSS ${h.peakRssMiB.toFixed(0)} MiB), bare qemu ${(b.ms / 1000).toFixed(2)} s`,
    );
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
const ratio = median(harness) / median(bare);
console.log(
  `\nmedian bootproof ${(median(harness) / 1000).toFixed(2)} s, median bare qemu ${(median(bare) / 1000).toFixed(2)} s`,
);
// Rounds are paired (each bootproof run next to a bare one), so the median of per-round
// ratios is less sensitive to the host's drift than the ratio of medians.
const pairedRatio = median(harness.map((h, i) => h / bare[i]));
console.log(
  `ratio of medians bootproof/bare = ${ratio.toFixed(3)}; median of paired ratios = ${pairedRatio.toFixed(3)} (target <= 1.03)`,
);
console.log(`bootproof peak RSS: max ${Math.max(...rss).toFixed(0)} MiB (target < 150 MiB)`);
