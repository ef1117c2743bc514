// The boot properties of sahara-bfv: what the guest of the node group's first instance saw,
// against the spec's model. The identities come from what the guest can read: the role
// marker of the medium it booted (a volume created from the image carries the volume's, the
// image-backed local disk the image's), each block device's serial (Nova writes the volume id,
// the guest reads its first 20 bytes), kernel name and size.
import type { Observation, ObservedBlockDevice } from "../../firmware/observation.js";
import type { DomainBootRecord, Property, PropertyOutcome } from "../../harness/scenario.js";
import { fail, isOutcome, observedOrFailure, pass } from "../common/outcomes.js";
import { GiB, guestSerialOf, IMAGE_ROLE, type SaharaBfvCase, volumeRole } from "./case.js";
import { BOOT_NAME, recordOf, type SaharaBfvRecord } from "./driver.js";
import { type SpecNodeGroup, specNodeGroup } from "./spec-model.js";
import { bootVolumeOf, dataVolumesOf, follows } from "./static-properties.js";

type SaharaProperty = Property<SaharaBfvCase, DomainBootRecord>;
type Boots = Record<string, DomainBootRecord>;

const gib = (bytes: number) => `${bytes / GiB} GiB`;
const describe = (d: ObservedBlockDevice) => `${d.name} (${d.serial ? `serial ${d.serial}` : "no serial"}, ${gib(d.sizeBytes)})`;

/** The instance's observation, or why there is none. */
function guestOf(boots: Boots): Observation | PropertyOutcome {
  const boot = boots[BOOT_NAME];
  if (!boot) return fail("the instance never booted: the chain refused it (see the static properties)");
  return observedOrFailure(boot);
}

/** What a boot property judges: the spec, the chain's record and the guest's observation. */
function judged(
  input: SaharaBfvCase,
  boots: Boots,
): { spec: SpecNodeGroup; record: SaharaBfvRecord; observation: Observation } | PropertyOutcome {
  const observation = guestOf(boots);
  if (isOutcome(observation)) return observation;
  return { spec: specNodeGroup(input.nodeGroup), record: recordOf(input), observation };
}

/** Block devices the guest sees with no volume's serial: local disks. */
function localDisks(observation: Observation, volumeIds: string[]): ObservedBlockDevice[] {
  const serials = new Set(volumeIds.map(guestSerialOf));
  return observation.blockDevices.filter((d) => !d.serial || !serials.has(d.serial));
}

export const bootsFromVolume: SaharaProperty = {
  name: "P1-boots-from-the-volume",
  description:
    "with boot_from_volume the guest booted the volume created from the image (its role marker), which it sees on vda with the volume's serial and the flavor's root disk size, and it has no image-backed local disk (only the flavor's ephemeral disk, if any)",
  check(input, boots) {
    if (!specNodeGroup(input.nodeGroup).bootFromVolume) return pass();
    const judging = judged(input, boots);
    if (isOutcome(judging)) return judging;
    const { spec, record, observation } = judging;
    const volume = bootVolumeOf(record);
    if (!volume) return fail("Heat created no volume from the image for the instance to boot from");
    const want = volumeRole(volume.id);
    if (observation.role !== want)
      return fail(
        `the guest booted '${observation.role ?? "nothing the probe could report"}'${observation.role === IMAGE_ROLE ? " (the image itself)" : ""}, not the boot volume ${volume.id} ('${want}')`,
      );
    const serial = guestSerialOf(volume.id);
    const device = observation.blockDevices.find((d) => d.serial === serial);
    const seen = observation.blockDevices.map(describe).join(", ") || "none";
    if (!device) return fail(`the guest sees no disk with the boot volume's serial ${serial}; it sees ${seen}`);
    if (device.name !== spec.rootDevice)
      return fail(`the guest sees the boot volume on ${device.name}, not ${spec.rootDevice} (devices: ${seen})`);
    if (device.sizeBytes !== spec.rootDiskGb * GiB)
      return fail(`the guest sees the boot volume as ${gib(device.sizeBytes)}; the flavor's root disk is ${spec.rootDiskGb} GiB`);
    const volumeIds = [volume.id, ...dataVolumesOf(record).map((v) => v.id)];
    const local = localDisks(observation, volumeIds);
    const ephemerals = spec.ephemeralGb > 0 ? 1 : 0;
    const unexpected = local.filter((d) => d.sizeBytes !== spec.ephemeralGb * GiB);
    if (local.length > ephemerals || unexpected.length > 0)
      return fail(
        `the guest sees local disk${local.length === 1 ? "" : "s"} ${local.map(describe).join(", ")}; the flavor gives ${ephemerals ? `one ${spec.ephemeralGb} GiB ephemeral disk` : "none"}, and the image must not be one`,
      );
    return pass();
  },
};

export const dataVolumesFollow: SaharaProperty = {
  name: "P2-data-volumes-follow-root",
  description:
    "the guest sees volumes_per_node data volumes of volumes_size GiB, each with its volume's serial, every one after the root device",
  check(input, boots) {
    const judging = judged(input, boots);
    if (isOutcome(judging)) return judging;
    const { spec, record, observation } = judging;
    const data = dataVolumesOf(record);
    if (data.length !== spec.dataVolumes.length)
      return fail(`Heat attaches ${data.length} data volumes; the node group asks for ${spec.dataVolumes.length}`);
    const boot = bootVolumeOf(record);
    const root =
      (boot && observation.blockDevices.find((d) => d.serial === guestSerialOf(boot.id))) ??
      observation.blockDevices.find((d) => d.name === spec.rootDevice);
    if (!root) return fail(`the guest sees no root device (${spec.rootDevice})`);
    for (const [i, volume] of data.entries()) {
      const serial = guestSerialOf(volume.id);
      const device = observation.blockDevices.find((d) => d.serial === serial);
      if (!device)
        return fail(
          `the guest sees no disk with data volume ${volume.id}'s serial ${serial}; it sees ${observation.blockDevices.map(describe).join(", ")}`,
        );
      const sizeGb = spec.dataVolumes[i]!.sizeGb;
      if (device.sizeBytes !== sizeGb * GiB)
        return fail(`the guest sees data volume ${volume.id} as ${gib(device.sizeBytes)}; volumes_size is ${sizeGb} GiB`);
      if (!follows(device.name, root.name))
        return fail(`the guest sees data volume ${volume.id} on ${device.name}, before the root ${root.name}`);
    }
    return pass();
  },
};

export const imageIsRoot: SaharaProperty = {
  name: "P3-image-is-the-root",
  description:
    "without boot_from_volume the guest booted the image (its role marker) from vda, a local disk with no volume serial, and no volume was created from the image",
  check(input, boots) {
    if (specNodeGroup(input.nodeGroup).bootFromVolume) return pass();
    const judging = judged(input, boots);
    if (isOutcome(judging)) return judging;
    const { spec, record, observation } = judging;
    const volume = bootVolumeOf(record);
    if (volume) return fail(`Heat created volume ${volume.id} from the image although boot_from_volume is false`);
    if (observation.role !== IMAGE_ROLE)
      return fail(`the guest booted '${observation.role ?? "nothing the probe could report"}', not the image ('${IMAGE_ROLE}')`);
    const root = observation.blockDevices.find((d) => d.name === spec.rootDevice);
    const volumeIds = dataVolumesOf(record).map((v) => v.id);
    if (!root) return fail(`the guest sees no ${spec.rootDevice}`);
    if (!localDisks(observation, volumeIds).includes(root))
      return fail(`the guest's ${spec.rootDevice} is a volume (${describe(root)}), not the image-backed local disk`);
    return pass();
  },
};

export const saharaBootProperties: SaharaProperty[] = [bootsFromVolume, dataVolumesFollow, imageIsRoot];
