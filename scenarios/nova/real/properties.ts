// The boot properties of the real driver: what the guests of the normal, rescue and
// unrescue domains saw. P1–P5 are the model's properties read from libvirt's domains; P6
// (the rescue device is what the image asked for) and P7 (every other device stays) are new.
import type { Observation, ObservedBlockDevice } from "../../../firmware/observation.js";
import {
  type DeviceAddress,
  type DomainDisk,
  type DomainSummary,
  formatPciAddress,
} from "../../../harness/libvirt/domain-xml.js";
import type { DomainBootRecord, Property, PropertyOutcome } from "../../../harness/scenario.js";
import { bootNamed, fail, isOutcome, observedOrFailure, pass } from "../../common/outcomes.js";
import { seabiosBootAttempts } from "../firmware-evidence.js";
import type { NovaRescueCase } from "../model.js";
import { compareObservedDevices, describeDevice, extraDevices, unrescueStorageDifference } from "../observed.js";
import { REAL_BOOT_NAMES } from "./driver.js";
import { inventoryDifferences } from "./guest-inventory.js";
import { requestedRescue, rescueDiskOf } from "./static-properties.js";

type Boots = Record<string, DomainBootRecord>;
type RealProperty = Property<NovaRescueCase, DomainBootRecord>;
const bootOf = (boots: Boots, name: string): DomainBootRecord => bootNamed(boots, name, REAL_BOOT_NAMES);
const observed = observedOrFailure;

function bootsRoot(boot: DomainBootRecord): PropertyOutcome {
  if (!boot.observation)
    return fail(
      `the ${boot.name} boot should start the root disk but never reached the probe: ${boot.failure ?? "no observation"}`,
    );
  const role = boot.observation.role;
  return role === "root" ? pass() : fail(`the ${boot.name} boot started '${role ?? "no role"}', expected 'root'`);
}

export const normalBootsRoot: RealProperty = {
  name: "P1-normal-boots-root",
  description: "the normal domain boots the root disk (the guest reports bootproof.role=root)",
  check: (_input, boots) => bootsRoot(bootOf(boots, "normal")),
};

export const rescueBootsRescueMedia: RealProperty = {
  name: "P2-rescue-boots-rescue-media",
  description:
    "the rescue domain boots the rescue image; a floppy (too small for a kernel) is proven by SeaBIOS's own 'Booting from Floppy' line",
  check(_input, boots) {
    const boot = bootOf(boots, "rescue");
    const disk = rescueDiskOf(boot.topology);
    if (!disk) return fail("the rescue domain has no disk backed by the rescue image");
    if (disk.device !== "floppy") {
      const role = boot.observation?.role;
      return role === "rescue"
        ? pass()
        : fail(
            `the rescue boot started '${role ?? "nothing the probe could report"}', expected 'rescue' (the ${disk.device} ${disk.targetDev} on ${disk.bus})`,
          );
    }
    if (boot.domain.firmware === "efi")
      return fail("OVMF does not boot floppies (measured): the rescue floppy cannot boot first", "firmware");
    const first = seabiosBootAttempts(boot.firmwareLog)[0];
    if (!first) return fail(`SeaBIOS's log has no 'Booting from' line (${boot.firmwareLog.length} lines captured)`, "firmware");
    return /^Floppy/.test(first) ? pass("firmware") : fail(`SeaBIOS booted '${first}' first, not the rescue floppy`, "firmware");
  },
};

export const rescueKeepsStorage: RealProperty = {
  name: "P3-rescue-keeps-storage",
  description:
    "every block device of the normal boot appears in the rescue boot with the same kernel name, serial, WWN, PCI BDF of its controller and bus address (SCSI H:C:T:L, USB port)",
  check(_input, boots) {
    const normal = observed(bootOf(boots, "normal"));
    if (isOutcome(normal)) return normal;
    const rescue = observed(bootOf(boots, "rescue"));
    if (isOutcome(rescue)) return rescue;
    const attached = bootOf(boots, "normal").domain.disks.length;
    if (normal.blockDevices.length < attached)
      return fail(
        `the normal boot's guest saw ${normal.blockDevices.length} block devices but the domain has ${attached} disks; the comparison would be vacuous`,
      );
    const difference = compareObservedDevices(normal.blockDevices, rescue.blockDevices, "normal", "rescue");
    return difference ? fail(difference) : pass();
  },
};

export const unrescueRestoresNormal: RealProperty = {
  name: "P4-unrescue-restores-normal",
  description:
    "after unrescue the root disk boots again and every block device is back at its normal identity, with no rescue device left",
  check(_input, boots) {
    const root = bootsRoot(bootOf(boots, "unrescue"));
    if (!root.ok) return root;
    const normal = observed(bootOf(boots, "normal"));
    if (isOutcome(normal)) return normal;
    const unrescue = observed(bootOf(boots, "unrescue"));
    if (isOutcome(unrescue)) return unrescue;
    const difference = unrescueStorageDifference(normal.blockDevices, unrescue.blockDevices);
    return difference ? fail(difference) : pass();
  },
};

const hex = (n: number) => n.toString(16);

type PciAddress = Extract<DeviceAddress, { type: "pci" }>;
const pciOf = (address: DeviceAddress | null): PciAddress | null => (address?.type === "pci" ? (address as PciAddress) : null);

/** The PCI function a disk hangs off in the domain (its own, or its controller's). */
export function pciFunctionOf(domain: DomainSummary, disk: DomainDisk): PciAddress | null {
  if (disk.address?.type === "pci") return pciOf(disk.address);
  if (disk.address?.type === "drive") {
    const index = (disk.address as Extract<DeviceAddress, { type: "drive" }>).controller;
    const controller = domain.controllers.find((c) => c.type === disk.bus && c.index === index);
    if (controller?.address) return pciOf(controller.address);
    // The chipset's own controllers carry no address in libvirt's XML.
    if (disk.bus === "ide") return { type: "pci", domain: 0, bus: 0, slot: 1, function: 1 };
    if (disk.bus === "sata") return { type: "pci", domain: 0, bus: 0, slot: 0x1f, function: 2 };
  }
  if (disk.address?.type === "usb") {
    const controller = domain.controllers.find((c) => c.type === "usb" && c.index === (disk.address as { bus: number }).bus);
    return controller ? pciOf(controller.address) : null;
  }
  return null;
}

/**
 * The PCI hops from the root bus to a function: every bridge or root port (libvirt's pci
 * controller whose index is the bus number), then the function itself.
 */
export function pciHops(domain: DomainSummary, target: PciAddress): PciAddress[] {
  const hops = [target];
  for (let address = target; address.bus !== 0; ) {
    const bridge = domain.controllers.find((c) => c.type === "pci" && c.index === address.bus);
    const upstream = bridge ? pciOf(bridge.address) : null;
    if (!upstream || hops.length > 8) break;
    hops.unshift(upstream);
    address = upstream;
  }
  return hops;
}

/** QEMU's OpenFirmware path for a PCI function: `/pci@i0cf8/<name>@<slot>[,<fn>]/...`. */
export function bootPathPrefix(hops: PciAddress[]): RegExp {
  const component = (a: PciAddress) => `/[^/@]+@${hex(a.slot)}${a.function ? `,${hex(a.function)}` : ""}`;
  return new RegExp(`^/pci@i0cf8${hops.map(component).join("")}(/|$)`);
}

export const rescueFirstInBootOrder: RealProperty = {
  name: "P5-rescue-first-in-bootorder",
  description:
    "the fw_cfg bootorder the rescue guest read starts with the rescue device (its PCI function, or the floppy controller)",
  check(_input, boots) {
    const boot = bootOf(boots, "rescue");
    const disk = rescueDiskOf(boot.topology);
    if (!disk) return fail("the rescue domain has no disk backed by the rescue image");
    const observation = observed(boot);
    if (isOutcome(observation)) return observation;
    const first = observation.bootOrder?.[0];
    if (observation.bootOrder === null)
      return fail("the guest could not read fw_cfg bootorder (qemu_fw_cfg missing from the probe?)");
    if (first === undefined) return fail(`fw_cfg bootorder is empty; the rescue disk ${disk.targetDev} has no boot priority`);
    if (disk.bus === "fdc")
      return /\/fdc@0*3f0\//.test(first) ? pass() : fail(`fw_cfg bootorder starts with ${first}, not the rescue floppy`);
    const fn = pciFunctionOf(boot.domain, disk);
    if (!fn) return fail(`cannot tell which PCI function the rescue disk ${disk.targetDev} hangs off`);
    const expected = bootPathPrefix(pciHops(boot.domain, fn));
    return expected.test(first)
      ? pass()
      : fail(
          `fw_cfg bootorder starts with ${first}; the rescue ${disk.device} ${disk.targetDev} on ${disk.bus} hangs off PCI ${formatPciAddress(fn)} (expected ${expected.source}; bootorder: ${observation.bootOrder.join(" | ")})`,
        );
  },
};

/** How the guest classifies a block device, and the transport it sees. */
export function guestClass(device: ObservedBlockDevice, observation: Observation): { device: string; transport: string } {
  const kind = /^sr\d/.test(device.name) ? "cdrom" : /^fd\d/.test(device.name) ? "floppy" : "disk";
  let transport: string = device.bus;
  if (device.bus === "ata") {
    const controller = observation.pciFunctions.find((f) => f.bdf === device.pciBdf);
    transport = controller?.classCode?.startsWith("0x0106") ? "sata" : "ide";
  }
  if (device.bus === "floppy") transport = "fdc";
  return { device: kind, transport };
}

export const rescueDeviceAsRequested: RealProperty = {
  name: "P6-rescue-device-as-requested",
  description:
    "the one device the rescue guest sees beyond the normal boot's is the requested hw_rescue_device (disk, cdrom, floppy as the guest classifies it) on the requested hw_rescue_bus (the transport the guest sees), or what the spec derives when unset",
  check(input, boots) {
    const normal = observed(bootOf(boots, "normal"));
    if (isOutcome(normal)) return normal;
    const rescue = observed(bootOf(boots, "rescue"));
    if (isOutcome(rescue)) return rescue;
    const extra = extraDevices(normal.blockDevices, rescue.blockDevices);
    if (extra.length !== 1)
      return fail(
        `the rescue guest sees ${extra.length} block devices the normal guest did not (${extra.map(describeDevice).join(", ") || "none"}); expected exactly the rescue device`,
      );
    const want = requestedRescue(input);
    const seen = guestClass(extra[0]!, rescue);
    const wantTransport = want.bus === "virtio" ? "virtio" : want.bus;
    if (seen.device !== want.device || seen.transport !== wantTransport)
      return fail(
        `the rescue guest sees the rescue device as a ${seen.device} on ${seen.transport} (${describeDevice(extra[0]!)}); the rescue image asked for a ${want.device} on ${want.bus}`,
      );
    return pass();
  },
};

export const everyOtherDeviceKept: RealProperty = {
  name: "P7-every-device-kept",
  description:
    "the rescue guest sees the normal guest's whole inventory (every PCI function by BDF and vendor:device, every USB device by port, every NIC by MAC and BDF) plus only the rescue device and a controller it needs, at addresses no device had; after unrescue exactly the normal inventory",
  check(_input, boots) {
    const normal = observed(bootOf(boots, "normal"));
    if (isOutcome(normal)) return normal;
    const rescue = observed(bootOf(boots, "rescue"));
    if (isOutcome(rescue)) return rescue;
    const unrescue = observed(bootOf(boots, "unrescue"));
    if (isOutcome(unrescue)) return unrescue;
    const inRescue = inventoryDifferences(normal, rescue, "rescue");
    const problems = [...inRescue.problems];
    const normalPlaces = new Set([
      ...normal.pciFunctions.map((f) => `PCI ${f.path}`),
      ...normal.usbDevices.map((d) => `USB ${d.portPath}`),
    ]);
    for (const added of inRescue.added) {
      const place = added.slice(added.lastIndexOf(" at ") + 4);
      if (normalPlaces.has(place)) problems.push(`${added} in the rescue boot, where the normal boot had another device`);
    }
    const addedPci = inRescue.added.filter((a) => a.includes(" at PCI "));
    if (addedPci.length > 2) problems.push(`the rescue boot adds ${addedPci.length} PCI functions: ${addedPci.join(", ")}`);
    const afterUnrescue = inventoryDifferences(normal, unrescue, "unrescue");
    problems.push(...afterUnrescue.problems, ...afterUnrescue.added.map((a) => `${a} is new in the unrescue boot`));
    if (problems.length === 0) return pass();
    return fail(
      `${problems[0]}${problems.length > 1 ? ` (and ${problems.length - 1} more: ${problems.slice(1).join("; ")})` : ""}`,
    );
  },
};

export const realNovaBootProperties: RealProperty[] = [
  normalBootsRoot,
  rescueBootsRescueMedia,
  rescueKeepsStorage,
  unrescueRestoresNormal,
  rescueFirstInBootOrder,
  rescueDeviceAsRequested,
  everyOtherDeviceKept,
];
