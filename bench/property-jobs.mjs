#!/usr/bin/env node
// Property-run parallelism: the same generated run (`bootproof run nova-rescue --runs N
// --seed S`) with --jobs 2 and with --jobs 1, in one bench run. Reports both wall times, the
// speedup (target >= 1.8 on 2 cores), each run's verdict, and the median time per boot per
// firmware/machine type, read from the runs' own summaries, and the boots per hour each run
// achieved (boots that ran, over the run's wall time; issue 14's target: >= 1500 on 2 cores
// with the fast kernel).
//   node bench/property-jobs.mjs [--runs 10] [--seed 1] [--scenario nova-rescue] [--driver model]
// --driver model (the default) keeps measuring the TypeScript model of Nova, as this bench
// always has; the real driver's own costs are bench/real-nova-overhead.mjs's subject.
// `--driver none` passes no --driver, for a --scenario with a single driver (bootproof refuses it).
// A first, untimed --jobs 2 run warms the media cache, so both timed runs measure booting and
// checking only (building a medium once is not what --jobs parallelises).
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { scratchDir, spawnSupervised } from "./lib/children.mjs";
import { median } from "./lib/stats.mjs";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "10" },
    seed: { type: "string", default: "1" },
    scenario: { type: "string", default: "nova-rescue" },
    driver: { type: "string", default: "model" },
  },
});
const bin = resolve("bin/bootproof"); // the launcher users run
const scratchDirectory = scratchDir(join(tmpdir(), "bp-bench-jobs-"), { keep: Boolean(process.env.BOOTPROOF_BENCH_KEEP) });
const scratch = scratchDirectory.path;

async function run(jobs, label = `jobs-${jobs}`) {
  const artifacts = join(scratch, label);
  const started = process.hrtime.bigint();
  const result = await spawnSupervised(
    bin,
    [
      "run",
      values.scenario,
      "--runs",
      values.runs,
      "--seed",
      values.seed,
      "--jobs",
      String(jobs),
      "--no-shrink",
      ...(values.driver === "none" ? [] : ["--driver", values.driver]),
      "--artifacts",
      artifacts,
    ],
    { graceMs: 30_000 },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const summary = JSON.parse(readFileSync(join(artifacts, "summary.json"), "utf8"));
  return { jobs, seconds, exitCode: result.status, summary, artifacts };
}

/** Boot durations grouped by firmware + machine type, from each boot's machine.json. */
function bootTimes(runResult) {
  const groups = new Map();
  for (const c of runResult.summary.cases) {
    for (const boot of c.boots) {
      if (boot.status !== "observed") continue;
      const machine = JSON.parse(readFileSync(join(boot.artifactDir, "machine.json"), "utf8"));
      const key = `${machine.firmware.kind} ${machine.machineType}`;
      groups.set(key, [...(groups.get(key) ?? []), boot.durationMs / 1000]);
    }
  }
  return groups;
}

try {
  const warm = await run(2, "warm-up");
  console.log(`warm-up (--jobs 2, cold cache): ${warm.seconds.toFixed(1)} s`);
  const serial = await run(1);
  const parallel = await run(2);
  for (const r of [parallel, serial]) {
    const counts = ["pass", "fail", "infra-error", "timeout"]
      .map((v) => `${r.summary.cases.filter((c) => c.verdict === v).length} ${v}`)
      .join(", ");
    const boots = r.summary.cases.flatMap((c) => c.boots).filter((b) => b.status !== "not-run").length;
    const perHour = Math.round((boots / r.seconds) * 3600);
    console.log(
      `--jobs ${r.jobs}: ${r.seconds.toFixed(1)} s, exit ${r.exitCode}, ${counts}; ${boots} boots: ${perHour} boots per hour${r.jobs === 2 ? " (target >= 1500)" : ""}`,
    );
  }
  console.log(`speedup jobs 2 vs jobs 1: ${(serial.seconds / parallel.seconds).toFixed(2)}x (target >= 1.8)`);
  for (const [label, r] of [
    ["--jobs 1 (one guest at a time)", serial],
    ["--jobs 2", parallel],
  ]) {
    console.log(`median wall time per boot, ${label}:`);
    for (const [key, times] of [...bootTimes(r)].sort())
      console.log(`  ${key.padEnd(12)} ${median(times).toFixed(2)} s over ${times.length} boots`);
  }
} finally {
  scratchDirectory.remove();
}
