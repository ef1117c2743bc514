// The boot-free checks of the real driver, on what Nova wrote and libvirt defined: the
// addresses libvirt assigned to the normal and the rescue domain (dumpxml), the rescue
// device and the boot order. They run over hundreds of generated cases before any guest
// starts; the boots then show the same thing from inside the guest.
import { type DomainDisk, type DomainSummary, formatAddress, summarizeDomain } from "../../../harness/libvirt/domain-xml.js";
import {
  addressKey,
  compareDomainDevices,
  describeMove,
  domainDeviceEntries,
  sameAddress,
} from "../../../harness/libvirt/inventory.js";
import type { DomainTopology, PropertyOutcome, StaticProperty } from "../../../harness/scenario.js";
import { isOutcome } from "../../common/outcomes.js";
import { type NovaRescueCase, resolveRescueDevice } from "../model.js";
import { REAL_BOOT_NAMES } from "./driver.js";

const fail = (message: string): PropertyOutcome => ({ ok: false, message });

type Topologies = Record<string, DomainTopology>;
const pass: PropertyOutcome = { ok: true };

function definedDomains(topologies: Topologies): Record<string, DomainSummary> | PropertyOutcome {
  const out: Record<string, DomainSummary> = {};
  for (const name of REAL_BOOT_NAMES) {
    const topology = topologies[name];
    if (!topology) return fail(`the scenario produced no '${name}' domain`);
    if (!topology.defined)
      return fail(`the ${name} domain was refused by ${topology.refusal?.by ?? "?"}: ${topology.refusal?.message ?? ""}`);
    out[name] = topology.defined;
  }
  return out;
}

/** The rescue domain's disk whose medium is the rescue image. */
export function rescueDiskOf(topology: DomainTopology): DomainDisk | undefined {
  const medium = topology.media.find((m) => m.media.kind !== "blank" && m.media.role === "rescue");
  return medium ? topology.defined?.disks.find((d) => d.targetDev === medium.targetDev) : undefined;
}

export const driverAndLibvirtAccept: StaticProperty<NovaRescueCase, DomainTopology> = {
  name: "S0-nova-and-libvirt-accept",
  description:
    "Nova writes a normal and a stable-device rescue domain for the case and libvirt defines both (a rescue image Nova accepts must be one libvirt can run)",
  check(_input, topologies) {
    for (const name of REAL_BOOT_NAMES) {
      const refusal = topologies[name]?.refusal;
      if (!refusal) continue;
      return fail(
        refusal.by === "driver"
          ? `Nova refused the ${name} domain: ${refusal.type}: ${refusal.message}`
          : `libvirt refused the ${name} domain Nova wrote (Nova accepted an input libvirt cannot run): ${refusal.message}`,
      );
    }
    return pass;
  },
};

function diskDifference(before: DomainDisk, after: DomainDisk): string | null {
  for (const field of ["bus", "device", "serial", "wwn"] as const)
    if (before[field] !== after[field]) return `${field} ${before[field] ?? "none"} -> ${after[field] ?? "none"}`;
  if (!sameAddress(before.address, after.address))
    return `address ${formatAddress(before.address)} -> ${formatAddress(after.address)}`;
  return null;
}

/** Disks by target dev, plus the address of the controller a drive address points into. */
function storageKept(before: DomainSummary, after: DomainSummary, afterName: string): string | null {
  for (const disk of before.disks) {
    const counterpart = after.disks.find((d) => d.targetDev === disk.targetDev);
    if (!counterpart)
      return `disk ${disk.targetDev} (${disk.device} on ${disk.bus}) of the normal domain is missing in the ${afterName} domain`;
    const difference = diskDifference(disk, counterpart);
    if (difference)
      return `disk ${disk.targetDev} (${disk.device} on ${disk.bus}) changed in the ${afterName} domain: ${difference}`;
  }
  for (const controller of before.controllers) {
    const counterpart = after.controllers.find((c) => c.type === controller.type && c.index === controller.index);
    if (counterpart && !sameAddress(controller.address, counterpart.address))
      return `the ${controller.type} controller ${controller.index} its disks hang off moved in the ${afterName} domain: ${formatAddress(controller.address)} -> ${formatAddress(counterpart.address)}`;
  }
  return null;
}

/** The disk backed by the root image (the instance's root disk or root volume). */
export function rootDiskOf(topology: DomainTopology): DomainDisk | undefined {
  const medium = topology.media.find((m) => m.media.kind !== "blank" && m.media.role === "root");
  return medium ? topology.defined?.disks.find((d) => d.targetDev === medium.targetDev) : undefined;
}

/**
 * The disk the firmware tries first, as libvirt sets it up: the lowest per-device boot order,
 * or for <os><boot dev='hd'/> the first disk in libvirt's own (sorted) disk order, which is
 * the one libvirt gives bootindex 1.
 */
export function firstBootDisk(domain: DomainSummary): DomainDisk | undefined {
  const ordered = domain.disks.filter((d) => d.bootOrder !== null).sort((a, b) => a.bootOrder! - b.bootOrder!);
  if (ordered.length > 0) return ordered[0];
  const first = domain.osBootDevices[0];
  if (first === "hd") return domain.disks.find((d) => d.device === "disk");
  if (first === "cdrom") return domain.disks.find((d) => d.device === "cdrom");
  if (first === "fd") return domain.disks.find((d) => d.device === "floppy");
  return undefined;
}

export const xmlNormalBootsRoot: StaticProperty<NovaRescueCase, DomainTopology> = {
  name: "S1-normal-and-unrescue-boot-root",
  description:
    "in the normal and unrescue domains the disk the firmware tries first (lowest boot order, or libvirt's first disk for <boot dev='hd'/>) is the root disk",
  check(_input, topologies) {
    const domains = definedDomains(topologies);
    if (isOutcome(domains)) return domains;
    for (const name of ["normal", "unrescue"] as const) {
      const root = rootDiskOf(topologies[name]!);
      const first = firstBootDisk(domains[name]!);
      if (!root) return fail(`the ${name} domain has no disk backed by the root image`);
      if (first?.targetDev !== root.targetDev)
        return fail(
          `the ${name} domain boots ${first ? `disk ${first.targetDev} (${first.device} on ${first.bus})` : "no disk"} first, not the root disk ${root.targetDev} (${root.bus})${domains[name]!.osBootDevices.length ? `: <os><boot dev='${domains[name]!.osBootDevices.join(",")}'/> gives libvirt's first disk bootindex 1, and libvirt sorts disks by bus` : ""}`,
        );
    }
    return pass;
  },
};

export const xmlStorageKept: StaticProperty<NovaRescueCase, DomainTopology> = {
  name: "S3-storage-kept-in-libvirt",
  description:
    "every disk of the normal domain is in the rescue and unrescue domains with the same target, bus, serial, WWN and libvirt address, and its controller at the same PCI address",
  check(_input, topologies) {
    const domains = definedDomains(topologies);
    if (isOutcome(domains)) return domains;
    const problem =
      storageKept(domains.normal!, domains.rescue!, "rescue") ?? storageKept(domains.normal!, domains.unrescue!, "unrescue");
    return problem ? fail(problem) : pass;
  },
};

/**
 * The rescue device and bus the rescue image asks for. Unset properties take the spec's
 * defaults: device "disk", and "the default bus would match the hw_disk_bus" (seed 004) of
 * the rescue image, whose hw_disk_bus / hw_cdrom_bus bootproof leaves unset: virtio for a
 * disk, IDE on pc and SATA on q35 for a cdrom (the machine's own cdrom bus), the floppy
 * controller for a floppy.
 */
export function requestedRescue(input: NovaRescueCase): { device: "disk" | "cdrom" | "floppy"; bus: string } {
  return resolveRescueDevice(input.rescue, input.instance.machineType);
}

export const xmlRescueDevice: StaticProperty<NovaRescueCase, DomainTopology> = {
  name: "S6-rescue-device-as-requested",
  description:
    "the rescue domain has one rescue disk of the requested hw_rescue_device on the requested hw_rescue_bus (unset: a disk on the rescue image's hw_disk_bus default, virtio, as the spec says), listed last, the only device with a boot order (1) and no <os><boot dev>",
  check(input, topologies) {
    const domains = definedDomains(topologies);
    if (isOutcome(domains)) return domains;
    const rescue = domains.rescue!;
    const disk = rescueDiskOf(topologies.rescue!);
    if (!disk) return fail("the rescue domain has no disk backed by the rescue image");
    const want = requestedRescue(input);
    if (disk.device !== want.device || disk.bus !== want.bus)
      return fail(
        `the rescue disk ${disk.targetDev} is a ${disk.device} on ${disk.bus}; the rescue image asked for a ${want.device} on ${want.bus}`,
      );
    // "Added as the last device in the configuration": Nova's XML (libvirt sorts disks by bus).
    const written = summarizeDomain(topologies.rescue!.driverXml).disks;
    const position = written.findIndex((d) => d.targetDev === disk.targetDev);
    if (position !== written.length - 1)
      return fail(
        `Nova wrote the rescue disk ${disk.targetDev} as disk ${position + 1} of ${written.length}; it must be attached last`,
      );
    if (disk.bootOrder !== 1)
      return fail(`the rescue disk ${disk.targetDev} has boot order ${disk.bootOrder ?? "none"}, expected 1`);
    const other = [...rescue.disks.filter((d) => d !== disk), ...rescue.interfaces].find((d) => d.bootOrder !== null);
    if (other)
      return fail(
        `another device (${"targetDev" in other ? other.targetDev : other.mac}) also has a boot order: ${other.bootOrder}`,
      );
    if (rescue.osBootDevices.length > 0)
      return fail(`the rescue domain keeps <os><boot dev='${rescue.osBootDevices.join(",")}'/>`);
    return pass;
  },
};

export const xmlDevicesKept: StaticProperty<NovaRescueCase, DomainTopology> = {
  name: "S7-every-device-kept-in-libvirt",
  description:
    "every device of the normal domain (controllers, NICs, video, balloon, RNG, inputs, serial) keeps its libvirt address in rescue, which adds only the rescue disk and a controller it needs at addresses no device had; unrescue equals normal",
  check(_input, topologies) {
    const domains = definedDomains(topologies);
    if (isOutcome(domains)) return domains;
    const rescueDisk = rescueDiskOf(topologies.rescue!);
    const inRescue = compareDomainDevices(domains.normal!, domains.rescue!);
    const problems = [
      ...inRescue.moved.map((m) => `${describeMove(m)} in the rescue domain`),
      ...inRescue.missing.map((m) => `${m.label} (${formatAddress(m.address)}) is missing in the rescue domain`),
    ];
    const taken = new Set(
      domainDeviceEntries(domains.normal!)
        .filter((d) => d.address)
        .map(addressKey),
    );
    const added = inRescue.added.filter((a) => a.address);
    const extraControllers = added.filter((a) => a.key.startsWith("controller "));
    if (extraControllers.length > 1)
      problems.push(`rescue adds ${extraControllers.length} controllers: ${extraControllers.map((c) => c.label).join(", ")}`);
    for (const entry of added) {
      if (!(entry.key === `disk ${rescueDisk?.targetDev}` || entry.key.startsWith("controller ")))
        problems.push(
          `rescue adds ${entry.label} (${formatAddress(entry.address)}), which is neither the rescue disk nor its controller`,
        );
      if (taken.has(addressKey(entry)))
        problems.push(`${entry.label}, new in rescue, takes ${formatAddress(entry.address)}, which a normal device had`);
    }
    const afterUnrescue = compareDomainDevices(domains.normal!, domains.unrescue!);
    problems.push(
      ...afterUnrescue.moved.map((m) => `${describeMove(m)} after unrescue`),
      ...afterUnrescue.missing.map((m) => `${m.label} is missing after unrescue`),
      ...afterUnrescue.added.map((m) => `${m.label} is new after unrescue`),
    );
    if (problems.length === 0) return pass;
    return fail(
      `${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1).join("; ")})` : ""}`,
    );
  },
};

export const realNovaStaticProperties: Array<StaticProperty<NovaRescueCase, DomainTopology>> = [
  driverAndLibvirtAccept,
  xmlNormalBootsRoot,
  xmlStorageKept,
  xmlRescueDevice,
  xmlDevicesKept,
];
