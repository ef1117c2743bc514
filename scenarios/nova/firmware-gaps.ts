// Which generated cases the firmware cannot boot as the driver laid them out, predicted from
// the input alone. These cases stay in the default arbitrary: at boot they fail (P1/P2) with
// the measured reason, as failures of the driver's choice. The prediction lets a report say
// in advance why, and lets a run opt out explicitly (never silently) with
// novaCaseArbitraryWith({ firmwareGaps: "exclude" }).
import { type NovaRescueCase, resolveRescueDevice } from "./model.js";

export type FirmwareGap =
  /** Measured: OVMF has no LSI 53C895A driver. Nova's default SCSI controller on x86 is LSI. */
  | "ovmf-lsi-root"
  | "ovmf-lsi-rescue"
  /** Measured: OVMF does not boot floppies. */
  | "ovmf-floppy-rescue"
  /**
   * Measured: after OVMF on the i440fx (pc) machine, Linux's ata_piix finds no device on the
   * PIIX3 IDE channels (an ide-cd seen under SeaBIOS is absent after 12 s of settling), so
   * every IDE device, including Nova's default config drive on pc, is invisible to the guest.
   */
  | "ovmf-pc-ide-invisible";

export function firmwareGapOf(input: NovaRescueCase): FirmwareGap | null {
  const { instance } = input;
  if (instance.firmware !== "ovmf") return null;
  const lsi = instance.scsiModel !== "virtio-scsi";
  if (instance.machineType === "pc" && usesIde(input)) return "ovmf-pc-ide-invisible";
  if (lsi && instance.rootDisk.bus === "scsi") return "ovmf-lsi-root";
  const { device, bus } = resolveRescueDevice(input.rescue, instance.machineType);
  if (device === "floppy") return "ovmf-floppy-rescue";
  if (lsi && bus === "scsi") return "ovmf-lsi-rescue";
  return null;
}

/** Any device on the PIIX3 IDE bus: an IDE disk, the iso9660 config drive, an IDE rescue. */
function usesIde(input: NovaRescueCase): boolean {
  const { instance } = input;
  const disks = [instance.rootDisk, ...instance.ephemerals, ...(instance.swap ? [instance.swap] : []), ...instance.volumes];
  if (disks.some((d) => d.bus === "ide")) return true;
  if (instance.configDrive?.format === "iso9660") return true;
  return resolveRescueDevice(input.rescue, instance.machineType).bus === "ide";
}
