// What the spec promises for a node group (seed 000, "Support for Boot from Volume"), with the
// node group options Sahara's API documents for the volumes, as a model: the reference the
// static and the boot properties compare real Sahara (through Heat, Cinder and Nova) with.
// It never writes a template. Pure.
//
//   - boot_from_volume: "Create a bootable volume from a registered Sahara image", sized by
//     "the root disk size of the flavor being used for the VM"; "Boot a VM with the
//     block_device_mapping parameter pointing to the created volume" as device vda, deleted
//     with the server; "The image parameter from the instance template should be removed".
//   - otherwise: "Sahara engine provisions VMs using a Glance image directly".
//   - data volumes: volumes_per_node volumes of volumes_size GiB (none when either is 0),
//     attached to the instance, with volume_type / volumes_availability_zone and, with
//     volume_local_to_instance, the hint to place them on the instance's host.
//   - boot_volume_type / boot_volume_availability_zone / boot_volume_local_to_instance: the
//     same for the bootable volume.
import type { SaharaNodeGroup } from "../../harness/openstack/sahara.js";

export interface SpecVolume {
  sizeGb: number;
  volumeType: string | null;
  availabilityZone: string | null;
  /** Cinder is asked to put the volume on the instance's host. */
  localToInstance: boolean;
}

export interface SpecBootVolume extends SpecVolume {
  imageId: string;
  /** "device_name: vda": the volume is the instance's root. */
  deviceName: "vda";
  deleteOnTermination: true;
}

export interface SpecNodeGroup {
  bootFromVolume: boolean;
  /** Set with boot_from_volume: the volume created from the image. */
  bootVolume: SpecBootVolume | null;
  /** The image the server boots from directly; null with boot_from_volume (removed from the template). */
  serverImage: string | null;
  /** The instance's root device. */
  rootDevice: "vda";
  dataVolumes: SpecVolume[];
  /** The flavor's root disk in GiB: the boot volume's size, or the image-backed root's. */
  rootDiskGb: number;
  /** Local disks the flavor itself gives the instance (ephemeral), in GiB: not image-backed. */
  ephemeralGb: number;
  /**
   * What the spec's own rules leave unmet by Cinder's: a flavor with root disk 0 gives a
   * bootable volume of 0 GiB, which no Cinder creates ("Sahara should take care about this
   * parameter").
   */
  caveats: string[];
}

export function specNodeGroup(nodeGroup: SaharaNodeGroup): SpecNodeGroup {
  const bootFromVolume = nodeGroup.bootFromVolume ?? false;
  const rootDiskGb = nodeGroup.flavor.diskGb;
  const caveats: string[] = [];
  if (bootFromVolume && rootDiskGb < 1)
    caveats.push(
      `the flavor's root disk is ${rootDiskGb} GiB: the spec sizes the bootable volume by it, and a volume needs at least 1 GiB`,
    );
  const perNode = nodeGroup.volumesPerNode ?? 0;
  const size = nodeGroup.volumesSizeGb ?? 0;
  const dataVolume: SpecVolume = {
    sizeGb: size,
    volumeType: nodeGroup.volumeType ?? null,
    availabilityZone: nodeGroup.volumesAvailabilityZone ?? null,
    localToInstance: nodeGroup.volumeLocalToInstance ?? false,
  };
  return {
    bootFromVolume,
    bootVolume: bootFromVolume
      ? {
          imageId: nodeGroup.imageId,
          sizeGb: rootDiskGb,
          volumeType: nodeGroup.bootVolumeType ?? null,
          availabilityZone: nodeGroup.bootVolumeAvailabilityZone ?? null,
          localToInstance: nodeGroup.bootVolumeLocalToInstance ?? false,
          deviceName: "vda",
          deleteOnTermination: true,
        }
      : null,
    serverImage: bootFromVolume ? null : nodeGroup.imageId,
    rootDevice: "vda",
    dataVolumes: perNode > 0 && size > 0 ? Array.from({ length: perNode }, () => ({ ...dataVolume })) : [],
    rootDiskGb,
    ephemeralGb: nodeGroup.flavor.ephemeralGb,
    caveats,
  };
}
