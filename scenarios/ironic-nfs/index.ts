// ironic-nfs (seed 002, scenario 5): the spec's model of an iPXE boot with the conductor's
// kernel and ramdisk and the root on NFS, booted for real from bootproof's HTTP and NFSv3
// servers. Ironic 21.4.4 has no such path (its iPXE template boots volumes only), so the
// spec's model decides; the scenario's description says so.
import { defineScenario, type Scenario } from "../../harness/scenario.js";
import { ironicNfsCaseArbitrary } from "./arbitraries.js";
import { type IronicNfsCase, ironicNfsExamples } from "./case.js";
import { ironicNfsBoots } from "./driver.js";
import { ironicNfsBootProperties, refusesBeforeBoot } from "./properties.js";

export type IronicNfsScenario = Scenario<IronicNfsCase>;

export const ironicNfsScenario: IronicNfsScenario = defineScenario<IronicNfsCase>({
  name: "ironic-nfs",
  description:
    "Ironic scenario 5 on the spec's model (Ironic 21.4.4 has no NFS root path): iPXE loads the conductor's kernel and ramdisk over HTTP, the root is bootproof's NFSv3 export, BIOS and UEFI",
  driverLabel: "the spec's model (scenarios/ironic-nfs/model.ts)",
  examples: ironicNfsExamples,
  arbitrary: ironicNfsCaseArbitrary,
  boots: (input) => ironicNfsBoots(input),
  properties: ironicNfsBootProperties,
  staticProperties: [refusesBeforeBoot],
  staticRuns: 500,
});

export default ironicNfsScenario;
