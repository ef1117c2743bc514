// nova-placeholder (seed 001) on the real driver: Debian's Nova (or a user's tree, --nova-src)
// snapshots a volume-backed server into a placeholder image and creates a server from it;
// libvirt's embedded driver defines the domain, a real guest boots it.
import { closeEmbeddedLibvirt } from "../../harness/libvirt/embedded.js";
import { type NovaWorkerOptions, novaWorkerSpec } from "../../harness/openstack/nova.js";
import { stopAllWorkers } from "../../harness/openstack/worker.js";
import { type DomainBootRecord, type DomainTopology, defineScenario, type Scenario } from "../../harness/scenario.js";
import { placeholderCaseArbitrary } from "./arbitraries.js";
import { type PlaceholderCase, placeholderExamples } from "./case.js";
import { placeholderBoots } from "./driver.js";
import { placeholderBootProperties } from "./properties.js";
import { placeholderStaticProperties } from "./static-properties.js";

export type PlaceholderScenario = Scenario<PlaceholderCase, DomainBootRecord, DomainTopology>;

export function placeholderScenario(options: NovaWorkerOptions = {}, name = "nova-placeholder"): PlaceholderScenario {
  novaWorkerSpec(options); // a wrong --nova-src is bad input, named before anything starts
  return defineScenario<PlaceholderCase, DomainBootRecord, DomainTopology>({
    name,
    description:
      "booting the placeholder image of a volume-backed server's snapshot boots the volume restored from the snapshot (real Nova: snapshot_volume_backed, the compute API's BDM merge, nova-compute, the libvirt driver)",
    driverLabel: "real Nova (python3-nova or --nova-src) + embedded libvirt",
    examples: placeholderExamples,
    arbitrary: placeholderCaseArbitrary,
    boots: (input) => placeholderBoots(input, options),
    properties: placeholderBootProperties,
    staticProperties: placeholderStaticProperties,
    bootDespiteStaticFailures: true,
    staticRuns: 300,
    close: async () => {
      await stopAllWorkers();
      await closeEmbeddedLibvirt();
    },
  });
}

export default placeholderScenario();
