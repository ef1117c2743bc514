// The storage interface the spec promises (seed 002: scenario 1, and the storage interface of
// "Proposed change"), as a model: what a node's records should make Ironic decide. It is the
// reference real Ironic is compared with in the boot-free sweep; it never renders anything.
import type { IronicRealCase } from "./case.js";
import { bootVolumeOf } from "./case.js";

export interface SpecDecision {
  /** The deploy goes ahead. */
  accepts: boolean;
  /** Why it must not, in the node's terms (empty when it accepts). */
  refusals: string[];
  /** should_write_image: the OS is written by Ironic (false: already on the boot volume). */
  shouldWriteImage: boolean;
  /** Scenario 1: the node network-boots iPXE and sanboots its boot_index 0 volume. */
  bootsFromVolume: boolean;
  /** Volumes Cinder must be asked to attach at deploy and at power on, detach at power off. */
  cinderVolumes: string[];
}

export function specDecision(input: IronicRealCase): SpecDecision {
  const { node } = input;
  const refusals: string[] = [];
  const storage = node.storageInterface !== "noop";
  const bootVolume = storage ? bootVolumeOf(input) : undefined;
  // "should_write_image": scenarios 1-3 skip the write when a boot_index 0 volume exists; only
  // force_deployment (scenario 4) bypasses that. noop storage ignores volumes altogether.
  const shouldWriteImage = bootVolume === undefined;
  if (shouldWriteImage && !node.imageSource)
    refusals.push("nothing to deploy: no boot_index 0 volume (or noop storage) and no instance_info image_source");
  if (storage && input.volumes.length > 0) {
    // Validation "skipped if no volumes are defined"; with volumes the capability, the
    // initiator and the volumes must be in alignment.
    if (bootVolume && node.iscsiBoot !== "true")
      refusals.push(`the boot_index 0 volume is iSCSI but capabilities has iscsi_boot=${node.iscsiBoot ?? "(unset)"}, not true`);
    if (!input.connector) refusals.push("iSCSI volume targets but no iqn volume connector (the initiator configuration)");
  }
  // The ramdisk deploy interface (newer than the spec, which names the agent and iSCSI deploys)
  // boots instance_info's kernel and ramdisk; these nodes carry none.
  if (node.deployInterface === "ramdisk")
    refusals.push("the ramdisk deploy interface boots instance_info kernel and ramdisk, and the node has neither");
  const accepts = refusals.length === 0;
  return {
    accepts,
    refusals,
    shouldWriteImage,
    bootsFromVolume: accepts && bootVolume !== undefined,
    cinderVolumes: accepts && node.storageInterface === "cinder" ? input.volumes.map((v) => v.volumeId) : [],
  };
}
