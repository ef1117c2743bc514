// Reading real Nova's decision in the spec's terms: what the placeholder image maps, what the
// spec expects for the case, and which of the case's volumes each disk of the domain holds.
import type { NovaServerBuilt } from "../../harness/openstack/nova-server.js";
import type { PlaceholderCase } from "./case.js";
import { decisionOf, volumeBehind } from "./driver.js";
import { expectedBoot, type PlaceholderExpectation } from "./spec-model.js";

/** One entry of the placeholder's block_device_mapping property (a JSON string in Glance). */
export interface ImageMapping {
  source_type?: string;
  snapshot_id?: string | null;
  device_name?: string | null;
  boot_index?: number | null;
  volume_size?: number | null;
}

export function imageMappings(image: Record<string, unknown>): ImageMapping[] | string {
  const raw = image.block_device_mapping;
  if (typeof raw !== "string") return `the image has no block_device_mapping property (${JSON.stringify(raw)})`;
  try {
    const parsed = JSON.parse(raw) as unknown;
    return Array.isArray(parsed) ? (parsed as ImageMapping[]) : `block_device_mapping is not a list: ${raw}`;
  } catch {
    return `block_device_mapping is not JSON: ${raw}`;
  }
}

/** The spec's expectation, with the devices the placeholder image gives the original's volumes. */
export function expectationFor(input: PlaceholderCase): PlaceholderExpectation {
  const { snapshot } = decisionOf(input);
  const devices = new Map<string, string>();
  if (snapshot.outcome === "snapshotted") {
    const mappings = imageMappings(snapshot.image);
    for (const m of typeof mappings === "string" ? [] : mappings) {
      const source = m.snapshot_id ? snapshot.snapshots[m.snapshot_id]?.volume_id : undefined;
      if (source && m.device_name) devices.set(source, m.device_name);
    }
  }
  return expectedBoot(input, (volumeId) => devices.get(volumeId));
}

/** Every volume disk of Nova's domain with the case's volume it holds. */
export function volumeDisks(input: PlaceholderCase, built: NovaServerBuilt) {
  return built.disks
    .filter((d) => d.volumeId !== undefined)
    .map((disk) => ({ disk, volume: volumeBehind(input, built, disk.volumeId!) }));
}

/** A volume as the guest names it: virtio-blk keeps 20 bytes of the serial, SCSI more. */
export function guestSerialMatches(serial: string | null, volumeId: string): boolean {
  return serial !== null && serial.length >= Math.min(20, volumeId.length) && volumeId.startsWith(serial);
}
