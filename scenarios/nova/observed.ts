// Matching the block devices one boot's guest saw with those another boot's guest saw, and
// naming the first guest-visible difference. Devices are matched by serial when the guest
// reports one; devices without a serial (ATAPI CDs, some USB disks, floppies) are matched by
// bus + model + size, preferring a candidate at the same address.
import type { ObservedBlockDevice } from "../../firmware/observation.js";

/** Guest-visible identity fields, in the order a difference is reported. */
export const IDENTITY_FIELDS = ["name", "serial", "pciBdf", "hctl", "usbPath"] as const;
export type IdentityField = (typeof IDENTITY_FIELDS)[number];

const FIELD_LABEL: Record<IdentityField, string> = {
  name: "kernel name",
  serial: "serial",
  pciBdf: "PCI BDF",
  hctl: "SCSI H:C:T:L",
  usbPath: "USB path",
};

export function describeDevice(device: ObservedBlockDevice): string {
  const parts: string[] = [device.bus];
  if (device.serial) parts.push(`serial ${device.serial}`);
  else if (device.model) parts.push(`model '${device.model}'`);
  if (device.pciBdf) parts.push(`PCI ${device.pciBdf}`);
  if (device.hctl) parts.push(`H:C:T:L ${device.hctl}`);
  if (device.usbPath) parts.push(`USB ${device.usbPath}`);
  return `${device.name} (${parts.join(", ")})`;
}

const samePath = (a: ObservedBlockDevice, b: ObservedBlockDevice) =>
  a.pciBdf === b.pciBdf && a.hctl === b.hctl && a.usbPath === b.usbPath;

export interface DevicePair {
  before: ObservedBlockDevice;
  after: ObservedBlockDevice | null;
  /** Why `after` is null: no candidate, or several equally good ones. */
  unmatchedReason?: string;
}

/** Pairs every device of `before` with at most one device of `after`. */
export function matchDevices(before: ObservedBlockDevice[], after: ObservedBlockDevice[]): DevicePair[] {
  const used = new Set<ObservedBlockDevice>();
  const pairs: DevicePair[] = [];
  const withSerial = before.filter((d) => d.serial);
  const withoutSerial = before.filter((d) => !d.serial);
  for (const device of withSerial) {
    const found = after.filter((d) => !used.has(d) && d.serial === device.serial);
    if (found.length === 1) {
      used.add(found[0]!);
      pairs.push({ before: device, after: found[0]! });
    } else
      pairs.push({
        before: device,
        after: null,
        unmatchedReason:
          found.length === 0 ? "no device with this serial" : `${found.length} devices share serial ${device.serial}`,
      });
  }
  for (const device of withoutSerial) {
    const candidates = after.filter(
      (d) => !used.has(d) && !d.serial && d.bus === device.bus && d.model === device.model && d.sizeBytes === device.sizeBytes,
    );
    const atSamePath = candidates.filter((d) => samePath(d, device));
    const chosen = atSamePath.length === 1 ? atSamePath[0] : candidates.length === 1 ? candidates[0] : undefined;
    if (chosen) {
      used.add(chosen);
      pairs.push({ before: device, after: chosen });
    } else
      pairs.push({
        before: device,
        after: null,
        unmatchedReason:
          candidates.length === 0
            ? `no serial-less ${device.bus} device with model '${device.model ?? "?"}' and ${device.sizeBytes} bytes`
            : `${candidates.length} serial-less look-alikes, none at the same address`,
      });
  }
  // Report in the order the first boot listed its devices.
  return pairs.sort((a, b) => before.indexOf(a.before) - before.indexOf(b.before));
}

export function firstIdentityDifference(before: ObservedBlockDevice, after: ObservedBlockDevice): string | null {
  for (const field of IDENTITY_FIELDS) {
    if (before[field] !== after[field]) return `${FIELD_LABEL[field]} ${before[field] ?? "none"} -> ${after[field] ?? "none"}`;
  }
  // The WWN identities a SCSI LU reports (VPD page 0x83 NAA designators).
  const [wwnBefore, wwnAfter] = [before.naaIds.join(","), after.naaIds.join(",")];
  if (wwnBefore !== wwnAfter) return `WWN ${wwnBefore || "none"} -> ${wwnAfter || "none"}`;
  return null;
}

/**
 * Compares every device of `before` with its match in `after`; returns a message naming the
 * first difference (and how many devices differ in all), or null when all are identical.
 */
export function compareObservedDevices(
  before: ObservedBlockDevice[],
  after: ObservedBlockDevice[],
  beforeName: string,
  afterName: string,
): string | null {
  const problems: string[] = [];
  for (const pair of matchDevices(before, after)) {
    if (!pair.after) {
      problems.push(
        `${describeDevice(pair.before)} of the ${beforeName} boot has no counterpart in the ${afterName} boot (${pair.unmatchedReason})`,
      );
      continue;
    }
    const difference = firstIdentityDifference(pair.before, pair.after);
    if (difference) problems.push(`${describeDevice(pair.before)} changed in the ${afterName} boot: ${difference}`);
  }
  if (problems.length === 0) return null;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more device${problems.length > 2 ? "s" : ""} differ)` : "";
  return `${problems[0]}${more}`;
}

/**
 * Why the unrescue boot's block devices are not exactly the normal boot's (a device changed,
 * or one is left over, e.g. the rescue device), or null.
 */
export function unrescueStorageDifference(normal: ObservedBlockDevice[], unrescue: ObservedBlockDevice[]): string | null {
  const difference = compareObservedDevices(normal, unrescue, "normal", "unrescue");
  if (difference) return difference;
  const extra = extraDevices(normal, unrescue);
  return extra.length > 0
    ? `the unrescue boot has devices the normal boot did not: ${extra.map(describeDevice).join(", ")}`
    : null;
}

/** Devices of `after` that match nothing in `before` (e.g. a rescue device left attached). */
export function extraDevices(before: ObservedBlockDevice[], after: ObservedBlockDevice[]): ObservedBlockDevice[] {
  const matched = new Set(matchDevices(before, after).flatMap((p) => (p.after ? [p.after] : [])));
  return after.filter((d) => !matched.has(d));
}
