// Three deliberately wrong drivers, each a mistake a real driver could make. The property
// suite must fail every one of them with a small (shrunk) counterexample; if a change to the
// properties lets a mutant pass, the suite has lost its teeth.
import type { Controller, MachineInput } from "../../emulator/machine.js";
import type { MediaSpec } from "../../firmware/media/spec.js";
import { type LaidOutBoot, layOutNormalBoot, layOutRescueBoot, libvirtDriver, type NovaDriver } from "./driver.js";
import { cloneMachine, slotAllocator, topologyOf } from "./layout.js";

function drivesOfRole(media: Record<string, MediaSpec>, role: string): string[] {
  return Object.entries(media).flatMap(([drive, spec]) => ("role" in spec && spec.role === role ? [drive] : []));
}

/** Drops every PCI slot and USB port, leaving QEMU to place devices in argv order. */
function unpinned(machine: MachineInput): MachineInput {
  const copy = cloneMachine(machine);
  for (const controller of copy.controllers ?? []) delete controller.pciSlot;
  for (const disk of copy.disks ?? []) {
    if (disk.kind === "virtio-blk") delete disk.pciSlot;
    if (disk.kind === "usb-storage") delete disk.port;
  }
  return copy;
}

/**
 * M1: never pins addresses and inserts the rescue device (and any controller it needs) first,
 * the legacy-rescue habit. A virtio rescue disk takes the first free slot and becomes vda;
 * every original disk shifts name and PCI path (FINDINGS.md).
 */
export const rescueFirstUnpinnedDriver: NovaDriver = {
  name: "mutant M1: rescue device first, addresses unpinned",
  boot(instance) {
    const { machine, media } = layOutNormalBoot(instance);
    return topologyOf(unpinned(machine), media);
  },
  rescue(instance, rescueProps) {
    const laid: LaidOutBoot = layOutRescueBoot(instance, rescueProps);
    const machine = unpinned(laid.machine);
    const rescueDrives = new Set(drivesOfRole(laid.media, "rescue"));
    const moveFirst = <T>(items: T[] | undefined, isRescue: (item: T) => boolean): T[] => [
      ...(items ?? []).filter(isRescue),
      ...(items ?? []).filter((item) => !isRescue(item)),
    ];
    machine.disks = moveFirst(machine.disks, (d) => rescueDrives.has(d.drive));
    machine.drives = moveFirst(machine.drives, (d) => rescueDrives.has(d.id));
    const normalControllers = new Set((layOutNormalBoot(instance).machine.controllers ?? []).map((c) => c.id));
    machine.controllers = moveFirst(machine.controllers, (c) => !normalControllers.has(c.id));
    return topologyOf(machine, laid.media);
  },
};

/** M2: the layout is right but the rescue device gets no boot priority, so the root disk boots. */
export const rescueWithoutBootIndexDriver: NovaDriver = {
  name: "mutant M2: rescue device without boot priority",
  boot: libvirtDriver.boot,
  rescue(instance, rescueProps) {
    const { machine, media } = layOutRescueBoot(instance, rescueProps);
    const rescueDrives = new Set(drivesOfRole(media, "rescue"));
    for (const disk of machine.disks ?? []) if (rescueDrives.has(disk.drive)) delete disk.bootIndex;
    return topologyOf(machine, media);
  },
};

/** libvirt's controller order: SCSI before USB. */
const CONTROLLER_ORDER: Record<Controller["kind"], number> = {
  "virtio-scsi-pci": 0,
  lsi53c895a: 0,
  megasas: 0,
  pvscsi: 0,
  "qemu-xhci": 1,
};

/**
 * M3: the rescue domain is defined without the normal boot's addresses, and libvirt assigns
 * slots afresh: controllers first (a new one slots in among them), then virtio disks. Kernel
 * names stay vda..vdN (the rescue disk is still last) but every PCI path after the new
 * controller moves one slot. Comparing names alone misses it.
 */
export const controllerShiftsSlotsDriver: NovaDriver = {
  name: "mutant M3: new controller placed before existing devices",
  boot: libvirtDriver.boot,
  rescue(instance, rescueProps) {
    const { machine: pinned, media } = layOutRescueBoot(instance, rescueProps);
    const machine = cloneMachine(pinned);
    const nextSlot = slotAllocator(instance.machineType);
    const controllers = [...(machine.controllers ?? [])].sort((a, b) => CONTROLLER_ORDER[a.kind] - CONTROLLER_ORDER[b.kind]);
    for (const controller of controllers) controller.pciSlot = nextSlot();
    machine.controllers = controllers;
    for (const disk of machine.disks ?? []) if (disk.kind === "virtio-blk") disk.pciSlot = nextSlot();
    return topologyOf(machine, media);
  },
};

export const novaMutants: Array<{ id: "M1" | "M2" | "M3"; driver: NovaDriver }> = [
  { id: "M1", driver: rescueFirstUnpinnedDriver },
  { id: "M2", driver: rescueWithoutBootIndexDriver },
  { id: "M3", driver: controllerShiftsSlotsDriver },
];
