// The spec's scenarios 3 and 4 (seed 002, "Boot via hardware Host Bus Adapter (HBA) to
// volume" and "... with image deployment") and its storage interface, as a model: what a
// node's records should make Ironic decide. The boot-free sweep compares real Ironic with it;
// it renders nothing.
import { bootVolumeOf, type IronicHbaCase } from "./case.js";

export interface HbaSpecDecision {
  accepts: boolean;
  /** Why it must not, in the node's terms (empty when it accepts). */
  refusals: string[];
  /** Scenario 3: false (the LUN is pre-populated); scenario 4 (force_deployment): true. */
  shouldWriteImage: boolean;
  /** Scenario 3: the node boots its boot_index 0 volume through the HBA, nothing written. */
  bootsFromVolume: boolean;
}

export function hbaSpecDecision(input: IronicHbaCase): HbaSpecDecision {
  const { node } = input;
  const refusals: string[] = [];
  // The spec's default storage interface is noop, which "performs no-op behavior": its nodes
  // have no volumes as far as the deploy is concerned.
  const storage = node.storageInterface !== "noop";
  const bootVolume = storage ? bootVolumeOf(input) : undefined;
  // Scenario 3 writes nothing to a boot_index 0 volume; force_deployment (scenario 4) bypasses
  // that. An image_source alone does not: "No volume deployment operation is expected".
  const shouldWriteImage = bootVolume === undefined || node.forceDeployment;
  if (shouldWriteImage && !node.imageSource)
    refusals.push(
      bootVolume
        ? "force_deployment asks for an image write, and instance_info has no image_source"
        : "nothing to deploy: no boot_index 0 volume (or noop storage) and no instance_info image_source",
    );
  if (storage && input.volumes.length > 0) {
    if (bootVolume && node.hbaBoot !== "true")
      refusals.push(
        `the boot_index 0 volume boots through the HBA, but capabilities has hba_boot=${node.hbaBoot ?? "(unset)"}, not true`,
      );
    // "the capabilities, initiator configuration, and volume configuration are in alignment
    // for the specified volume/path type": a Fibre Channel volume needs the node's WWPNs.
    if (input.connectors.wwpns.length === 0)
      refusals.push("fibre_channel volume targets but no wwpn volume connector (the HBA's ports)");
  }
  const accepts = refusals.length === 0;
  return {
    accepts,
    refusals,
    shouldWriteImage,
    bootsFromVolume: accepts && bootVolume !== undefined && !shouldWriteImage,
  };
}
