// The nova-dpm boot-from-volume driver (seed 003), modelled from its spec: the vHBAs a
// partition gets from `physical_storage_adapter_mappings`, and the boot parameters the
// driver derives from `block_device_info`. Pure and deterministic.
//
// The spec leaves two questions open: whether block_device_info is sorted by boot_index
// (this model picks the mapping whose boot_index is 0, wherever it is listed), and whether
// the driver should retry the next target WWPN, then the other adapter, when a boot fails.
// Both answers are variants here; real boots decide which one a partition needs.

/** One line of `physical_storage_adapter_mappings`: "<storage-adapter-id>:<port-element-id>". */
export interface StorageAdapterMapping {
  adapterId: string;
  port: number;
}

/** A virtual HBA of the partition: one per mapping, in the option's order. */
export interface Vhba {
  adapterId: string;
  port: number;
  /** The HMC's device number, e.g. "1000". */
  deviceNumber: string;
  /** The vHBA's host WWPN (16 hex digits), which Cinder zones and masks the volume to. */
  wwpn: string;
}

/** Cinder's connection info for a Fibre Channel volume, as the spec shows it in block_device_info. */
export interface FcConnectionInfo {
  driver_volume_type: string;
  connector: { wwpns: string[]; host: string };
  data: {
    /** Host WWPN → the target WWPNs zoned to it, in Cinder's order. */
    initiator_target_map: Record<string, string[]>;
    target_discovered: boolean;
    target_lun: number;
    boot_index?: number | null;
  };
}

export interface BlockDeviceInfo {
  block_device_mapping: Array<{ connection_info: FcConnectionInfo }>;
}

/** The partition's boot properties the driver sets on the HMC. */
export interface DpmBootParameters {
  "boot-device": "storage-adapter";
  /** The vHBA the partition boots through (its device number). */
  "boot-storage-device": string;
  "boot-logical-unit-number": string;
  "boot-world-wide-port-name": string;
}

export type DpmDriverVariant = "retry" | "no-retry";

export class DpmRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DpmRefusal";
  }
}

/** Parses the option's lines; a malformed one is the operator's error, named with the fix. */
export function parseAdapterMappings(lines: readonly string[]): StorageAdapterMapping[] {
  return lines.map((line) => {
    const match = line.match(/^([0-9a-fA-F-]{1,64}):(\d{1,3})$/);
    if (!match)
      throw new DpmRefusal(
        `physical_storage_adapter_mappings entry ${JSON.stringify(line)} is not "<storage-adapter-id>:<port-element-id>"`,
      );
    return { adapterId: match[1]!.toLowerCase(), port: Number(match[2]) };
  });
}

/** One vHBA per mapping, with the host WWPNs the HMC assigned (same order). */
export function createVhbas(mappings: readonly StorageAdapterMapping[], hostWwpns: readonly string[]): Vhba[] {
  if (mappings.length === 0) throw new DpmRefusal("physical_storage_adapter_mappings is empty: the partition gets no HBA");
  if (hostWwpns.length !== mappings.length)
    throw new DpmRefusal(`${mappings.length} adapter mappings but ${hostWwpns.length} host WWPNs`);
  return mappings.map((m, i) => ({ ...m, deviceNumber: (0x1000 + i).toString(16), wwpn: hostWwpns[i]!.toLowerCase() }));
}

/** The connector get_volume_connector returns: the partition's host WWPNs, the instance as host. */
export function volumeConnector(vhbas: readonly Vhba[], instanceUuid: string): { wwpns: string[]; host: string } {
  return { wwpns: vhbas.map((v) => v.wwpn), host: instanceUuid };
}

/** The mapping with boot_index 0; DPM boots Fibre Channel volumes only. */
export function bootVolume(bdi: BlockDeviceInfo): FcConnectionInfo {
  const boot = bdi.block_device_mapping.filter((m) => m.connection_info.data.boot_index === 0);
  if (boot.length !== 1)
    throw new DpmRefusal(`block_device_info has ${boot.length} mappings with boot_index 0; exactly one is bootable`);
  const info = boot[0]!.connection_info;
  if (info.driver_volume_type !== "fibre_channel")
    throw new DpmRefusal(`the boot volume is ${info.driver_volume_type}: DPM boots fibre_channel volumes only`);
  return info;
}

const lunHex = (lun: number) => lun.toString(16).padStart(16, "0");

/**
 * The boot attempts in the driver's order. The spec's short-term choice is the first: the
 * vHBA of the first mapped adapter and the first target WWPN Cinder lists for its host WWPN.
 * The retry variant then tries every other WWPN listed for that vHBA, then the other vHBAs'.
 */
export function bootAttempts(variant: DpmDriverVariant, vhbas: readonly Vhba[], bdi: BlockDeviceInfo): DpmBootParameters[] {
  const info = bootVolume(bdi);
  const attempts: DpmBootParameters[] = [];
  for (const vhba of vhbas) {
    for (const target of info.data.initiator_target_map[vhba.wwpn] ?? [])
      attempts.push({
        "boot-device": "storage-adapter",
        "boot-storage-device": vhba.deviceNumber,
        "boot-logical-unit-number": lunHex(info.data.target_lun),
        "boot-world-wide-port-name": target.toLowerCase(),
      });
    if (attempts.length > 0 && variant === "no-retry") break;
    // The boot device is the first adapter's vHBA: with nothing zoned to it there is no boot.
    if (attempts.length === 0) break;
  }
  if (attempts.length === 0)
    throw new DpmRefusal(
      `initiator_target_map lists no target WWPN for the first vHBA's host WWPN ${vhbas[0]?.wwpn}: there is no boot path`,
    );
  return variant === "no-retry" ? attempts.slice(0, 1) : attempts;
}
