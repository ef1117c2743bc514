// `run --shard i/n` slices a run deterministically and `merge-reports` puts it back together:
// shards 1..n merged equal the unsharded run (cases in order, verdicts, inputs, properties,
// counterexamples), for examples and for generated cases, with boot-free scenarios.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../../harness/errors.js";
import { mergeShardSummaries } from "../../../harness/run/merge.js";
import { type RunSettings, type RunSummary, runScenario } from "../../../harness/run/run-scenario.js";
import type { Scenario } from "../../../harness/scenario.js";

/** A scenario author's plain .mjs file (typed by nothing but its shape). */
const FIXTURE: string = "../../fixtures/scenarios/boot-free-defects.mjs";
let artifacts: string;
let scenario: Scenario<unknown>;
beforeAll(async () => {
  artifacts = await mkdtemp(join(tmpdir(), "bp-shards-"));
  scenario = (await import(FIXTURE)).default as Scenario<unknown>;
});
afterAll(async () => {
  await rm(artifacts, { recursive: true, force: true });
});

const base = { accelerator: "tcg" as const, jobs: 1 };
/** What must be equal: everything but timings and where the artifacts are. */
const comparable = (summary: RunSummary) => ({
  verdict: summary.verdict,
  cases: summary.cases.map((c) => ({
    caseId: c.caseId,
    verdict: c.verdict,
    input: c.input,
    properties: c.properties,
    message: c.message,
  })),
  counterexample: summary.counterexample && { ...summary.counterexample },
  counterexamples: summary.counterexamples,
  failureKinds: summary.staticSweep?.failureKinds,
});

async function sharded(name: string, settings: Partial<RunSettings>, count: number) {
  const shards = [];
  for (let index = 1; index <= count; index++) {
    const artifactsRoot = join(artifacts, `${name}-${index}`);
    shards.push({
      source: artifactsRoot,
      summary: await runScenario(scenario, { ...base, ...settings, artifactsRoot, shard: { index, count } }),
    });
  }
  return shards;
}

describe("sharding", () => {
  it.each([2, 3, 7])("examples: %i shards merged equal the unsharded run", async (count) => {
    const whole = await runScenario(scenario, { ...base, artifactsRoot: join(artifacts, `examples-${count}`) });
    const shards = await sharded(`examples-${count}`, {}, count);
    // Each case runs in exactly one shard.
    expect(shards.flatMap((s) => s.summary.cases.map((c) => c.caseId)).sort()).toEqual(whole.cases.map((c) => c.caseId).sort());
    const merged = mergeShardSummaries(shards, join(artifacts, `examples-${count}-merged`));
    expect(comparable(merged)).toEqual(comparable(whole));
  });

  it.each([2, 4])("generated: %i shards of the same seed merged equal the unsharded run", async (count) => {
    const settings = { runs: 9, seed: 5 };
    const whole = await runScenario(scenario, { ...base, ...settings, artifactsRoot: join(artifacts, `gen-${count}`) });
    expect(whole.counterexample).toBeDefined();
    const shards = await sharded(`gen-${count}`, settings, count);
    expect(shards.slice(1).every((s) => s.summary.counterexample === undefined)).toBe(true);
    const merged = mergeShardSummaries(shards, join(artifacts, `gen-${count}-merged`));
    expect(comparable(merged)).toEqual(comparable(whole));
    expect(merged.caseDirs?.["case-002"]).toBe(join(artifacts, `gen-${count}-2`, "case-002"));
  });

  it("refuses a missing shard, a repeated one, another run's shard and an unsharded summary", async () => {
    const shards = await sharded("refuse", { runs: 4, seed: 1 }, 3);
    const out = join(artifacts, "refuse-merged");
    expect(() => mergeShardSummaries(shards.slice(0, 2), out)).toThrow(/shard\(s\) 3 of 3 are missing/);
    expect(() => mergeShardSummaries([...shards, shards[0]!], out)).toThrow(/shard 1\/3 is given twice/);
    const other = await sharded("other", { runs: 4, seed: 2 }, 3);
    expect(() => mergeShardSummaries([shards[0]!, shards[1]!, other[2]!], out)).toThrow(/merge shards of one run/);
    const whole = await runScenario(scenario, { ...base, runs: 4, seed: 1, artifactsRoot: join(artifacts, "refuse-whole") });
    expect(() => mergeShardSummaries([{ source: "whole", summary: whole }], out)).toThrow(InputError);
  });
});
