// What a guest will see of each disk, predicted from the Machine alone (no boot): effective PCI
// slots (QEMU gives an unpinned device the first free slot, in command-line order: controllers,
// disks, NICs, as emulator/argv.ts emits them), effective USB ports, bus addresses and the
// virtio kernel name (virtio-blk disks are named vda, vdb, ... in PCI slot order).
import { type DiskDevice, type Machine, type MachineInput, MachineSchema, pciDevices } from "../../emulator/machine.js";
import { findMachineProblems, RESERVED_PCI_SLOTS } from "../../emulator/validate.js";
import type { Topology } from "../../harness/scenario.js";
import { deviceNameSuffix } from "./mapping.js";

export interface EffectiveSlots {
  slots: Map<string, number>;
  /** Collisions QEMU would refuse ("slot N function 0 not available"), as messages. */
  collisions: string[];
}

const slotCache = new WeakMap<Machine, EffectiveSlots>();

/** Simulates QEMU's PCI slot assignment on bus 0, device by device in argv order. */
export function effectivePciSlots(machine: Machine): EffectiveSlots {
  const cached = slotCache.get(machine);
  if (cached) return cached;
  const result = assignPciSlots(machine);
  slotCache.set(machine, result);
  return result;
}

function assignPciSlots(machine: Machine): EffectiveSlots {
  const reserved = RESERVED_PCI_SLOTS[machine.machineType];
  const owner = new Map<number, string>();
  const slots = new Map<string, number>();
  const collisions: string[] = [];
  for (const device of pciDevices(machine)) {
    let slot = device.pciSlot;
    if (slot === undefined) {
      slot = 0;
      while (slot < 32 && (reserved[slot] !== undefined || owner.has(slot))) slot++;
      if (slot === 32) {
        collisions.push(`'${device.id}' finds no free PCI slot`);
        continue;
      }
    } else if (reserved[slot] !== undefined || owner.has(slot)) {
      collisions.push(`'${device.id}' wants PCI slot ${slot}, already taken by ${reserved[slot] ?? `'${owner.get(slot)}'`}`);
      continue;
    }
    owner.set(slot, device.id);
    slots.set(device.id, slot);
  }
  return { slots, collisions };
}

/** Every guest-visible address field of one disk, as plain comparable values. */
export interface StaticDiskIdentity {
  id: string;
  kind: DiskDevice["kind"];
  serial: string | null;
  /** PCI slot of the disk itself (virtio) or of its controller. */
  pciSlot: number | null;
  controllerKind: string | null;
  /** SCSI channel:id:lun, IDE/SATA bus.unit, USB port or floppy unit. */
  busAddress: string | null;
  /** vda, vdb, ... for virtio-blk disks; null for buses whose names the guest assigns asynchronously. */
  virtioName: string | null;
  bootIndex: number | null;
}

export function effectiveUsbPorts(machine: Machine): Map<string, number> {
  const taken = new Map<string, Set<number>>();
  for (const disk of machine.disks)
    if (disk.kind === "usb-storage" && disk.port !== undefined) {
      const set = taken.get(disk.controller) ?? new Set<number>();
      set.add(disk.port);
      taken.set(disk.controller, set);
    }
  const ports = new Map<string, number>();
  for (const disk of machine.disks) {
    if (disk.kind !== "usb-storage") continue;
    if (disk.port !== undefined) {
      ports.set(disk.id, disk.port);
      continue;
    }
    const set = taken.get(disk.controller) ?? new Set<number>();
    let port = 1;
    while (set.has(port)) port++;
    set.add(port);
    taken.set(disk.controller, set);
    ports.set(disk.id, port);
  }
  return ports;
}

const identityCache = new WeakMap<Machine, StaticDiskIdentity[]>();

export function staticIdentities(machine: Machine): StaticDiskIdentity[] {
  const cached = identityCache.get(machine);
  if (cached) return cached;
  const identities = computeIdentities(machine);
  identityCache.set(machine, identities);
  return identities;
}

function computeIdentities(machine: Machine): StaticDiskIdentity[] {
  const { slots } = effectivePciSlots(machine);
  const usbPorts = effectiveUsbPorts(machine);
  const controllers = new Map(machine.controllers.map((c) => [c.id, c]));
  const virtioBySlot = machine.disks
    .filter((d) => d.kind === "virtio-blk")
    .map((d) => ({ id: d.id, slot: slots.get(d.id) ?? Number.POSITIVE_INFINITY }))
    .sort((a, b) => a.slot - b.slot);
  const virtioNames = new Map(virtioBySlot.map((d, rank) => [d.id, `vd${deviceNameSuffix(rank)}`]));
  const identityOf = (disk: DiskDevice): StaticDiskIdentity => {
    const base = { id: disk.id, kind: disk.kind, bootIndex: disk.bootIndex ?? null, virtioName: null };
    switch (disk.kind) {
      case "virtio-blk":
        return {
          ...base,
          serial: disk.serial ?? null,
          pciSlot: slots.get(disk.id) ?? null,
          controllerKind: null,
          busAddress: null,
          virtioName: virtioNames.get(disk.id) ?? null,
        };
      case "scsi-hd":
      case "scsi-cd":
        return {
          ...base,
          serial: disk.serial ?? null,
          pciSlot: slots.get(disk.controller) ?? null,
          controllerKind: controllers.get(disk.controller)?.kind ?? null,
          busAddress: `scsi ${disk.channel}:${disk.scsiId}:${disk.lun}`,
        };
      case "ide-hd":
      case "ide-cd":
        return {
          ...base,
          serial: disk.serial ?? null,
          pciSlot: null,
          controllerKind: null,
          busAddress: `ide ${disk.bus}.${disk.unit}`,
        };
      case "usb-storage":
        return {
          ...base,
          serial: disk.serial ?? null,
          pciSlot: slots.get(disk.controller) ?? null,
          controllerKind: controllers.get(disk.controller)?.kind ?? null,
          busAddress: `usb port ${usbPorts.get(disk.id)}`,
        };
      case "floppy":
        return { ...base, serial: null, pciSlot: null, controllerKind: null, busAddress: `floppy unit ${disk.unit}` };
    }
  };
  return machine.disks.map(identityOf);
}

/** Fields compared between boots, in the order a difference is reported. */
export const ADDRESS_FIELDS = ["kind", "serial", "virtioName", "pciSlot", "controllerKind", "busAddress"] as const;

export function firstAddressDifference(a: StaticDiskIdentity, b: StaticDiskIdentity): string | null {
  for (const field of ADDRESS_FIELDS) {
    if (a[field] !== b[field]) return `${field} ${String(a[field])} -> ${String(b[field])}`;
  }
  return null;
}

type ParsedMachine = { machine: Machine } | { error: string };
/** Static properties all read the same topologies; parsing each machine once keeps thousands of cases fast. */
const parsedMachines = new WeakMap<object, ParsedMachine>();

/** Parses a topology's machine (defaults applied) or returns why it cannot be parsed. */
export function parseTopologyMachine(topology: Topology): ParsedMachine {
  const cached = parsedMachines.get(topology.machine);
  if (cached) return cached;
  const parsed = MachineSchema.safeParse(topology.machine as MachineInput);
  const result: ParsedMachine = parsed.success
    ? { machine: parsed.data }
    : { error: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") };
  parsedMachines.set(topology.machine, result);
  return result;
}

export function machineProblems(topology: Topology): string[] {
  const parsed = parseTopologyMachine(topology);
  if ("error" in parsed) return [parsed.error];
  return findMachineProblems(parsed.machine).map((p) => `${p.path}: ${p.message}`);
}

/** Drive ids whose media the topology marks with a role (e.g. "root", "rescue"). */
export function drivesWithRole(topology: Topology, role: string): string[] {
  return Object.entries(topology.media ?? {})
    .filter(([, spec]) => "role" in spec && spec.role === role)
    .map(([driveId]) => driveId);
}

export function disksWithRole(machine: Machine, topology: Topology, role: string): DiskDevice[] {
  const drives = new Set(drivesWithRole(topology, role));
  return machine.disks.filter((d) => drives.has(d.drive));
}
