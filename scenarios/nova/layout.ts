// Mapped disks -> Machine devices with every address written down, the way libvirt fills in
// <address> elements: PCI slots in libvirt's assignment order (controllers, then virtio disks
// in XML order), SCSI/IDE/SATA addresses derived from the dev name or the virtio-scsi unit,
// USB ports in XML order. Mutants reuse these helpers with one thing changed.
import type { Controller, DiskDevice, Drive, MachineInput } from "../../emulator/machine.js";
import { RESERVED_PCI_SLOTS } from "../../emulator/validate.js";
import type { MediaSpec } from "../../firmware/media/spec.js";
import type { Topology } from "../../harness/scenario.js";
import { deviceNameIndex, type MappedDisk, NovaMappingError } from "./mapping.js";
import type { NovaInstance, NovaMachineType } from "./model.js";

export const SCSI_CONTROLLER_ID = "scsi0";
export const USB_CONTROLLER_ID = "usb0";
/** Kernel module the probe needs to read fw_cfg's bootorder (P5); not implied by any device. */
export const FW_CFG_MODULE = "qemu_fw_cfg";

/**
 * First slot libvirt hands out on bus 0: on i440fx it keeps 00:02.0 for the primary video
 * device even when there is none. On q35 libvirt puts endpoints behind pcie-root-ports;
 * bootproof's Machine has one flat bus, so the model keeps slot 1 free (libvirt's video slot)
 * and starts at 2.
 */
export const FIRST_ASSIGNED_SLOT: Record<NovaMachineType, number> = { pc: 3, q35: 2 };

/** SCSI units per LSI controller in libvirt's name-derived addresses (target 7 is the HBA). */
const LSI_UNITS = 7;
/** AHCI ports per ICH9 SATA controller. */
const SATA_PORTS = 6;
const IDE_UNITS_PER_BUS = 2;

export function deviceIdFor(mappingName: string): string {
  if (mappingName.startsWith("/dev/")) return `vol-${mappingName.slice(5)}`;
  return mappingName.replace(/\./g, "-");
}

export function driveIdFor(deviceId: string): string {
  return `drv-${deviceId}`;
}

export function scsiControllerFor(instance: NovaInstance, pciSlot?: number): Controller {
  const kind = instance.scsiModel === "virtio-scsi" ? "virtio-scsi-pci" : "lsi53c895a";
  return pciSlot === undefined ? { kind, id: SCSI_CONTROLLER_ID } : { kind, id: SCSI_CONTROLLER_ID, pciSlot };
}

export function usbController(pciSlot?: number): Controller {
  return pciSlot === undefined
    ? { kind: "qemu-xhci", id: USB_CONTROLLER_ID }
    : { kind: "qemu-xhci", id: USB_CONTROLLER_ID, pciSlot };
}

/** Controllers the normal mapping needs, in libvirt's order (SCSI before USB). */
export function controllersFor(instance: NovaInstance, disks: MappedDisk[]): Controller[] {
  const controllers: Controller[] = [];
  // Nova adds the SCSI controller whenever the image sets hw_scsi_model; otherwise libvirt
  // adds its default (LSI on x86) only when a disk sits on the SCSI bus.
  if (instance.scsiModel || disks.some((d) => d.bus === "scsi")) controllers.push(scsiControllerFor(instance));
  if (disks.some((d) => d.bus === "usb")) controllers.push(usbController());
  return controllers;
}

/** Slot allocator that skips the chipset's slots. */
export function slotAllocator(machineType: NovaMachineType, startAt = FIRST_ASSIGNED_SLOT[machineType]) {
  const reserved = RESERVED_PCI_SLOTS[machineType];
  let next = startAt;
  return (): number => {
    while (reserved[next] !== undefined) next++;
    if (next > 31) throw new NovaMappingError("PCI bus 0 is full (32 slots); attach fewer PCI devices");
    return next++;
  };
}

export interface LaidOutDisk {
  drive: Drive;
  device: DiskDevice;
  media: MediaSpec;
}

/** One mapped disk as a drive + device with its bus address (PCI slot and USB port left to the caller). */
export function diskDevice(instance: NovaInstance, disk: MappedDisk, usbPort: number | undefined): LaidOutDisk {
  const id = deviceIdFor(disk.mappingName);
  const driveId = driveIdFor(id);
  const cdrom = disk.type === "cdrom";
  const drive: Drive = {
    id: driveId,
    file: "",
    format: "raw",
    media: cdrom ? "cdrom" : "disk",
    readOnly: cdrom,
    copyOnWrite: true,
  };
  const media = mediaFor(instance, disk);
  const index = deviceNameIndex(disk.dev);
  const where = `${disk.mappingName} (${disk.dev} on ${disk.bus})`;
  let device: DiskDevice;
  switch (disk.bus) {
    case "virtio":
      device = { kind: "virtio-blk", id, drive: driveId, serial: disk.serial };
      break;
    case "scsi": {
      const kind = cdrom ? "scsi-cd" : "scsi-hd";
      // libvirt maps a virtio-scsi drive address (target 0, unit N) to scsi-id=0,lun=N; on the
      // LSI controller each disk is its own target.
      if (disk.scsiUnit === undefined && index >= LSI_UNITS)
        throw new NovaMappingError(
          `${where}: libvirt would need a second SCSI controller (unit ${index} >= ${LSI_UNITS}); bootproof models one`,
        );
      const [scsiId, lun] = disk.scsiUnit !== undefined ? [0, disk.scsiUnit] : [index, 0];
      device = { kind, id, drive: driveId, controller: SCSI_CONTROLLER_ID, channel: 0, scsiId, lun, serial: disk.serial };
      break;
    }
    case "ide":
      if (instance.machineType !== "pc") throw new NovaMappingError(`${where}: libvirt has no IDE on q35; use sata`);
      device = {
        kind: cdrom ? "ide-cd" : "ide-hd",
        id,
        drive: driveId,
        bus: Math.floor(index / IDE_UNITS_PER_BUS),
        unit: index % IDE_UNITS_PER_BUS,
        serial: disk.serial,
      };
      break;
    case "sata":
      if (instance.machineType !== "q35")
        throw new NovaMappingError(`${where}: SATA on pc needs an AHCI controller bootproof does not model; use ide`);
      if (index >= SATA_PORTS)
        throw new NovaMappingError(
          `${where}: libvirt would put it on a second SATA controller (index ${index} >= ${SATA_PORTS}); bootproof models one`,
        );
      device = { kind: cdrom ? "ide-cd" : "ide-hd", id, drive: driveId, bus: index, unit: 0, serial: disk.serial };
      break;
    case "usb":
      device = {
        kind: "usb-storage",
        id,
        drive: driveId,
        controller: USB_CONTROLLER_ID,
        port: usbPort,
        serial: disk.serial,
        removable: false,
      };
      break;
    case "fdc":
      device = { kind: "floppy", id, drive: driveId, unit: index };
      break;
  }
  if (disk.role === "root") device.bootIndex = 1;
  return { drive, device, media };
}

export function mediaFor(instance: NovaInstance, disk: MappedDisk): MediaSpec {
  const bootDisk = instance.firmware === "ovmf" ? "uefi-disk" : "bios-disk";
  switch (disk.role) {
    case "root":
      // The bootable image has the size the kernel and probe need; the flavor size is not modelled.
      return { kind: bootDisk, role: "root" };
    case "rescue":
      // bootproof's ISOs carry BIOS (isolinux) and UEFI (GRUB) El Torito entries.
      if (disk.type === "cdrom") return { kind: "iso", role: "rescue" };
      if (disk.type === "floppy") return { kind: "floppy", role: "rescue" };
      return { kind: bootDisk, role: "rescue" };
    case "config-drive":
      return disk.type === "cdrom" ? { kind: "iso", role: "config-drive" } : { kind: "blank", sizeMiB: disk.sizeMiB };
    default:
      return { kind: "blank", sizeMiB: disk.sizeMiB };
  }
}

/** Machine fields every boot of one instance shares. */
export function machineBase(instance: NovaInstance, name: string): MachineInput {
  return {
    name,
    machineType: instance.machineType,
    firmware: { kind: instance.firmware },
    memoryMiB: 512,
    cpus: 1,
    drives: [],
    controllers: [],
    disks: [],
    nics: [],
  };
}

export function topologyOf(machine: MachineInput, media: Record<string, MediaSpec>): Topology {
  return { machine, media, extraProbeModules: [FW_CFG_MODULE] };
}

/** Deep copy through JSON: machines are plain data, and drivers must not share mutable state. */
export function cloneMachine(machine: MachineInput): MachineInput {
  return JSON.parse(JSON.stringify(machine)) as MachineInput;
}
