// The input of sahara-bfv: one Sahara node group (as Sahara's API takes it, with its flavor)
// and the cloud it is provisioned in: the Glance image it names (whose properties choose the
// guest's machine type and firmware), the volume types and availability zones Cinder has. The
// identities the guest can show (a volume's serial, a medium's role marker) are derived here.
import type { SaharaNodeGroup } from "../../harness/openstack/sahara.js";

export type MachineType = "pc" | "q35";
export type Firmware = "seabios" | "ovmf";

export interface SaharaBfvCase {
  nodeGroup: SaharaNodeGroup;
  /** The Glance image `nodeGroup.imageId` names: the hardware its properties ask Nova for. */
  image: { machineType: MachineType; firmware: Firmware };
}

/** The Sahara image every case registers in Glance (its id is what the node group names). */
export const IMAGE_ID = "5a4a0000-b007-4e6a-9d3e-1ba9e0000001";
export const IMAGE_NAME = "sahara-vanilla-bootproof";
/** What Glance reports as the image's size: above the probe medium, below 1 GiB. */
export const IMAGE_SIZE_BYTES = 64 * 1024 * 1024;

/** The cloud's Cinder: the volume types and availability zones a node group may name. */
export const CINDER_VOLUME_TYPES = ["standard", "ssd"] as const;
export const AVAILABILITY_ZONES = ["nova", "az-2"] as const;

/** The Glance v2 image as Glance returns it (extra properties top-level strings). */
export function glanceImageOf(input: SaharaBfvCase): { id: string; status: string } & Record<string, unknown> {
  return {
    id: input.nodeGroup.imageId,
    name: IMAGE_NAME,
    status: "active",
    disk_format: "raw",
    container_format: "bare",
    size: IMAGE_SIZE_BYTES,
    min_disk: 0,
    min_ram: 0,
    checksum: "b0070000b0070000b0070000b0070000",
    hw_machine_type: input.image.machineType,
    hw_firmware_type: input.image.firmware === "ovmf" ? "uefi" : "bios",
    _sahara_username: input.nodeGroup.imageUsername ?? "ubuntu",
  };
}

/** The role marker of the medium behind a volume created from the image (what the guest reports when it boots it). */
export const volumeRole = (volumeId: string) => `volume-${volumeId.slice(0, 8)}`;
/** The role marker of the image itself, as Nova's image-backed local disk holds it. */
export const IMAGE_ROLE = "image";

/**
 * The serial the guest reads for a volume: Nova writes the volume id as the disk's
 * <serial>, and virtio-blk carries at most 20 bytes of it (VIRTIO_BLK_ID_BYTES).
 */
export const VIRTIO_SERIAL_BYTES = 20;
export const guestSerialOf = (volumeId: string) => volumeId.slice(0, VIRTIO_SERIAL_BYTES);

export const GiB = 1024 * 1024 * 1024;
