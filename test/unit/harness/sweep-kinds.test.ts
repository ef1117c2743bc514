// The boot-free sweep of a driver that fails in several ways (as real Ironic does): every kind
// of failure is counted and reported, and each further kind gets its own shrunk counterexample
// whose `--seed --path` replays exactly that input. A boot-free scenario: no guest starts.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failureKindKey, runScenario } from "../../../harness/run/run-scenario.js";
import type { Scenario } from "../../../harness/scenario.js";

/** A "driver" with two independent defects: LUNs from 10 up, and names with a space. */
const FIXTURE: string = "../../fixtures/scenarios/boot-free-defects.mjs";
let artifacts: string;
let scenario: Scenario<unknown>;
beforeAll(async () => {
  artifacts = await mkdtemp(join(tmpdir(), "bp-sweep-kinds-"));
  scenario = (await import(FIXTURE)).default as Scenario<unknown>;
});
afterAll(async () => {
  await rm(artifacts, { recursive: true, force: true });
});

describe("the sweep's failure kinds", () => {
  it("folds numbers, ids and quoted values into one kind", () => {
    expect(failureKindKey("LUN 12 read as 18")).toBe(failureKindKey("LUN 300 read as 768"));
    expect(failureKindKey("name 'b c' split")).toBe(failureKindKey("name 'x y' split"));
    expect(failureKindKey("volume 0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d at iqn.2010-10.org:v")).toBe("volume <uuid> at <iqn>");
  });

  it("reports every kind and shrinks one counterexample per kind, each replayable by seed and path", async () => {
    const settings = { accelerator: "tcg" as const, jobs: 1, runs: 3, seed: 7 };
    const summary = await runScenario(scenario, { ...settings, artifactsRoot: join(artifacts, "run") });
    expect(summary.verdict).toBe("fail");
    const kinds = summary.staticSweep?.failureKinds ?? [];
    expect(kinds.map((k) => k.property).sort()).toEqual(["lun", "name"]);
    expect(kinds.reduce((n, k) => n + k.count, 0)).toBe(
      Object.values(summary.staticSweep?.failuresByProperty ?? {}).reduce((n, c) => n + c, 0),
    );
    // The main counterexample covers one kind, the other has its own; both shrunk to the minimum.
    const all = [summary.counterexample!, ...(summary.counterexamples ?? [])];
    expect(all).toHaveLength(2);
    const inputs = all.map((c) => c.input as { lun: number; name: string });
    expect(inputs).toEqual(
      expect.arrayContaining([
        { lun: 10, name: "a" },
        { lun: 0, name: "b c" },
      ]),
    );
    for (const counterexample of all) {
      const replay = await runScenario(scenario, {
        ...settings,
        path: counterexample.path,
        artifactsRoot: join(artifacts, `replay-${counterexample.path}`),
      });
      expect(replay.cases[0]?.input).toEqual(counterexample.input);
    }
  });
});
