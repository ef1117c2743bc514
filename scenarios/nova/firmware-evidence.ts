// What the firmware says about boot order: the OpenFirmware device paths QEMU writes into
// fw_cfg "bootorder" (the guest reads them back), SeaBIOS's debug-console lines, and the
// combinations the firmware is measured not to boot (FINDINGS.md), so a failure can say why.
import type { DiskDevice, Machine } from "../../emulator/machine.js";
import { effectivePciSlots, effectiveUsbPorts } from "./identity.js";

const hex = (n: number) => n.toString(16);

/**
 * A pattern for the bootorder line QEMU generates for a disk: `/pci@i0cf8/<fn>@<slot>[,<func>]`
 * followed by the bus path. Names between the addresses vary by QEMU version (scsi/disk/drive/
 * cdrom/storage), so only the addresses are matched.
 */
export function bootPathPattern(machine: Machine, disk: DiskDevice): RegExp {
  const slots = effectivePciSlots(machine).slots;
  const slotOf = (id: string) => hex(slots.get(id) ?? -1);
  switch (disk.kind) {
    case "virtio-blk":
      return new RegExp(`^/pci@i0cf8/[^/@]+@${slotOf(disk.id)}/[^/@]+@0,0$`);
    case "scsi-hd":
    case "scsi-cd":
      return new RegExp(
        `^/pci@i0cf8/[^/@]+@${slotOf(disk.controller)}/channel@${hex(disk.channel)}/[^/@]+@${hex(disk.scsiId)},${hex(disk.lun)}$`,
      );
    case "ide-hd":
    case "ide-cd": {
      const controller = machine.machineType === "q35" ? "1f,2" : "1,1";
      return new RegExp(`^/pci@i0cf8/[^/@]+@${controller}/[^/@]+@${hex(disk.bus)}/[^/@]+@${hex(disk.unit)}$`);
    }
    case "usb-storage": {
      const port = effectiveUsbPorts(machine).get(disk.id) ?? 0;
      return new RegExp(`^/pci@i0cf8/[^/@]+@${slotOf(disk.controller)}/[^/@]+@${hex(port)}(/|$)`);
    }
    case "floppy":
      return new RegExp(`/fdc@0*3f0/[^/@]+@${hex(disk.unit)}$`);
  }
}

/** "Booting from Floppy..." and friends, in the order SeaBIOS tried them. */
export function seabiosBootAttempts(firmwareLog: string[]): string[] {
  return firmwareLog.flatMap((line) => {
    const match = line.match(/Booting from (.+?)\.*\s*$/);
    return match ? [match[1]!.trim()] : [];
  });
}

/** What SeaBIOS calls the boot entry of a disk kind ("Floppy", "Hard Disk", "DVD/CD"). */
export function seabiosEntryFor(disk: DiskDevice): RegExp {
  switch (disk.kind) {
    case "floppy":
      return /^Floppy/;
    case "ide-cd":
    case "scsi-cd":
      return /^DVD\/CD/;
    default:
      return /^Hard Disk/;
  }
}

/**
 * Why the firmware will not boot this disk first, when that is a measured limitation rather
 * than a bug in bootproof; null when the firmware is expected to boot it.
 */
export function knownFirmwareGap(machine: Machine, disk: DiskDevice): string | null {
  if (machine.firmware.kind !== "ovmf") return null;
  if (disk.kind === "floppy") return "OVMF does not boot floppies (measured): it skips the device and boots the next one";
  if (disk.kind === "scsi-hd" || disk.kind === "scsi-cd") {
    const controller = machine.controllers.find((c) => c.id === disk.controller);
    if (controller?.kind === "lsi53c895a")
      return "OVMF has no LSI 53C895A driver (measured): disks on an LSI controller are invisible to UEFI, so it boots the next device";
  }
  return null;
}
