// The SAN paths as the guest saw them: for every SCSI disk that reports a LU WWN in VPD 0x83,
// its target port (WWPN and relative port), its H:C:T:L and PCI address, and whether the
// firmware booted through it. Pure, over the probe's observation.
import type { Observation } from "../../firmware/observation.js";

export interface ObservedSanPath {
  /** Kernel name, e.g. "sdb". */
  device: string;
  lunWwn: string;
  targetPortWwn: string | null;
  relativeTargetPort: number | null;
  hctl: string | null;
  pciBdf: string | null;
  /** The firmware's first boot device is this path (see bootDeviceAddress). */
  booted: boolean;
}

/** Where the firmware was told to boot: the HBA's PCI slot and the SCSI target and LUN. */
export interface BootDeviceAddress {
  pciBdf: string;
  scsiId: number;
  lun: number;
}

/**
 * The first entry of QEMU's boot order (fw_cfg `bootorder`, as the probe read it) as an HBA
 * address: `/pci@i0cf8/scsi@5/channel@0/disk@1,0` (megasas: `raid@5`) → 00:05.0, target 1,
 * LUN 0. Open Firmware paths write the slot, target and LUN in hex. Null when the first
 * entry is not a SCSI disk on the root bus.
 */
export function bootDeviceAddress(bootOrder: readonly string[] | null): BootDeviceAddress | null {
  const first = bootOrder?.[0];
  const match = first?.match(
    /^\/pci@i0cf8\/[a-z-]+@([0-9a-f]+)(?:,([0-7]))?\/(?:channel@[0-9a-f]+\/)?disk@([0-9a-f]+),([0-9a-f]+)$/,
  );
  if (!match) return null;
  const [, slot, fn, target, lun] = match;
  return {
    pciBdf: `00:${Number.parseInt(slot!, 16).toString(16).padStart(2, "0")}.${fn ?? "0"}`,
    scsiId: Number.parseInt(target!, 16),
    lun: Number.parseInt(lun!, 16),
  };
}

/** Target and LUN of an H:C:T:L (the channel differs by HBA: megaraid_sas puts logical drives on 2). */
function targetAndLun(hctl: string | null): { scsiId: number; lun: number } | null {
  const parts = hctl?.split(":").map(Number);
  return parts && parts.length === 4 ? { scsiId: parts[2]!, lun: parts[3]! } : null;
}

export function observedSanPaths(observation: Observation): ObservedSanPath[] {
  const boot = observation.role === null ? null : bootDeviceAddress(observation.bootOrder);
  return observation.blockDevices.flatMap((d) => {
    const lunWwn = d.scsiPort?.lunWwn;
    if (d.bus !== "scsi" || !lunWwn) return [];
    const address = targetAndLun(d.hctl);
    const booted =
      boot !== null && address !== null && d.pciBdf === boot.pciBdf && address.scsiId === boot.scsiId && address.lun === boot.lun;
    return [
      {
        device: d.name,
        lunWwn,
        targetPortWwn: d.scsiPort?.targetPortWwn ?? null,
        relativeTargetPort: d.scsiPort?.relativeTargetPort ?? null,
        hctl: d.hctl,
        pciBdf: d.pciBdf,
        booted,
      },
    ];
  });
}

/** "sdb (LU 6005…, port 5005…, 2:0:1:0)" for messages. */
export function describeSanPath(path: ObservedSanPath): string {
  return `${path.device} (LU ${path.lunWwn}, target port ${path.targetPortWwn ?? "none"}, ${path.hctl ?? "no H:C:T:L"})`;
}
