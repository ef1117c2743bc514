// A case → the API requests real Nova gets: the original volume-backed server's create (to be
// snapshotted), then the new server's create from the placeholder image Nova stored. Pure:
// the second request is built from Nova's own snapshot answer (its image, snapshots, volumes).
import type {
  CinderVolume,
  NovaBdmV2,
  NovaLegacyBdm,
  NovaServerRequest,
  NovaSnapshotAnswer,
} from "../../harness/openstack/nova-server.js";
import {
  NEW_SERVER_UUID,
  ORIGINAL_SERVER_UUID,
  type PlaceholderCase,
  type PlaceholderVolume,
  type RequestMapping,
} from "./case.js";

type Snapshotted = Extract<NovaSnapshotAnswer, { outcome: "snapshotted" }>;

/** The image properties the original root volume inherited from its image (Cinder copies them). */
export function imageProperties(hardware: PlaceholderCase["hardware"]): Record<string, string> {
  return {
    hw_machine_type: hardware.machineType,
    hw_disk_bus: hardware.diskBus,
    ...(hardware.diskBus === "scsi" ? { hw_scsi_model: "virtio-scsi" } : {}),
    ...(hardware.firmware === "ovmf" ? { hw_firmware_type: "uefi" } : {}),
  };
}

/** The device name Nova gives the root on this bus (/dev/vda, /dev/sda). */
export function rootDeviceName(hardware: PlaceholderCase["hardware"]): string {
  return hardware.diskBus === "scsi" ? "/dev/sda" : "/dev/vda";
}

function cinderVolume(volume: PlaceholderVolume, hardware: PlaceholderCase["hardware"]): CinderVolume {
  const bootable = volume.content !== "data";
  return {
    size: volume.sizeGb,
    status: "available",
    bootable,
    availability_zone: "nova",
    ...(bootable ? { volume_image_metadata: imageProperties(hardware) } : {}),
  };
}

const hardwareOf = (input: PlaceholderCase, uuid: string) => ({
  uuid,
  machineType: input.hardware.machineType,
  firmware: input.hardware.firmware,
});

/** POST /servers for the original: its root volume (boot_index 0) and its data volumes. */
export function originalServerRequest(input: PlaceholderCase): NovaServerRequest {
  const { root, data } = input.original;
  const volumes = Object.fromEntries([root, ...data].map((v) => [v.id, cinderVolume(v, input.hardware)]));
  return {
    instance: hardwareOf(input, ORIGINAL_SERVER_UUID),
    flavor: { rootGb: input.original.flavorRootGb },
    server: {
      blockDeviceMappingV2: [
        { source_type: "volume", destination_type: "volume", uuid: root.id, boot_index: 0 },
        ...data.map((v): NovaBdmV2 => ({ source_type: "volume", destination_type: "volume", uuid: v.id, boot_index: -1 })),
      ],
    },
    volumes,
    snapshotName: "bootproof-placeholder",
  };
}

/** The snapshot Nova took of the original's root volume. */
export function rootSnapshotId(input: PlaceholderCase, snapshotted: Snapshotted): string {
  const found = Object.values(snapshotted.snapshots).find((s) => s.volume_id === input.original.root.id);
  if (!found) throw new Error(`Nova's snapshot answer has no snapshot of the root volume ${input.original.root.id}`);
  return found.id;
}

function v2Mapping(mapping: RequestMapping, snapshotId: string): NovaBdmV2 {
  const device = mapping.deviceName !== undefined ? { device_name: mapping.deviceName } : {};
  switch (mapping.kind) {
    case "volume":
      return {
        source_type: "volume",
        destination_type: "volume",
        uuid: mapping.volumeId,
        boot_index: mapping.bootIndex ?? -1,
        ...device,
      };
    case "snapshot":
      return {
        source_type: "snapshot",
        destination_type: "volume",
        uuid: snapshotId,
        boot_index: mapping.bootIndex ?? -1,
        ...(mapping.volumeSizeGb !== undefined ? { volume_size: mapping.volumeSizeGb } : {}),
        ...device,
      };
    case "blank":
      return { source_type: "blank", destination_type: "volume", volume_size: mapping.volumeSizeGb, boot_index: -1, ...device };
  }
}

function legacyMapping(mapping: RequestMapping, snapshotId: string): NovaLegacyBdm {
  // The legacy syntax has no boot index and always names the device.
  const deviceName = mapping.deviceName ?? "vdb";
  switch (mapping.kind) {
    case "volume":
      return { device_name: deviceName, volume_id: mapping.volumeId, delete_on_termination: false };
    case "snapshot":
      return {
        device_name: deviceName,
        snapshot_id: snapshotId,
        ...(mapping.volumeSizeGb !== undefined ? { volume_size: mapping.volumeSizeGb } : {}),
      };
    case "blank":
      throw new Error("the legacy block_device_mapping syntax cannot ask for a blank volume");
  }
}

/** POST /servers with imageRef = the placeholder, and the request's own mappings. */
export function placeholderServerRequest(input: PlaceholderCase, snapshotted: Snapshotted): NovaServerRequest {
  const snapshotId = rootSnapshotId(input, snapshotted);
  const mappings = input.request.mappings;
  const requestVolumes = Object.fromEntries(input.request.volumes.map((v) => [v.id, cinderVolume(v, input.hardware)]));
  return {
    instance: hardwareOf(input, NEW_SERVER_UUID),
    flavor: { rootGb: input.request.flavorRootGb },
    server: {
      imageRef: snapshotted.image.id,
      ...(mappings.length === 0
        ? {}
        : input.request.syntax === "legacy"
          ? { blockDeviceMapping: mappings.map((m) => legacyMapping(m, snapshotId)) }
          : { blockDeviceMappingV2: mappings.map((m) => v2Mapping(m, snapshotId)) }),
    },
    images: { [snapshotted.image.id]: snapshotted.image },
    volumes: { ...snapshotted.volumes, ...requestVolumes },
    snapshots: snapshotted.snapshots,
  };
}
