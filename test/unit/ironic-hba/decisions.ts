// Ironic's answers as the worker shapes them, for the ironic-hba unit tests to mutate.
import type { IronicDecision } from "../../../harness/openstack/ironic.js";
import type { IronicHbaCase } from "../../../scenarios/ironic-hba/case.js";
import { fcConnectionProperties } from "../../../scenarios/ironic-hba/request.js";

/** The volume targets after attach: Cinder's FC connection data written onto each. */
export const attachedProperties = (input: IronicHbaCase): IronicDecision["attached_properties"] =>
  input.volumes.map((v) => ({
    volume_id: v.volumeId,
    boot_index: v.bootIndex,
    properties: fcConnectionProperties(input, v) as Record<string, unknown>,
  }));
