// nova-dpm (seed 003): the spec's boot-from-volume driver as a model, booted for real. A
// partition is a machine with one HBA per vHBA whose LUs are bootproof-served volumes with
// Fibre Channel identities; the driver's boot parameters pick its only boot device. Two
// variants answer the spec's open question: `nova-dpm` retries the next target WWPN (then
// the other adapter) when a boot fails, `nova-dpm-no-retry` does not.
import { defineScenario, type Scenario } from "../../harness/scenario.js";
import { novaDpmCaseArbitrary } from "./arbitraries.js";
import { type NovaDpmCase, novaDpmExamples } from "./case.js";
import { novaDpmBoots } from "./driver.js";
import type { DpmDriverVariant } from "./model.js";
import { novaDpmProperties } from "./properties.js";

export function novaDpmScenario(variant: DpmDriverVariant): Scenario<NovaDpmCase> {
  const retry = variant === "retry";
  return defineScenario<NovaDpmCase>({
    name: retry ? "nova-dpm" : "nova-dpm-no-retry",
    description: retry
      ? "nova-dpm boot from an FC volume through a vHBA (spec model; retries the next target WWPN, then the other adapter), booted through QEMU's iSCSI initiator to bootproof's target"
      : "nova-dpm's short-term driver that never retries another target WWPN: with the first target port down it must fail, naming the port",
    driverLabel: `the spec's model (scenarios/nova-dpm/model.ts), ${retry ? "retrying" : "no retry"}`,
    examples: novaDpmExamples,
    arbitrary: novaDpmCaseArbitrary,
    boots: (input) => novaDpmBoots(variant, input),
    properties: novaDpmProperties(variant),
  });
}
