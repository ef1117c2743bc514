// sahara-bfv: real Sahara writes a node group's Heat stack; bootproof does what Heat and
// Cinder would do with it; real Nova builds the server and writes its libvirt domain; libvirt
// defines it and a real guest boots what Nova wrote. The static properties read the chain's
// decisions, the boot properties what the guest saw.
import { InputError } from "../../harness/errors.js";
import { closeEmbeddedLibvirt } from "../../harness/libvirt/embedded.js";
import { type NovaWorkerOptions, novaWorkerSpec } from "../../harness/openstack/nova.js";
import { stopAllWorkers } from "../../harness/openstack/worker.js";
import { type DomainBootRecord, type DomainTopology, defineScenario, type Scenario } from "../../harness/scenario.js";
import type { ScenarioLoadOptions } from "../index.js";
import { saharaBfvCaseArbitrary } from "./arbitraries.js";
import type { SaharaBfvCase } from "./case.js";
import { saharaBfvBoots } from "./driver.js";
import { saharaExamples } from "./examples.js";
import { saharaBootProperties } from "./properties.js";
import { saharaStaticProperties } from "./static-properties.js";

export type SaharaBfvScenario = Scenario<SaharaBfvCase, DomainBootRecord, DomainTopology>;

export function saharaBfvScenario(options: NovaWorkerOptions = {}, name = "sahara-bfv"): SaharaBfvScenario {
  // A wrong --nova-src / $BOOTPROOF_NOVA_SRC is bad input: named before anything starts.
  novaWorkerSpec(options);
  return defineScenario<SaharaBfvCase, DomainBootRecord, DomainTopology>({
    name,
    description:
      "Sahara boot from volume on the real code: real Sahara's Heat stack for a node group, what Heat and Cinder would do with it, real Nova's server create and libvirt domain, booted: the guest's root is the volume (or the image), data volumes after it",
    driverLabel:
      "real Sahara (python3-sahara) + bootproof's Heat and Cinder + real Nova (python3-nova or --nova-src) + embedded libvirt",
    examples: saharaExamples,
    arbitrary: saharaBfvCaseArbitrary,
    boots: (input) => saharaBfvBoots(input, options),
    properties: saharaBootProperties,
    staticProperties: saharaStaticProperties,
    bootDespiteStaticFailures: true,
    staticRuns: 300,
    close: async () => {
      await stopAllWorkers();
      await closeEmbeddedLibvirt();
    },
  });
}

/** The scenario as `bootproof run sahara-bfv` loads it: real code only, --nova-src honoured. */
export function loadSaharaBfv(options: ScenarioLoadOptions): SaharaBfvScenario {
  if (options.driver === "model")
    throw new InputError(
      "scenario 'sahara-bfv' has no model driver: it checks real Sahara, through real Nova, against the spec's model (scenarios/sahara/spec-model.ts); drop --driver model",
    );
  return saharaBfvScenario({ novaSrc: options.novaSrc });
}

export default saharaBfvScenario();
