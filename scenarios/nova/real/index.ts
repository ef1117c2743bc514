// nova-rescue on the real driver: Debian's Nova (or a user's tree, --nova-src) writes the
// domains, libvirt's embedded driver defines them, real guests boot what libvirt describes.
// The static properties read libvirt's own addresses; the boot properties what each guest saw.
import { closeEmbeddedLibvirt } from "../../../harness/libvirt/embedded.js";
import { type NovaWorkerOptions, novaWorkerSpec } from "../../../harness/openstack/nova.js";
import { stopAllWorkers } from "../../../harness/openstack/worker.js";
import { type DomainBootRecord, type DomainTopology, defineScenario, type Scenario } from "../../../harness/scenario.js";
import { novaExamples } from "../index.js";
import type { NovaRescueCase } from "../model.js";
import { novaRealCaseArbitrary } from "./arbitraries.js";
import { realNovaBoots } from "./driver.js";
import { realNovaBootProperties } from "./properties.js";
import { realNovaStaticProperties } from "./static-properties.js";

export type RealNovaScenario = Scenario<NovaRescueCase, DomainBootRecord, DomainTopology>;

/** The model's examples minus the one that documents an OVMF firmware gap (not the driver's question). */
export const realNovaExamples = novaExamples.filter((e) => e.name !== "expected-failure-lsi-rescue-under-ovmf");

export function realNovaScenario(options: NovaWorkerOptions = {}, name = "nova-rescue"): RealNovaScenario {
  // A wrong --nova-src / $BOOTPROOF_NOVA_SRC is bad input: named before anything starts.
  novaWorkerSpec(options);
  return defineScenario<NovaRescueCase, DomainBootRecord, DomainTopology>({
    name,
    description:
      "Nova stable device rescue on the real driver (Nova's LibvirtDriver + libvirt's own addresses): the rescue guest sees every normal device at the same address, plus the rescue device booted first",
    driverLabel: "real Nova (python3-nova or --nova-src) + embedded libvirt",
    examples: realNovaExamples,
    arbitrary: novaRealCaseArbitrary,
    boots: (input) => realNovaBoots(input, options),
    properties: realNovaBootProperties,
    staticProperties: realNovaStaticProperties,
    bootDespiteStaticFailures: true,
    staticRuns: 500,
    close: async () => {
      await stopAllWorkers();
      await closeEmbeddedLibvirt();
    },
  });
}

export default realNovaScenario();
