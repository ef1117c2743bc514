// Properties checked on the topologies alone, before any guest starts: they run over
// thousands of generated instances in milliseconds and catch most driver mistakes (addresses
// that move, a rescue device without boot priority) without a boot.
import type { Machine } from "../../emulator/machine.js";
import type { PropertyOutcome, StaticProperty, Topology } from "../../harness/scenario.js";
import {
  disksWithRole,
  effectivePciSlots,
  firstAddressDifference,
  machineProblems,
  parseTopologyMachine,
  type StaticDiskIdentity,
  staticIdentities,
} from "./identity.js";
import type { NovaRescueCase } from "./model.js";

export const BOOT_NAMES = ["normal", "rescue", "unrescue"] as const;
type Topologies = Record<string, Topology>;

const pass: PropertyOutcome = { ok: true };
const fail = (message: string): PropertyOutcome => ({ ok: false, message });

function machinesOf(topologies: Topologies): Record<string, Machine> | PropertyOutcome {
  const out: Record<string, Machine> = {};
  for (const name of BOOT_NAMES) {
    const topology = topologies[name];
    if (!topology) return fail(`the scenario produced no '${name}' topology`);
    const parsed = parseTopologyMachine(topology);
    if ("error" in parsed) return fail(`the ${name} machine does not parse: ${parsed.error}`);
    out[name] = parsed.machine;
  }
  return out;
}

const isOutcome = (value: unknown): value is PropertyOutcome => typeof (value as PropertyOutcome).ok === "boolean";

export const machinesValid: StaticProperty<NovaRescueCase> = {
  name: "machines-valid",
  description:
    "the normal, rescue and unrescue machines pass Machine validation (ids, slot collisions, bus capacity, references)",
  check(_input, topologies) {
    for (const name of BOOT_NAMES) {
      const topology = topologies[name];
      if (!topology) return fail(`the scenario produced no '${name}' topology`);
      const problems = machineProblems(topology);
      if (problems.length > 0) return fail(`the ${name} machine is invalid: ${problems.join("; ")}`);
    }
    return pass;
  },
};

export const pciSlotsDistinct: StaticProperty<NovaRescueCase> = {
  name: "pci-slots-distinct",
  description: "no two PCI devices end up on one slot once QEMU has placed the unpinned ones (in argv order)",
  check(_input, topologies) {
    const machines = machinesOf(topologies);
    if (isOutcome(machines)) return machines;
    for (const name of BOOT_NAMES) {
      const { collisions } = effectivePciSlots(machines[name]!);
      if (collisions.length > 0) return fail(`${name} boot: ${collisions.join("; ")}`);
    }
    return pass;
  },
};

export const bootIndexUnique: StaticProperty<NovaRescueCase> = {
  name: "boot-index-unique",
  description: "boot indexes are unique in every boot and the root disk has the lowest one outside rescue",
  check(_input, topologies) {
    const machines = machinesOf(topologies);
    if (isOutcome(machines)) return machines;
    for (const name of BOOT_NAMES) {
      const machine = machines[name]!;
      const seen = new Map<number, string>();
      for (const device of [...machine.disks, ...machine.nics]) {
        if (device.bootIndex === undefined) continue;
        const other = seen.get(device.bootIndex);
        if (other) return fail(`${name} boot: '${device.id}' and '${other}' share bootIndex ${device.bootIndex}`);
        seen.set(device.bootIndex, device.id);
      }
      if (name === "rescue") continue;
      const roots = disksWithRole(machine, topologies[name]!, "root");
      if (roots.length !== 1) return fail(`${name} boot: expected one disk with media role 'root', found ${roots.length}`);
      const root = roots[0]!;
      if (root.bootIndex === undefined) return fail(`${name} boot: the root disk '${root.id}' has no bootIndex`);
      const lower = [...seen.entries()].find(([index]) => index < root.bootIndex!);
      if (lower)
        return fail(
          `${name} boot: '${lower[1]}' (bootIndex ${lower[0]}) boots before the root disk '${root.id}' (${root.bootIndex})`,
        );
    }
    return pass;
  },
};

export const rescueDeviceLastAndFirstToBoot: StaticProperty<NovaRescueCase> = {
  name: "rescue-last-boots-first",
  description:
    "the rescue machine adds exactly one rescue device, listed last, with bootIndex 0 below every other, on a PCI slot (its own or its new controller's) after every slot of the normal boot",
  check(_input, topologies) {
    const machines = machinesOf(topologies);
    if (isOutcome(machines)) return machines;
    const normal = machines.normal!;
    const rescue = machines.rescue!;
    if (disksWithRole(normal, topologies.normal!, "rescue").length > 0)
      return fail("the normal boot already has a rescue device");
    const rescueDisks = disksWithRole(rescue, topologies.rescue!, "rescue");
    if (rescueDisks.length !== 1)
      return fail(`the rescue boot has ${rescueDisks.length} disks with media role 'rescue'; expected exactly 1`);
    const device = rescueDisks[0]!;
    const position = rescue.disks.indexOf(device);
    if (position !== rescue.disks.length - 1)
      return fail(`the rescue device '${device.id}' is disk ${position + 1} of ${rescue.disks.length}; it must be attached last`);
    if (device.bootIndex !== 0)
      return fail(`the rescue device '${device.id}' has bootIndex ${device.bootIndex ?? "none"}; expected 0`);
    const earlier = rescue.disks.find((d) => d !== device && d.bootIndex !== undefined && d.bootIndex <= 0);
    if (earlier) return fail(`'${earlier.id}' (bootIndex ${earlier.bootIndex}) competes with the rescue device for first boot`);

    const normalSlots = effectivePciSlots(normal).slots;
    const rescueSlots = effectivePciSlots(rescue).slots;
    const highestNormal = Math.max(-1, ...normalSlots.values());
    const newPciDevices = [...rescueSlots.entries()].filter(([id]) => !normalSlots.has(id));
    for (const [id, slot] of newPciDevices)
      if (slot <= highestNormal)
        return fail(
          `'${id}', new in rescue, sits on PCI slot ${slot}, not after the normal boot's highest slot ${highestNormal}`,
        );
    return pass;
  },
};

function identityIndex(identities: StaticDiskIdentity[]) {
  const bySerial = new Map(identities.filter((i) => i.serial).map((i) => [i.serial!, i]));
  const byId = new Map(identities.map((i) => [i.id, i]));
  return (wanted: StaticDiskIdentity) => (wanted.serial ? bySerial.get(wanted.serial) : undefined) ?? byId.get(wanted.id);
}

function compareKept(from: Machine, to: Machine, toName: string): string | null {
  const find = identityIndex(staticIdentities(to));
  for (const before of staticIdentities(from)) {
    const after = find(before);
    const label = `'${before.id}'${before.serial ? ` (serial ${before.serial})` : ""}`;
    if (!after) return `${label} of the normal boot is missing in the ${toName} boot`;
    const difference = firstAddressDifference(before, after);
    if (difference) return `${label} moved in the ${toName} boot: ${difference}`;
  }
  return null;
}

export const normalDevicesKeptInRescue: StaticProperty<NovaRescueCase> = {
  name: "normal-devices-kept-in-rescue",
  description:
    "every disk of the normal boot is in the rescue boot with identical serial, PCI slot, controller, bus address and virtio name",
  check(_input, topologies) {
    const machines = machinesOf(topologies);
    if (isOutcome(machines)) return machines;
    const difference = compareKept(machines.normal!, machines.rescue!, "rescue");
    return difference ? fail(difference) : pass;
  },
};

export const unrescueEqualsNormal: StaticProperty<NovaRescueCase> = {
  name: "unrescue-equals-normal",
  description: "the unrescue boot has exactly the normal boot's disks at identical addresses and no rescue device",
  check(_input, topologies) {
    const machines = machinesOf(topologies);
    if (isOutcome(machines)) return machines;
    const normal = machines.normal!;
    const unrescue = machines.unrescue!;
    if (disksWithRole(unrescue, topologies.unrescue!, "rescue").length > 0)
      return fail("the unrescue boot still has the rescue device");
    if (unrescue.disks.length !== normal.disks.length)
      return fail(`the unrescue boot has ${unrescue.disks.length} disks, the normal boot ${normal.disks.length}`);
    const difference = compareKept(normal, unrescue, "unrescue");
    return difference ? fail(difference) : pass;
  },
};

export const novaStaticProperties: Array<StaticProperty<NovaRescueCase>> = [
  machinesValid,
  pciSlotsDistinct,
  bootIndexUnique,
  rescueDeviceLastAndFirstToBoot,
  normalDevicesKeptInRescue,
  unrescueEqualsNormal,
];
