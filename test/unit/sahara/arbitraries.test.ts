// The generated node groups: the same seed gives the same cases, every choice the issue names
// is drawn (root disk 0 included), and the case shrinks towards the common values; the
// scenario is registered with the real driver only, and its replay flags are right.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadScenario, resolvedDriver } from "../../../harness/cli/load-scenario.js";
import { realDriverGroups } from "../../../harness/doctor/requirements.js";
import { InputError } from "../../../harness/errors.js";
import { BUILT_IN_SCENARIOS } from "../../../scenarios/index.js";
import { nodeGroupArbitrary, saharaBfvCaseArbitrary } from "../../../scenarios/sahara/arbitraries.js";
import { AVAILABILITY_ZONES, CINDER_VOLUME_TYPES, IMAGE_ID } from "../../../scenarios/sahara/case.js";

describe("sahara-bfv's arbitrary", () => {
  it("is deterministic: the same seed, the same node groups", () => {
    expect(fc.sample(saharaBfvCaseArbitrary, { seed: 42, numRuns: 50 })).toEqual(
      fc.sample(saharaBfvCaseArbitrary, { seed: 42, numRuns: 50 }),
    );
    expect(fc.sample(saharaBfvCaseArbitrary, { seed: 1, numRuns: 5 })).not.toEqual(
      fc.sample(saharaBfvCaseArbitrary, { seed: 2, numRuns: 5 }),
    );
  });

  it("draws every choice: root disk 0-3, boot from volume or not, 0-2 volumes of 0-2 GiB, types, zones, flags, hardware", () => {
    const cases = fc.sample(saharaBfvCaseArbitrary, { seed: 7, numRuns: 400 });
    const seen = <T>(f: (c: (typeof cases)[number]) => T) => new Set(cases.map(f));
    expect(seen((c) => c.nodeGroup.flavor.diskGb)).toEqual(new Set([0, 1, 2, 3]));
    expect(seen((c) => c.nodeGroup.bootFromVolume)).toEqual(new Set([true, false]));
    expect(seen((c) => c.nodeGroup.volumesPerNode)).toEqual(new Set([0, 1, 2]));
    expect(seen((c) => c.nodeGroup.volumesSizeGb)).toEqual(new Set([0, 1, 2]));
    expect(seen((c) => c.nodeGroup.bootVolumeType)).toEqual(new Set([null, ...CINDER_VOLUME_TYPES]));
    expect(seen((c) => c.nodeGroup.volumesAvailabilityZone)).toEqual(new Set([null, ...AVAILABILITY_ZONES]));
    expect(seen((c) => c.nodeGroup.bootVolumeAvailabilityZone)).toEqual(new Set([null, ...AVAILABILITY_ZONES]));
    expect(seen((c) => c.nodeGroup.bootVolumeLocalToInstance)).toEqual(new Set([true, false]));
    expect(seen((c) => c.nodeGroup.volumeLocalToInstance)).toEqual(new Set([true, false]));
    expect(seen((c) => c.nodeGroup.flavor.ephemeralGb)).toEqual(new Set([0, 1]));
    expect(seen((c) => `${c.image.machineType}/${c.image.firmware}`)).toEqual(
      new Set(["pc/seabios", "pc/ovmf", "q35/seabios", "q35/ovmf"]),
    );
    expect(seen((c) => c.nodeGroup.imageId)).toEqual(new Set([IMAGE_ID]));
  });

  it("shrinks towards a plain node group: root disk 1, no ephemeral disk, no flags", () => {
    const details = fc.check(
      fc.property(nodeGroupArbitrary, (ng) => !(ng.bootFromVolume && ng.flavor.diskGb >= 1)),
      { seed: 3 },
    );
    expect(details.counterexample?.[0]).toMatchObject({
      flavor: { diskGb: 1, ephemeralGb: 0 },
      bootFromVolume: true,
      bootVolumeLocalToInstance: false,
      volumeLocalToInstance: false,
      volumesPerNode: 0,
      count: 1,
    });
  });
});

describe("sahara-bfv on the command line", () => {
  it("is decided by real Sahara and real Nova: --driver real is the default, --driver model has nothing to run", async () => {
    expect(BUILT_IN_SCENARIOS["sahara-bfv"]?.drivers?.realGroup).toBe("real-sahara");
    expect(realDriverGroups("real-sahara")).toEqual(["real-sahara", "real-nova"]);
    expect(realDriverGroups("real-ironic")).toEqual(["real-ironic"]);
    expect(resolvedDriver("sahara-bfv")).toBe("real");
    const error = await loadScenario("sahara-bfv", { driver: "model" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/has no model driver/);
    expect((await loadScenario("sahara-bfv", { driver: "real" })).name).toBe("sahara-bfv");
  });

  it("takes --nova-src (Nova builds the server) and names a wrong one", async () => {
    expect(resolvedDriver("sahara-bfv", { novaSrc: "/nowhere" })).toBe("real");
    const error = await loadScenario("sahara-bfv", { novaSrc: "/nowhere" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toMatch(/--nova-src '\/nowhere' is not a directory/);
  });
});
