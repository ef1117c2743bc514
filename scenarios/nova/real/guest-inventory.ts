// The guest's whole hardware inventory across two boots (normal vs rescue, normal vs
// unrescue): every PCI function, USB device and NIC, matched by what it is (vendor:device,
// MAC) and compared by where the guest saw it. Guests notice any address change (licence
// checks among them), so a device that moves is a difference even when no disk moved. Pure.
import type { Observation, ObservedPciFunction, ObservedUsbDevice } from "../../../firmware/observation.js";

/** Names for the PCI and USB ids QEMU's devices carry, so a report speaks the guest's language. */
const KNOWN_IDS: Record<string, string> = {
  "0x1af4:0x1000": "virtio-net",
  "0x1af4:0x1001": "virtio-blk",
  "0x1af4:0x1002": "virtio-balloon",
  "0x1af4:0x1004": "virtio-scsi",
  "0x1af4:0x1005": "virtio-rng",
  "0x1af4:0x1050": "virtio-gpu",
  "0x1af4:0x1041": "virtio-net (modern)",
  "0x1af4:0x1042": "virtio-blk (modern)",
  "0x1af4:0x1044": "virtio-rng (modern)",
  "0x1af4:0x1045": "virtio-balloon (modern)",
  "0x1af4:0x1048": "virtio-scsi (modern)",
  "0x8086:0x7000": "PIIX3 ISA bridge",
  "0x8086:0x7010": "PIIX3 IDE",
  "0x8086:0x7020": "PIIX3 USB UHCI",
  "0x8086:0x7113": "PIIX4 ACPI",
  "0x8086:0x1237": "i440FX host bridge",
  "0x8086:0x29c0": "Q35 host bridge",
  "0x8086:0x2918": "ICH9 LPC",
  "0x8086:0x2922": "ICH9 AHCI",
  "0x8086:0x2930": "ICH9 SMBus",
  "0x8086:0x100e": "e1000",
  "0x8086:0x10d3": "e1000e",
  "0x1000:0x0012": "LSI 53C895A",
  "0x1b36:0x000d": "QEMU xHCI",
  "0x1b36:0x000c": "PCIe root port",
  "0x1234:0x1111": "VGA",
  "0x1013:0x00b8": "Cirrus VGA",
  "0627:0001": "USB tablet",
  "46f4:0001": "USB storage",
};

const pciIds = (f: ObservedPciFunction) => `${f.vendorId ?? "?"}:${f.deviceId ?? "?"}`;
const usbIds = (d: ObservedUsbDevice) => `${d.vendorId ?? "?"}:${d.productId ?? "?"}`;
const pciName = (f: ObservedPciFunction) => {
  const ids = pciIds(f);
  const known = KNOWN_IDS[ids];
  return `${known ? `${known} ` : ""}(${ids.replaceAll("0x", "")})`;
};
const usbName = (d: ObservedUsbDevice) =>
  `${d.isRootHub ? "root hub" : (KNOWN_IDS[usbIds(d)] ?? d.product ?? "USB device")} (${usbIds(d)})`;

export interface InventoryDifference {
  /** What moved or vanished, in the guest's terms. */
  problems: string[];
  /** Devices only the second boot has (e.g. the rescue disk), as "name at address". */
  added: string[];
}

/**
 * Pairs items of `before` with items of `after`: first at the same place with the same
 * identity, then the same identity elsewhere (a move), else missing.
 */
function matchInventory<T>(
  before: T[],
  after: T[],
  identity: (item: T) => string,
  place: (item: T) => string,
  name: (item: T) => string,
  afterName: string,
): InventoryDifference {
  const unused = new Set(after);
  const problems: string[] = [];
  const unmatched: T[] = [];
  for (const item of before) {
    const same = [...unused].find((a) => identity(a) === identity(item) && place(a) === place(item));
    if (same) unused.delete(same);
    else unmatched.push(item);
  }
  for (const item of unmatched) {
    const moved = [...unused].find((a) => identity(a) === identity(item));
    if (moved) {
      unused.delete(moved);
      problems.push(`${name(item)} moved from ${place(item)} to ${place(moved)} in the ${afterName} boot`);
    } else problems.push(`${name(item)} at ${place(item)} is missing in the ${afterName} boot`);
  }
  const added = [...unused].map((a) => `${name(a)} at ${place(a)}`);
  return { problems, added };
}

export function pciDifferences(before: Observation, after: Observation, afterName: string): InventoryDifference {
  return matchInventory(before.pciFunctions, after.pciFunctions, pciIds, (f) => `PCI ${f.path}`, pciName, afterName);
}

export function usbDifferences(before: Observation, after: Observation, afterName: string): InventoryDifference {
  return matchInventory(before.usbDevices, after.usbDevices, usbIds, (d) => `USB ${d.portPath}`, usbName, afterName);
}

export function nicDifferences(before: Observation, after: Observation, afterName: string): InventoryDifference {
  return matchInventory(
    before.nics,
    after.nics,
    (n) => n.mac,
    (n) => `PCI ${n.pciBdf ?? "?"}`,
    (n) => `NIC ${n.mac}`,
    afterName,
  );
}

/** Every inventory difference between two boots, PCI first. */
export function inventoryDifferences(before: Observation, after: Observation, afterName: string): InventoryDifference {
  const parts = [
    pciDifferences(before, after, afterName),
    usbDifferences(before, after, afterName),
    nicDifferences(before, after, afterName),
  ];
  return { problems: parts.flatMap((p) => p.problems), added: parts.flatMap((p) => p.added) };
}
