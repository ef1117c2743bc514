#!/usr/bin/env node
// The fast probe kernel against Debian's: the same smoke topology booted with `--kernel fast`
// and `--kernel debian`, alternating in one run. Targets (issue 14): SeaBIOS bios-disk wall to
// observation ≤ 40 % of the Debian kernel's (and ≤ 3.5 s), OVMF uefi-disk ≤ 50 %.
//   node bench/kernel-boot.mjs [--rounds N] [--examples bios-disk,uefi-disk] [--build-time]
// Needs `npm run build` and a built fast kernel (`bootproof kernel build`). --build-time first
// builds the kernel once more in an empty cache and reports how long a fresh build takes.
//
// Method (as bench/smoke-overhead.mjs): rounds are paired and alternate their order (ABBA)
// so drift cancels; the headline is the median of per-round ratios fast/debian with a seeded
// bootstrap 95 % interval. "Wall to observation" is the host timestamp of the
// BOOTPROOF-OBSERVATION line in console.log (QEMU spawned = 0): firmware, loader, kernel and
// probe, without bootproof's own start-up and teardown, which do not depend on the kernel.
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { scratchDir, supervise } from "./lib/children.mjs";
import { bootstrapMedianInterval, median } from "./lib/stats.mjs";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "8" },
    examples: { type: "string", default: "bios-disk,uefi-disk" },
    "build-time": { type: "boolean", default: false },
  },
});
const rounds = Number(values.rounds);
const examples = values.examples.split(",");
const bin = resolve("bin/bootproof");
const TARGETS = { "bios-disk": 0.4, "uefi-disk": 0.5 };

function run(args, env = process.env) {
  return new Promise((resolvePromise, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"], env });
    supervise(child);
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) reject(new Error(`bootproof ${args.join(" ")} exited ${code}:\n${stderr.slice(-2000)}`));
      else resolvePromise(ms);
    });
  });
}

/** Seconds from QEMU's start to the observation line, from the boot's console.log. */
function observationSeconds(artifacts, example) {
  const consoleLog = readFileSync(join(artifacts, `example-${example}`, "boot", "console.log"), "utf8");
  const match = consoleLog.match(/^\[\s*(\d+\.\d+)\] BOOTPROOF-OBSERVATION /m);
  if (!match) throw new Error(`no observation line in ${artifacts}`);
  return Number(match[1]);
}

async function boot(example, kernel, artifacts) {
  const wallMs = await run(["run", "smoke", "--example", example, "--kernel", kernel, "--artifacts", artifacts]);
  const summary = JSON.parse(readFileSync(join(artifacts, "summary.json"), "utf8"));
  if (summary.kernel !== kernel) throw new Error(`asked for --kernel ${kernel}, the run recorded ${summary.kernel}`);
  return { wallMs, observationS: observationSeconds(artifacts, example) };
}

const scratchDirectory = scratchDir(join(tmpdir(), "bp-kernel-bench-"));
const scratch = scratchDirectory.path;
try {
  if (values["build-time"]) {
    const freshCache = join(scratch, "fresh-cache");
    const ms = await run(["kernel", "build"], { ...process.env, BOOTPROOF_CACHE: freshCache });
    console.log(
      `kernel build on a fresh cache: ${(ms / 1000).toFixed(0)} s (make -j${(await import("node:os")).availableParallelism()})\n`,
    );
    rmSync(freshCache, { recursive: true, force: true });
  }
  for (const example of examples) {
    const rows = [];
    // One warm-up of each, so both find their media and initramfs in the cache.
    await boot(example, "fast", join(scratch, `${example}-warm-fast`));
    await boot(example, "debian", join(scratch, `${example}-warm-debian`));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? ["fast", "debian"] : ["debian", "fast"];
      const row = {};
      for (const kernel of order) row[kernel] = await boot(example, kernel, join(scratch, `${example}-${round}-${kernel}`));
      rows.push(row);
      console.log(
        `${example} round ${String(round + 1).padStart(2)}: fast ${row.fast.observationS.toFixed(2)} s ` +
          `(run ${(row.fast.wallMs / 1000).toFixed(2)} s), debian ${row.debian.observationS.toFixed(2)} s ` +
          `(run ${(row.debian.wallMs / 1000).toFixed(2)} s), ratio ${(row.fast.observationS / row.debian.observationS).toFixed(3)}`,
      );
    }
    const paired = rows.map((r) => r.fast.observationS / r.debian.observationS);
    const [low, high] = bootstrapMedianInterval(paired);
    const fast = median(rows.map((r) => r.fast.observationS));
    const debian = median(rows.map((r) => r.debian.observationS));
    console.log(
      `\n${example}, ${rounds} rounds: median wall to observation fast ${fast.toFixed(2)} s, debian ${debian.toFixed(2)} s`,
    );
    console.log(
      `median of paired ratios fast/debian = ${median(paired).toFixed(3)} (bootstrap 95 % interval ${low.toFixed(3)}–${high.toFixed(3)}; ` +
        `target <= ${TARGETS[example] ?? "-"}${example === "bios-disk" ? ", and fast <= 3.5 s" : ""})`,
    );
    console.log(
      `whole run (bootproof start to exit): median fast ${(median(rows.map((r) => r.fast.wallMs)) / 1000).toFixed(2)} s, ` +
        `debian ${(median(rows.map((r) => r.debian.wallMs)) / 1000).toFixed(2)} s\n`,
    );
  }
} finally {
  scratchDirectory.remove();
}
