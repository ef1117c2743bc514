// Mutation proof through the real property runner: each deliberately wrong driver is caught
// by the boot-free layer before any guest starts, shrunk, and its replay command (seed +
// path) reproduces exactly the same counterexample.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScenario } from "../../../harness/run/run-scenario.js";
import { NOVA_MUTANT_SCENARIOS } from "../../../scenarios/nova/mutant-scenarios.js";

let artifacts: string;
beforeAll(async () => {
  artifacts = await mkdtemp(join(tmpdir(), "bp-mutants-"));
});
afterAll(async () => {
  await rm(artifacts, { recursive: true, force: true });
});

describe.each(Object.keys(NOVA_MUTANT_SCENARIOS))("%s", (name) => {
  const scenario = NOVA_MUTANT_SCENARIOS[name]!;

  it("fails with a shrunk counterexample, without booting, and replays it exactly", async () => {
    const settings = { accelerator: "tcg" as const, jobs: 1, runs: 10, seed: 1 };
    const summary = await runScenario(scenario, { ...settings, artifactsRoot: join(artifacts, name) });
    expect(summary.verdict).toBe("fail");
    const counterexample = summary.counterexample!;
    expect(counterexample.replayCommand).toBe(`npx bootproof run ${name} --seed 1 --path ${counterexample.path}`);
    expect(summary.cases.every((c) => c.boots.length === 0)).toBe(true);
    const failing = summary.cases.find((c) => c.verdict === "fail")!;
    expect(failing.properties.some((p) => p.layer === "static" && !p.ok)).toBe(true);

    const replay = await runScenario(scenario, {
      ...settings,
      path: counterexample.path,
      artifactsRoot: join(artifacts, `${name}-replay`),
    });
    expect(replay.verdict).toBe("fail");
    expect(replay.counterexample?.input).toEqual(counterexample.input);
    expect(replay.cases[0]?.message).toBe(failing.message);
  });
});
