// A nova-dpm case as boots: the driver model decides the vHBAs and the boot attempts; each
// attempt is the partition started with those boot parameters. The partition is a machine
// with one HBA per vHBA (PCI slot 5, 6, ...), each carrying a scsi-hd per zoned target port
// and mapped volume, the chosen path the only boot device (an HBA boots the one LUN it is
// told). An attempt after the first starts only when every earlier one failed to boot.
import type { AnyBootRecord, BootPlan } from "../../harness/scenario.js";
import type { SanFabric, SanPath } from "../common/san-fabric.js";
import { sanServices, sanTopology } from "../common/san-fabric.js";
import type { NovaDpmCase } from "./case.js";
import {
  bootAttempts,
  bootVolume,
  createVhbas,
  type DpmBootParameters,
  type DpmDriverVariant,
  parseAdapterMappings,
  type Vhba,
} from "./model.js";

export const STORAGE_IQN = "iqn.2017-01.org.openstack.nova-dpm:storage";
const FIRST_HBA_SLOT = 5;

export interface DpmDecision {
  vhbas: Vhba[];
  attempts: DpmBootParameters[];
  /** Index of the boot volume in block_device_info. */
  bootVolumeIndex: number;
}

export function decide(variant: DpmDriverVariant, c: NovaDpmCase): DpmDecision {
  const vhbas = createVhbas(parseAdapterMappings(c.adapterMappings), c.hostWwpns);
  const boot = bootVolume(c.blockDeviceInfo);
  return {
    vhbas,
    attempts: bootAttempts(variant, vhbas, c.blockDeviceInfo),
    bootVolumeIndex: c.blockDeviceInfo.block_device_mapping.findIndex((m) => m.connection_info === boot),
  };
}

export const hbaId = (vhba: Vhba) => `vhba-${vhba.deviceNumber}`;
export const hbaSlot = (vhbas: readonly Vhba[], deviceNumber: string) =>
  FIRST_HBA_SLOT + vhbas.findIndex((v) => v.deviceNumber === deviceNumber);
export const volumeRole = (volumeId: string) => `volume-${volumeId}`;

export function partitionFabric(c: NovaDpmCase, decision: DpmDecision, attempt: DpmBootParameters): SanFabric {
  const { vhbas, bootVolumeIndex } = decision;
  const paths: SanPath[] = [];
  c.blockDeviceInfo.block_device_mapping.forEach((mapping, i) => {
    for (const vhba of vhbas)
      for (const target of mapping.connection_info.data.initiator_target_map[vhba.wwpn] ?? []) {
        const chosen =
          i === bootVolumeIndex &&
          vhba.deviceNumber === attempt["boot-storage-device"] &&
          target === attempt["boot-world-wide-port-name"];
        paths.push({
          hba: hbaId(vhba),
          lu: c.volumes[i]!.volumeId,
          port: c.storagePorts.indexOf(target),
          ...(chosen ? { bootIndex: 0 } : {}),
        });
      }
  });
  const bootMedia = c.firmware === "seabios" ? ("bios-disk" as const) : ("uefi-disk" as const);
  return {
    machineName: "dpm-partition",
    firmware: c.firmware,
    iqn: STORAGE_IQN,
    lus: [
      ...c.volumes.map((v, i) => ({
        id: v.volumeId,
        lun: v.targetLun,
        wwn: v.wwn,
        media: i === bootVolumeIndex ? { kind: bootMedia, role: volumeRole(v.volumeId) } : { kind: "blank" as const, sizeMiB: 8 },
      })),
      ...c.unmappedVolumes.map((v) => ({
        id: v.volumeId,
        lun: v.targetLun,
        wwn: v.wwn,
        media: { kind: "blank" as const, sizeMiB: 8 },
      })),
    ],
    ports: c.storagePorts.map((wwpn) => ({ wwpn })),
    hbas: vhbas.map((v, i) => ({
      id: hbaId(v),
      kind: c.hba,
      pciSlot: FIRST_HBA_SLOT + i,
      initiatorName: `iqn.2017-01.org.openstack.nova-dpm:vhba-${v.wwpn}`,
    })),
    paths,
    pathFaults: c.downPorts.map((wwpn) => ({ portal: c.storagePorts.indexOf(wwpn), kind: "down" as const })),
    bootStrict: true,
    deadlineMs: c.firmware === "ovmf" ? 90_000 : 60_000,
  };
}

export const attemptName = (index: number) => `attempt-${index + 1}`;

/** True when no earlier attempt reached the probe: the driver saw its boot fail. */
const earlierAllFailed = (index: number) => (earlier: Record<string, AnyBootRecord>) =>
  Array.from({ length: index }, (_, i) => earlier[attemptName(i)]).every((b) => b !== undefined && b.observation === null);

export function novaDpmBoots(variant: DpmDriverVariant, c: NovaDpmCase): BootPlan[] {
  const decision = decide(variant, c);
  return decision.attempts.map((attempt, index) => {
    const fabric = partitionFabric(c, decision, attempt);
    return {
      name: attemptName(index),
      services: sanServices(fabric),
      topology: sanTopology(fabric),
      artifacts: () => ({ "dpm-boot-parameters.json": `${JSON.stringify({ vhbas: decision.vhbas, attempt }, null, 2)}\n` }),
      ...(index > 0 ? { runIf: earlierAllFailed(index) } : {}),
    };
  });
}
