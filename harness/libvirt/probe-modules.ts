// The kernel modules the probe needs in a libvirt domain's guest, from libvirt's own view of
// the domain (dumpxml): every disk bus, controller and NIC it has, including the devices
// libvirt added (the USB controller). Host adapter drivers load in PCI address order, as a
// booted guest's udev does, so a controller a rescue adds at a later address never renumbers
// the SCSI hosts of the existing ones (see modulesForMachine for the same rule).
import { usbHostControllerModules } from "../../firmware/probe/modules.js";
import type { DeviceAddress, DomainSummary } from "./domain-xml.js";

const pciRank = (address: DeviceAddress | null): number => {
  if (address?.type !== "pci") return 1 << 20;
  const a = address as Extract<DeviceAddress, { type: "pci" }>;
  return (a.bus << 8) | (a.slot << 3) | a.function;
};

/** libvirt's SCSI controller models → the guest driver (x86 default model is lsilogic). */
const SCSI_DRIVER: Record<string, string> = {
  "virtio-scsi": "virtio_scsi",
  lsilogic: "sym53c8xx",
  "virtio-transitional": "virtio_scsi",
  "virtio-non-transitional": "virtio_scsi",
};

const NIC_DRIVER: Record<string, string[]> = {
  virtio: ["virtio_pci", "virtio_net"],
  e1000: ["e1000"],
  e1000e: ["e1000e"],
  rtl8139: ["8139cp", "8139too"],
};

export function probeModulesForDomain(domain: DomainSummary): string[] {
  const q35 = /q35/.test(domain.machine ?? "");
  const chipset = q35 ? "ahci" : "ata_piix";
  const ranked: Array<[string, number]> = [
    ["qemu_fw_cfg", -2],
    [chipset, -1],
  ];
  const add = (module: string, rank: number) => ranked.push([module, rank]);
  for (const controller of domain.controllers) {
    const rank = pciRank(controller.address);
    if (controller.type === "scsi") add(SCSI_DRIVER[controller.model ?? "lsilogic"] ?? "sym53c8xx", rank);
    if (controller.type === "usb" && controller.model && controller.model !== "none")
      for (const module of usbHostControllerModules(controller.model)) add(module, rank);
    if (controller.type === "sata") add("ahci", rank);
    if (controller.type === "ide") add("ata_piix", rank);
  }
  for (const disk of domain.disks) {
    if (disk.bus === "virtio") {
      add("virtio_pci", -1);
      add("virtio_blk", pciRank(disk.address));
    }
    // usb-storage creates a SCSI host per USB disk as soon as its controller enumerates it, so
    // it ranks with the USB controller: a SCSI controller at a later address comes after it.
    if (disk.bus === "usb")
      add("usb_storage", Math.min(1 << 19, ...domain.controllers.filter((c) => c.type === "usb").map((c) => pciRank(c.address))));
    if (disk.bus === "fdc") add("floppy", 1 << 19);
  }
  for (const nic of domain.interfaces) for (const module of NIC_DRIVER[nic.model ?? "virtio"] ?? []) add(module, 1 << 19);
  if (domain.devices.some((d) => d.element === "memballoon" || d.element === "rng")) add("virtio_pci", -1);
  // Upper drivers last: sd/sr bind in H:C:T:L order once every host has scanned.
  add("sd_mod", 1 << 21);
  add("sr_mod", 1 << 21);
  const best = new Map<string, number>();
  for (const [module, rank] of ranked) best.set(module, Math.min(best.get(module) ?? rank, rank));
  return [...best.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).map(([m]) => m);
}
