// Where bootproof's TypeScript model of Nova and the real Nova libvirt driver agree, and where
// they differ. The model is the reference of what the spec promises; this test keeps the
// list of differences explicit. It compares, for generated cases, the disk mapping (mapping
// name → target dev, bus, device type) of the normal boot and of the rescue, and whether
// the stable-rescue promise holds: the model pins every address (so it always holds), the
// real driver leaves addresses to libvirt (the real static checks decide).
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { closeEmbeddedLibvirt } from "../../../harness/libvirt/embedded.js";
import { novaDomains } from "../../../harness/openstack/nova.js";
import { stopAllWorkers } from "../../../harness/openstack/worker.js";
import type { DomainTopology } from "../../../harness/scenario.js";
import { resolveTopology } from "../../../harness/scenario.js";
import { novaCaseArbitrary } from "../../../scenarios/nova/arbitraries.js";
import { libvirtDriver } from "../../../scenarios/nova/driver.js";
import { normalMapping, rescueMappingEntry } from "../../../scenarios/nova/mapping.js";
import type { NovaRescueCase } from "../../../scenarios/nova/model.js";
import { realNovaBoots } from "../../../scenarios/nova/real/driver.js";
import { realNovaStaticProperties } from "../../../scenarios/nova/real/static-properties.js";
import { staticFailures } from "../../fixtures/nova/static-check.js";

afterAll(async () => {
  await stopAllWorkers();
  await closeEmbeddedLibvirt();
});

type Entry = { dev: string; bus: string; type: string };
const key = (e: Entry) => `${e.dev} ${e.bus} ${e.type}`;

function modelMapping(input: NovaRescueCase): { normal: Map<string, Entry>; rescue: Entry } {
  const normal = normalMapping(input.instance);
  const rescue = rescueMappingEntry(input.instance, input.rescue, normal);
  return {
    normal: new Map(normal.map((d) => [d.mappingName, { dev: d.dev, bus: d.bus, type: d.type }])),
    rescue: { dev: rescue.dev, bus: rescue.bus, type: rescue.type },
  };
}

/** A name for each kind of difference, so the list stays short and readable. */
function classify(input: NovaRescueCase, what: string): string {
  if (
    what === "rescue" &&
    input.instance.machineType === "q35" &&
    input.rescue.hw_rescue_device === "cdrom" &&
    !input.rescue.hw_rescue_bus
  )
    return "q35 cdrom rescue without hw_rescue_bus: real Nova picks IDE (the rescue image's default machine type is pc), the model SATA";
  return `unclassified difference in ${what}`;
}

describe("the Nova model against the real Nova libvirt driver", () => {
  it("agree on every disk's target, bus and type but for the listed differences", async () => {
    const inputs = fc.sample(novaCaseArbitrary, { seed: 7, numRuns: 150 });
    let compared = 0;
    const differences = new Map<string, number>();
    for (const input of inputs) {
      const real = await novaDomains(input);
      if (real.outcome !== "built") {
        differences.set(`Nova refused: ${real.error.type}`, (differences.get(`Nova refused: ${real.error.type}`) ?? 0) + 1);
        continue;
      }
      const model = modelMapping(input);
      for (const disk of real.disks) {
        const entry = { dev: disk.dev, bus: disk.bus, type: disk.device };
        const expected = disk.role === "rescue" ? model.rescue : model.normal.get(disk.mappingName);
        const what = disk.role === "rescue" ? "rescue" : disk.mappingName;
        compared++;
        if (!expected || key(expected) !== key(entry)) {
          const name = classify(input, what);
          differences.set(name, (differences.get(name) ?? 0) + 1);
        }
      }
    }
    // The list of differences, printed for whoever reads the test log.
    console.log(
      `model vs real Nova: ${compared} disks compared; differences: ${JSON.stringify(Object.fromEntries(differences))}`,
    );
    expect(compared).toBeGreaterThan(400);
    expect([...differences.keys()].filter((k) => k.startsWith("unclassified") || k.startsWith("Nova refused"))).toEqual([]);
    expect([...differences.keys()]).toEqual([
      "q35 cdrom rescue without hw_rescue_bus: real Nova picks IDE (the rescue image's default machine type is pc), the model SATA",
    ]);
  }, 120_000);

  it("differ on the stable-rescue promise: the model pins every address, real libvirt moves devices", async () => {
    const inputs = fc.sample(novaCaseArbitrary, { seed: 7, numRuns: 60 });
    const realFailures = new Map<string, number>();
    let modelFailures = 0;
    for (const input of inputs) {
      modelFailures += staticFailures(libvirtDriver, input).length;
      const plans = await realNovaBoots(input);
      const topologies = Object.fromEntries(plans.map((p) => [p.name, resolveTopology(p) as DomainTopology]));
      for (const property of realNovaStaticProperties) {
        const outcome = property.check(input, topologies);
        if (!outcome.ok) {
          const kind = `${property.name}: ${(outcome.message ?? "")
            .replace(/\(and .*$/, "")
            .replace(/[0-9a-f]{2}:[0-9a-f]{2}\.\d|\d-\d(\.\d)*/g, "…")
            .replace(/\b[vsh]d[a-z]\b/g, "…")}`;
          realFailures.set(kind, (realFailures.get(kind) ?? 0) + 1);
        }
      }
    }
    console.log(
      `real Nova + libvirt static failures over ${inputs.length} model inputs: ${JSON.stringify(Object.fromEntries(realFailures), null, 1)}`,
    );
    expect(modelFailures).toBe(0);
    // Measured: the balloon and RNG functions move behind a new virtio rescue disk.
    expect([...realFailures.keys()].some((k) => /S7.*memballoon virtio moved/.test(k))).toBe(true);
  }, 120_000);
});
