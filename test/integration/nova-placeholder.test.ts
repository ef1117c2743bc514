// nova-placeholder on real Nova, in real guests: Nova snapshots a volume-backed server into its
// placeholder image and builds a server from it; the guest boots the volume Cinder restored
// from the snapshot (or the request's override), and a fixed-seed generated run reports what
// the sweep found in Nova's compute API, shrunk and replayable.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/run-scenario.js";
import { placeholderScenario } from "../../scenarios/nova-placeholder/index.js";
import { realDriverSettings, useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-nova-placeholder-it");
const settings = realDriverSettings(artifactsDir);
const scenario = placeholderScenario();
const ALL_PROPERTIES = [
  "PH1-placeholder-carries-the-mapping",
  "PH2-nova-boots-or-refuses-as-specified",
  "PH3-instance-records-the-placeholder",
  "PH4-root-is-the-mapped-volume",
  "PH5-every-mapped-volume-is-attached",
  "PB1-guest-boots-the-root-volume",
  "PB2-guest-sees-every-mapped-volume",
];

describe("nova-placeholder --driver real", () => {
  it.each([
    ["image-only", "original-root", 1],
    ["override-root-by-device-name", "override-root", 1],
    ["with-data-and-a-new-blank-volume", "original-root", 3],
  ])(
    "%s: the guest boots the %s volume Nova mapped, and sees %i volume(s)",
    async (example, role, volumes) => {
      const summary = await runScenario(scenario, { ...settings(example), example });
      const [result] = summary.cases;
      expect(result?.message ?? "").toBe("");
      expect(result?.verdict).toBe("pass");
      expect(result?.properties.map((p) => p.name).sort()).toEqual([...ALL_PROPERTIES].sort());
      const bootDir = join(summary.artifactsDir, `example-${example}`, "placeholder");
      const snapshot = JSON.parse(await readFile(join(bootDir, "nova-snapshot.json"), "utf8"));
      // The placeholder as Glance stores it: no content, the mapping as a JSON string.
      expect(snapshot.image.size).toBe(0);
      expect(snapshot.image.bdm_v2).toBe("True");
      expect(JSON.parse(snapshot.image.block_device_mapping)[0]).toMatchObject({ source_type: "snapshot", boot_index: 0 });
      const request = JSON.parse(await readFile(join(bootDir, "nova-request.json"), "utf8"));
      expect(request.server.imageRef).toBe(snapshot.image.id);
      const observation = JSON.parse(await readFile(join(bootDir, "observation.json"), "utf8"));
      expect(observation.role).toBe(role);
      // Every volume is a block device with a serial (Cinder's id); nothing else is.
      expect(observation.blockDevices.filter((b: { serial: string | null }) => b.serial !== null)).toHaveLength(volumes);
    },
    300_000,
  );

  it("a generated run with a fixed seed reports real Nova's defects by kind, shrunk, and replays them by path", async () => {
    const summary = await runScenario(scenario, {
      ...settings("generated"),
      runs: 2,
      seed: 1,
      staticRuns: 150,
      kindCounterexamples: 1,
    });
    const sweep = summary.staticSweep!;
    expect(sweep.runs).toBe(150);
    const kinds = (sweep.failureKinds ?? []).map((k) => `${k.property}: ${k.example}`).join("\n");
    // Real defects of Nova 26.2.2 (scenarios/nova-placeholder/README.md).
    expect(kinds).toMatch(
      /PH2-nova-boots-or-refuses-as-specified: Nova refused a request the spec boots .*InvalidBDMBootSequence/,
    );
    expect(kinds).toMatch(/VolumeSmallerThanMinDisk|FlavorDiskSmallerThanMinDisk/);
    const counterexample = summary.counterexample!;
    expect(counterexample.replayCommand).toMatch(/^npx bootproof run nova-placeholder --driver real --seed 1 --path \S+$/);
    expect(summary.verdict).toBe("fail");
    // The shrunk counterexample, replayed alone by its path, fails the same way.
    const path = /--path (\S+)$/.exec(counterexample.replayCommand)![1]!;
    const replay = await runScenario(scenario, { ...settings("replay"), seed: 1, path });
    expect(replay.verdict).toBe("fail");
    const failed = summary.cases.find((c) => c.caseId === counterexample.caseId)!;
    const property = (failed.message ?? "").split(":")[0]!;
    expect(property).toMatch(/^P[HB]\d-/);
    expect(replay.cases[0]?.message).toContain(property);
  }, 600_000);
});
