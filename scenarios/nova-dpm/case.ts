// A nova-dpm case (seed 003): the compute service's adapter mappings, the host WWPNs the HMC
// gave the partition's vHBAs, the volumes Cinder mapped (block_device_info) and those it did
// not, the storage's target ports and which of them are down, and the firmware and HBA model
// the partition is emulated with (QEMU has no FC HBA: a SCSI HBA whose LUs carry FC identities).
import type { Firmware, ScsiControllerKind } from "../../emulator/machine.js";
import type { BlockDeviceInfo } from "./model.js";

export interface DpmVolume {
  volumeId: string;
  /** The LU's NAA WWN, 16 hex digits. */
  wwn: string;
  /** The LUN the storage presents it at (target_lun). */
  targetLun: number;
}

export interface NovaDpmCase {
  firmware: Firmware["kind"];
  hba: ScsiControllerKind;
  /** `physical_storage_adapter_mappings` lines, "<storage-adapter-id>:<port-element-id>". */
  adapterMappings: string[];
  /** The host WWPN the HMC assigned to each vHBA, in mapping order. */
  hostWwpns: string[];
  instanceUuid: string;
  /** The volumes of block_device_info, in its order (the same order as its mappings). */
  volumes: DpmVolume[];
  blockDeviceInfo: BlockDeviceInfo;
  /** LUs the storage holds for other hosts: never mapped to this partition. */
  unmappedVolumes: DpmVolume[];
  /** Every target WWPN of the storage (each one portal of bootproof's target). */
  storagePorts: string[];
  /** Target WWPNs that are down from power-on. */
  downPorts: string[];
}

export const INSTANCE_UUID = "3f1c9a7e-2b4d-4e6f-8a1b-5c7d9e0f1a2b";
export const ADAPTERS = ["48602646-b18d-11e6-9c12-42f2e9ef1641", "11112646-b18d-11e6-9c12-42f2e9e98756"];
/** The spec's example target WWPNs, and a third. */
export const STORAGE_PORTS = ["500507680b214ac1", "500507680b244ac0", "500507680b224ac2"];
export const HOST_WWPNS = ["c05076ffe5000007", "c05076ffe5000008"];

export function fcConnectionInfo(
  hostWwpns: readonly string[],
  map: Record<string, string[]>,
  targetLun: number,
  bootIndex: number | null,
): BlockDeviceInfo["block_device_mapping"][number] {
  return {
    connection_info: {
      driver_volume_type: "fibre_channel",
      connector: { wwpns: [...hostWwpns], host: INSTANCE_UUID },
      data: { initiator_target_map: map, target_discovered: false, target_lun: targetLun, boot_index: bootIndex },
    },
  };
}

const BOOT: DpmVolume = { volumeId: "vol-boot", wwn: "6005076801808100", targetLun: 0 };
const DATA: DpmVolume = { volumeId: "vol-data", wwn: "6005076801808101", targetLun: 1 };
const OTHER: DpmVolume = { volumeId: "vol-other-host", wwn: "600507680180810f", targetLun: 2 };

function example(firmware: Firmware["kind"], adapters: number, downPorts: string[], bootSecond: boolean): NovaDpmCase {
  const hostWwpns = HOST_WWPNS.slice(0, adapters);
  const map = Object.fromEntries(hostWwpns.map((w) => [w, STORAGE_PORTS.slice(0, 2)]));
  const volumes = bootSecond ? [DATA, BOOT] : [BOOT];
  return {
    firmware,
    hba: "virtio-scsi-pci",
    adapterMappings: ADAPTERS.slice(0, adapters).map((a, i) => `${a}:${i}`),
    hostWwpns,
    instanceUuid: INSTANCE_UUID,
    volumes,
    blockDeviceInfo: {
      block_device_mapping: volumes.map((v) => fcConnectionInfo(hostWwpns, map, v.targetLun, v === BOOT ? 0 : null)),
    },
    unmappedVolumes: [OTHER],
    storagePorts: STORAGE_PORTS.slice(0, 2),
    downPorts,
  };
}

export const novaDpmExamples: Array<{ name: string; input: NovaDpmCase }> = [
  { name: "two-adapters", input: example("seabios", 2, [], true) },
  { name: "first-port-down", input: example("seabios", 1, [STORAGE_PORTS[0]!], false) },
  { name: "uefi", input: example("ovmf", 1, [], false) },
];
