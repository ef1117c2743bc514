// Device identities across two libvirt domains of one instance (normal vs rescue, static
// check vs boot): which device is which, and which moved. Pure.
import { type DeviceAddress, type DomainSummary, formatAddress } from "./domain-xml.js";

export interface DomainDeviceEntry {
  /** Stable identity across domains of one instance: "disk vda", "interface fa:16:3e:..", "memballoon #0". */
  key: string;
  label: string;
  address: DeviceAddress | null;
  /**
   * Which numbering the address belongs to: "pci", "usb", or "drive/<bus>" (a drive address
   * counts within the controllers of its disk's bus: fdc 0:0:0:0 and ide 0:0:0:0 differ).
   */
  space: string;
}

/** An address with its numbering, comparable across device kinds. */
export const addressKey = (entry: DomainDeviceEntry): string => `${entry.space}|${JSON.stringify(entry.address)}`;

/** Every device of the domain with an identity that survives a redefinition. */
export function domainDeviceEntries(domain: DomainSummary): DomainDeviceEntry[] {
  const seen = new Map<string, number>();
  const numbered = (base: string) => {
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return `${base} #${n}`;
  };
  const entries: DomainDeviceEntry[] = [];
  let disk = 0;
  let nic = 0;
  let controller = 0;
  for (const device of domain.devices) {
    let key: string;
    let space = device.address?.type ?? "none";
    if (device.element === "disk") {
      const d = domain.disks[disk++]!;
      key = `disk ${d.targetDev}`;
      if (space === "drive") space = `drive/${d.bus}`;
    } else if (device.element === "interface") {
      const n = domain.interfaces[nic++]!;
      key = n.mac ? `interface ${n.mac}` : numbered("interface");
    } else if (device.element === "controller") {
      const c = domain.controllers[controller++]!;
      key = `controller ${c.type} ${c.index}`;
    } else key = numbered(device.label);
    entries.push({ key, label: device.label, address: device.address, space });
  }
  return entries;
}

export const sameAddress = (a: DeviceAddress | null, b: DeviceAddress | null): boolean => JSON.stringify(a) === JSON.stringify(b);

export interface InventoryComparison {
  moved: Array<{ key: string; label: string; from: DeviceAddress | null; to: DeviceAddress | null }>;
  missing: DomainDeviceEntry[];
  added: DomainDeviceEntry[];
}

export function compareDomainDevices(before: DomainSummary, after: DomainSummary): InventoryComparison {
  const afterEntries = new Map(domainDeviceEntries(after).map((e) => [e.key, e]));
  const beforeEntries = domainDeviceEntries(before);
  const beforeKeys = new Set(beforeEntries.map((e) => e.key));
  const moved: InventoryComparison["moved"] = [];
  const missing: DomainDeviceEntry[] = [];
  for (const entry of beforeEntries) {
    const counterpart = afterEntries.get(entry.key);
    if (!counterpart) missing.push(entry);
    else if (!sameAddress(entry.address, counterpart.address))
      moved.push({ key: entry.key, label: entry.label, from: entry.address, to: counterpart.address });
  }
  const added = [...afterEntries.values()].filter((e) => !beforeKeys.has(e.key));
  return { moved, missing, added };
}

export function describeMove(move: InventoryComparison["moved"][number]): string {
  return `${move.label} moved from ${formatAddress(move.from)} to ${formatAddress(move.to)}`;
}

/** The first device whose address differs between two definitions of the same domain, or null. */
export function firstAddressChange(before: DomainSummary, after: DomainSummary): string | null {
  const { moved, missing, added } = compareDomainDevices(before, after);
  if (moved[0]) return describeMove(moved[0]);
  if (missing[0]) return `${missing[0].label} (${formatAddress(missing[0].address)}) is gone`;
  if (added[0]) return `${added[0].label} (${formatAddress(added[0].address)}) is new`;
  return null;
}
