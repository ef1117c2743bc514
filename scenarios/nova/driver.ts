// The Nova libvirt driver as a plain function: instance -> Topology for a normal boot, and
// instance + rescue image properties -> Topology for a stable device rescue. Any other
// driver with the same shape can be checked with the same properties (novaScenarioFor).
//
// Conventions a driver must keep so the properties can read its topologies:
//  - the root disk's drive has media role "root", the rescue device's drive role "rescue";
//  - a disk keeps its id (and serial) between boots.
//
// Where this model and real Nova differ (deliberately):
//  - Nova writes no PCI addresses into the rescue domain XML; libvirt assigns them afresh and
//    puts controllers before disks, so a rescue that needs a new controller can shift every
//    virtio disk (mutant M3 is exactly that). The model pins every slot of the normal boot and
//    gives the rescue device and its controller slots after all existing ones, which is what
//    the stable-rescue spec promises.
//  - Nova's normal boot orders devices with <os><boot dev='hd'/>, its rescue puts
//    <boot order='1'/> on the rescue disk only. The model gives the root disk bootIndex 1 and
//    the rescue device bootIndex 0, the measured equivalent (FINDINGS.md) with a defined
//    fall-through to the root disk.
//  - USB disks sit on a qemu-xhci controller (libvirt's default on pc is piix3-uhci, which
//    bootproof's Machine does not model); local disks get serials (see model.ts).
import type { MachineInput } from "../../emulator/machine.js";
import type { MediaSpec } from "../../firmware/media/spec.js";
import type { Topology } from "../../harness/scenario.js";
import {
  controllersFor,
  diskDevice,
  FIRST_ASSIGNED_SLOT,
  machineBase,
  SCSI_CONTROLLER_ID,
  scsiControllerFor,
  slotAllocator,
  topologyOf,
  USB_CONTROLLER_ID,
  usbController,
} from "./layout.js";
import { type MappedDisk, normalMapping, rescueMappingEntry } from "./mapping.js";
import { assertValidNovaCase, type NovaInstance, type NovaRescueProperties } from "./model.js";

export type NovaDriver = {
  /** Shown in reports; optional. */
  name?: string;
  boot(instance: NovaInstance): Topology;
  rescue(instance: NovaInstance, rescueProps: NovaRescueProperties): Topology;
};

export interface LaidOutBoot {
  machine: MachineInput;
  media: Record<string, MediaSpec>;
  /** The Nova disk mapping the machine was built from, in domain XML order. */
  mapping: MappedDisk[];
}

/** The normal boot with every PCI slot and USB port written down, in libvirt's assignment order. */
export function layOutNormalBoot(instance: NovaInstance, machineName = "nova-normal"): LaidOutBoot {
  const mapping = normalMapping(instance);
  const machine = machineBase(instance, machineName);
  const media: Record<string, MediaSpec> = {};
  const nextSlot = slotAllocator(instance.machineType);
  machine.controllers = controllersFor(instance, mapping).map((c) => ({ ...c, pciSlot: nextSlot() }));
  let usbPort = 0;
  for (const disk of mapping) {
    const laid = diskDevice(instance, disk, disk.bus === "usb" ? ++usbPort : undefined);
    machine.drives!.push(laid.drive);
    machine.disks!.push(laid.device);
    media[laid.drive.id] = laid.media;
  }
  for (const device of machine.disks!) if (device.kind === "virtio-blk") device.pciSlot = nextSlot();
  return { machine, media, mapping };
}

/** Highest PCI slot any device of the machine is pinned to (or the slot before the first free one). */
export function highestPinnedSlot(machine: MachineInput, floor: number): number {
  const slots = [
    ...(machine.controllers ?? []).map((c) => c.pciSlot),
    ...(machine.disks ?? []).map((d) => (d.kind === "virtio-blk" ? d.pciSlot : undefined)),
    ...(machine.nics ?? []).map((n) => n.pciSlot),
  ].filter((s): s is number => s !== undefined);
  return Math.max(floor, ...slots);
}

/**
 * The stable device rescue: the normal machine unchanged (same ids, slots, ports, units), the
 * controller the rescue device needs (if the normal boot had none) and then the rescue device,
 * both on slots after every existing one, the rescue device last with bootIndex 0.
 */
export function layOutRescueBoot(instance: NovaInstance, rescueProps: NovaRescueProperties): LaidOutBoot {
  // A fresh normal layout (nothing shared with another topology), extended in place.
  const { machine, media, mapping } = layOutNormalBoot(instance, "nova-rescue");
  const rescue: MappedDisk = rescueMappingEntry(instance, rescueProps, mapping);
  // Never below libvirt's first assignable slot, even when the normal boot has no PCI device.
  const nextSlot = slotAllocator(
    instance.machineType,
    highestPinnedSlot(machine, FIRST_ASSIGNED_SLOT[instance.machineType] - 1) + 1,
  );
  const controllers = machine.controllers ?? [];
  if (rescue.bus === "scsi" && !controllers.some((c) => c.id === SCSI_CONTROLLER_ID))
    controllers.push(scsiControllerFor(instance, nextSlot()));
  if (rescue.bus === "usb" && !controllers.some((c) => c.id === USB_CONTROLLER_ID)) controllers.push(usbController(nextSlot()));
  machine.controllers = controllers;
  const usedPorts = (machine.disks ?? []).filter((d) => d.kind === "usb-storage").length;
  const laid = diskDevice(instance, rescue, rescue.bus === "usb" ? usedPorts + 1 : undefined);
  if (laid.device.kind === "virtio-blk") laid.device.pciSlot = nextSlot();
  laid.device.bootIndex = 0;
  machine.drives!.push(laid.drive);
  machine.disks!.push(laid.device);
  media[laid.drive.id] = laid.media;
  if (laid.device.kind === "floppy") machine.firmwareLog = true;
  return { machine, media, mapping: [...mapping, rescue] };
}

export const libvirtDriver: NovaDriver = {
  name: "nova-libvirt (stable device rescue)",
  boot(instance) {
    assertValidNovaCase({ instance, rescue: { hw_rescue_device: "disk" } });
    const { machine, media } = layOutNormalBoot(instance);
    return topologyOf(machine, media);
  },
  rescue(instance, rescueProps) {
    assertValidNovaCase({ instance, rescue: rescueProps });
    const { machine, media } = layOutRescueBoot(instance, rescueProps);
    return topologyOf(machine, media);
  },
};
