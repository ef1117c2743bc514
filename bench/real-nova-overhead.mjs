#!/usr/bin/env node
// The real Nova driver's cost: how much of a case's wall time the Nova worker and the embedded
// libvirt take, measured in one run against the same case's own boots. Target: at most 3 % per
// case. Also the static sweep's rate on the real driver, in cases per second.
//   node bench/real-nova-overhead.mjs [--example NAME] [--runs 1] [--seed 1]
// Needs `npm run build` first. Boots one guest at a time (--jobs 1).
//
// Method. Two bootproof runs, each judged by its own summary.json (no timing from outside):
//  1. `run nova-rescue --driver real` over the examples (all of them, or --example NAME). Per
//     booted case: driver time = planMs (Nova worker + libvirt define, deciding the boots) +
//     the boots' libvirtMs (define, command line, undefine around each QEMU); QEMU time = the
//     boots' qemuWindow spans; case wall time = durationMs. driver share = driver / wall; the
//     rest (wall - QEMU - driver) is what else bootproof adds (media, probe, checks).
//     The first case also starts both workers (once per run): that start-up is estimated as
//     its planMs minus the later cases' median planMs, and reported separately and amortized.
//  2. `run nova-rescue --driver real --runs N --seed S --no-shrink`: the boot-free static sweep
//     (500 inputs or more) runs before any guest; its summary's staticSweep gives the rate. The
//     cases it then boots have warm workers and join the per-case table.
// Exit 1 (a property failed) is the real Nova's defects showing, not a bench failure; exit 2 is.
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { scratchDir, spawnSupervised } from "./lib/children.mjs";
import { median } from "./lib/stats.mjs";

const { values } = parseArgs({
  options: {
    example: { type: "string" },
    runs: { type: "string", default: "1" },
    seed: { type: "string", default: "1" },
  },
});
const bin = resolve("bin/bootproof"); // the launcher users run
const scratchDirectory = scratchDir(join(tmpdir(), "bp-bench-real-nova-"), { keep: Boolean(process.env.BOOTPROOF_BENCH_KEEP) });
const scratch = scratchDirectory.path;

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const pct = (x) => `${(x * 100).toFixed(2)} %`;
const sec = (ms) => `${(ms / 1000).toFixed(2)} s`;

/** One `bootproof run nova-rescue --driver real --jobs 1 ...`; returns its summary. */
async function run(label, extraArgs) {
  const artifacts = join(scratch, label);
  const args = ["run", "nova-rescue", "--driver", "real", "--jobs", "1", ...extraArgs, "--artifacts", artifacts];
  console.log(`running: bootproof ${args.join(" ")}`);
  const result = await spawnSupervised(bin, args, { graceMs: 30_000 });
  if (result.status !== 0 && result.status !== 1)
    throw new Error(`bootproof exited ${result.status} (infra error):\n${result.stdout.slice(-2000)}`);
  return JSON.parse(readFileSync(join(artifacts, "summary.json"), "utf8"));
}

/** A booted case's time split, from its summary entry (cases that booted nothing are skipped). */
function split(run, c) {
  const boots = c.boots.filter((b) => b.qemuWindow);
  if (boots.length === 0) return undefined;
  const planMs = c.planMs ?? 0;
  const libvirtMs = sum(boots.map((b) => b.libvirtMs ?? 0));
  const qemuMs = sum(boots.map((b) => b.qemuWindow.endedAtMs - b.qemuWindow.spawnedAtMs));
  const driverMs = planMs + libvirtMs;
  return {
    run,
    caseId: c.caseId,
    verdict: c.verdict,
    boots: boots.length,
    wallMs: c.durationMs,
    qemuMs,
    planMs,
    libvirtMs,
    driverMs,
  };
}

try {
  const examples = await run("examples", values.example ? ["--example", values.example] : []);
  const generated = await run("generated", ["--runs", values.runs, "--seed", values.seed, "--no-shrink"]);
  const exampleRows = examples.cases.map((c) => split("examples", c)).filter(Boolean);
  const generatedRows = generated.cases.map((c) => split("generated", c)).filter(Boolean);

  // Worker start-up: the run's first case's planning (--jobs 1: nothing ran before it) against
  // the warm planning of every later case (the generated run's too: its sweep started the workers).
  const firstCase = examples.cases[0];
  const warmPlanMs = median([...examples.cases.slice(1), ...generated.cases].map((c) => c.planMs ?? 0));
  const startupMs = Number.isNaN(warmPlanMs) ? Number.NaN : Math.max(0, (firstCase.planMs ?? 0) - warmPlanMs);
  const first = exampleRows.find((r) => r.caseId === firstCase.caseId);
  if (first) first.startupMs = startupMs;

  console.log(
    `\n${"run".padEnd(10)} ${"case".padEnd(48)} ${"verdict".padEnd(7)} boots ${"wall".padStart(8)} ${"qemu".padStart(8)} ` +
      `${"plan".padStart(8)} ${"libvirt".padStart(8)} ${"driver".padStart(8)} ${"share".padStart(8)} ${"other".padStart(8)} ${"share".padStart(8)}`,
  );
  const rows = [...exampleRows, ...generatedRows];
  for (const r of rows) {
    const otherMs = r.wallMs - r.qemuMs - r.driverMs;
    console.log(
      `${r.run.padEnd(10)} ${r.caseId.slice(0, 48).padEnd(48)} ${r.verdict.padEnd(7)} ${String(r.boots).padStart(5)} ` +
        `${sec(r.wallMs).padStart(8)} ${sec(r.qemuMs).padStart(8)} ${`${r.planMs} ms`.padStart(8)} ${`${r.libvirtMs} ms`.padStart(8)} ` +
        `${`${r.driverMs} ms`.padStart(8)} ${pct(r.driverMs / r.wallMs).padStart(8)} ${sec(otherMs).padStart(8)} ${pct(otherMs / r.wallMs).padStart(8)}`,
    );
  }

  // Per-case shares with the once-per-run start-up taken out of the first case.
  const warmDriver = (r) => r.driverMs - (r.startupMs ?? 0);
  const shares = rows.map((r) => warmDriver(r) / r.wallMs);
  const otherShares = rows.map((r) => (r.wallMs - r.qemuMs - r.driverMs) / r.wallMs);
  console.log(
    `\nfirst case (${firstCase.caseId}): planMs ${firstCase.planMs} ms, of which worker start-up ≈ ${startupMs.toFixed(0)} ms ` +
      `(minus the warm cases' median planMs ${warmPlanMs} ms)` +
      (first
        ? `; driver share ${pct(first.driverMs / first.wallMs)} with it, ${pct(warmDriver(first) / first.wallMs)} without`
        : ""),
  );
  // Amortized: all driver time (start-up included) over all case wall time of the examples run.
  const amortized = sum(exampleRows.map((r) => r.driverMs)) / sum(exampleRows.map((r) => r.wallMs));
  console.log(
    `examples run: ${exampleRows.length} booted cases in ${sec(examples.durationMs)}; worker start-up = ${pct(startupMs / examples.durationMs)} of the run; ` +
      `driver share over the whole run, start-up included: ${pct(amortized)}`,
  );
  const sweep = generated.staticSweep;
  const failures = sweep?.failuresByProperty
    ? `; ${sweep.failedInputs} inputs failed: ${Object.entries(sweep.failuresByProperty)
        .map(([name, n]) => `${name} ${n}`)
        .join(", ")}`
    : "";
  console.log(
    sweep
      ? `static sweep (real driver, seed ${values.seed}): ${sweep.runs} inputs in ${sec(sweep.durationMs)} = ${sweep.casesPerSecond} cases/s ` +
          `(the sweep starts the workers: ${((sweep.runs / (sweep.durationMs - startupMs)) * 1000).toFixed(1)} cases/s without ≈ start-up)${failures}`
      : "static sweep: the generated run recorded none",
  );
  console.log(
    `\nRESULT driver share per case: median ${pct(median(shares))}, max ${pct(Math.max(...shares))} over ${rows.length} cases (target <= 3 %); ` +
      `other bootproof time median ${pct(median(otherShares))}; worker start-up ${startupMs.toFixed(0)} ms once per run ` +
      `(${pct(startupMs / examples.durationMs)} of it, run-wide driver share ${pct(amortized)}); static sweep ${sweep?.casesPerSecond ?? "n/a"} cases/s`,
  );
} finally {
  scratchDirectory.remove();
}
