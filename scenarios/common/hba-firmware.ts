// Which SCSI host bus adapter each firmware can boot from, as measured on this host (QEMU
// 7.2, SeaBIOS 1.16.2, OVMF 2022.11, a LU served through QEMU's iSCSI initiator by
// bootproof's target; docs/findings.md "HBA boot matrix"). Scenarios generate only the HBAs
// a firmware boots; the rest are firmware gaps, never a driver's failure.
import type { Firmware, ScsiControllerKind } from "../../emulator/machine.js";

export interface HbaBootFact {
  boots: boolean;
  /** The firmware boots a LU at any LUN the HBA addresses, not only LUN 0. */
  bootsAnyLun: boolean;
  /** What the measurement showed. */
  evidence: string;
}

export const HBA_BOOT_MATRIX: Readonly<Record<Firmware["kind"], Readonly<Record<ScsiControllerKind, HbaBootFact>>>> = {
  seabios: {
    "virtio-scsi-pci": { boots: true, bootsAnyLun: true, evidence: "boots (7.1 s to the probe)" },
    megasas: {
      boots: true,
      bootsAnyLun: false,
      evidence: "boots LUN 0 (7.8 s); a LU at LUN 2: 'No bootable device'; Linux's megaraid_sas puts it on channel 2 (H:2:T:L)",
    },
    lsi53c895a: { boots: true, bootsAnyLun: false, evidence: "boots (7.8 s); LUN 0 only (QEMU's lsi53c895a refuses others)" },
    pvscsi: { boots: true, bootsAnyLun: false, evidence: "boots (7.5 s); LUN 0 only (QEMU's pvscsi refuses others)" },
  },
  ovmf: {
    "virtio-scsi-pci": { boots: true, bootsAnyLun: true, evidence: "boots (12.6 s to the probe)" },
    megasas: { boots: false, bootsAnyLun: false, evidence: "no driver in OVMF: 'map: No mapping found', the UEFI shell waits" },
    lsi53c895a: {
      boots: false,
      bootsAnyLun: false,
      evidence: "no driver in OVMF: 'map: No mapping found', the UEFI shell waits",
    },
    pvscsi: {
      boots: false,
      bootsAnyLun: false,
      evidence: "no driver in Debian's OVMF build: 'map: No mapping found', the UEFI shell waits",
    },
  },
};

/** The HBAs the firmware boots from, in a fixed order. */
export function bootableHbas(firmware: Firmware["kind"]): ScsiControllerKind[] {
  return (Object.entries(HBA_BOOT_MATRIX[firmware]) as Array<[ScsiControllerKind, HbaBootFact]>)
    .filter(([, fact]) => fact.boots)
    .map(([kind]) => kind);
}
