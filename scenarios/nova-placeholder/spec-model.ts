// What seed 001 and Nova's documented API rules promise for a boot from the placeholder
// image, independent of how Nova implements it:
// - the image carries the block device mapping: booting it boots the volume restored from the
//   snapshot, at the snapshot's size, on the device the image names as root;
// - a request mapping for the root (boot_index 0; in the legacy syntax the device named as
//   the root device) wins over the image's; the request's size wins where it sets one;
// - a request mapping on a device the image also maps replaces the image's; others add;
// - Cinder cannot make a volume smaller than the snapshot it restores: that request is refused.
import type { PlaceholderCase, PlaceholderVolume, RequestMapping, VolumeContent } from "./case.js";
import { rootDeviceName } from "./requests.js";

export interface ExpectedVolume {
  /** What the guest must find on it. */
  content: VolumeContent;
  sizeGb: number;
  /** Where it comes from, for messages. */
  origin: string;
  /** The volume itself when it exists before the request (else Nova creates it). */
  volumeId?: string;
  /** The device Nova must put it on, when the spec fixes it (the root). */
  device?: string;
}

export type PlaceholderExpectation =
  | { outcome: "boots"; root: ExpectedVolume; others: ExpectedVolume[] }
  | { outcome: "refused"; why: string };

export const stripDev = (name: string): string => name.replace(/^\/dev\//, "");

/** The request mapping that is the root, if any. */
export function requestRoot(input: PlaceholderCase): RequestMapping | undefined {
  const root = stripDev(rootDeviceName(input.hardware));
  return input.request.mappings.find((m) =>
    input.request.syntax === "legacy"
      ? m.deviceName !== undefined && stripDev(m.deviceName) === root
      : m.kind !== "blank" && m.bootIndex === 0,
  );
}

function volumeNamed(input: PlaceholderCase, id: string): PlaceholderVolume {
  const volume = input.request.volumes.find((v) => v.id === id);
  if (!volume) throw new Error(`the case maps volume ${id}, which the request's volumes do not hold`);
  return volume;
}

function fromMapping(input: PlaceholderCase, mapping: RequestMapping): ExpectedVolume {
  switch (mapping.kind) {
    case "volume": {
      const volume = volumeNamed(input, mapping.volumeId);
      return { content: volume.content, sizeGb: volume.sizeGb, origin: `the request's volume ${volume.id}`, volumeId: volume.id };
    }
    case "snapshot":
      return {
        content: input.original.root.content,
        sizeGb: mapping.volumeSizeGb ?? input.original.root.sizeGb,
        origin: `the request's mapping of the root snapshot${mapping.volumeSizeGb !== undefined ? ` at ${mapping.volumeSizeGb} GiB` : ""}`,
      };
    case "blank":
      return { content: "data", sizeGb: mapping.volumeSizeGb, origin: `the request's blank ${mapping.volumeSizeGb} GiB volume` };
  }
}

/**
 * `imageDevice` says where the placeholder image maps a volume of the original (the device
 * the original had it on, which the image's block_device_mapping carries).
 */
export function expectedBoot(
  input: PlaceholderCase,
  imageDevice: (originalVolumeId: string) => string | undefined,
): PlaceholderExpectation {
  const rootDevice = stripDev(rootDeviceName(input.hardware));
  const original = input.original.root;
  const override = requestRoot(input);
  if (override?.kind === "snapshot" && override.volumeSizeGb !== undefined && override.volumeSizeGb < original.sizeGb)
    return {
      outcome: "refused",
      why: `the request asks for a ${override.volumeSizeGb} GiB volume from a ${original.sizeGb} GiB snapshot`,
    };
  const root: ExpectedVolume = override
    ? { ...fromMapping(input, override), device: rootDevice }
    : {
        content: original.content,
        sizeGb: original.sizeGb,
        origin: "the image's mapping: the volume restored from the snapshot of the original root",
        device: rootDevice,
      };
  const extras = input.request.mappings.filter((m) => m !== override);
  // The image's data mappings carry the devices the original had them on; the request's
  // mapping on the same device replaces one.
  const requestDevices = new Set(extras.filter((m) => m.deviceName !== undefined).map((m) => stripDev(m.deviceName!)));
  const imageData = input.original.data
    .map((volume) => ({ volume, device: imageDevice(volume.id) }))
    .filter((d) => d.device === undefined || !requestDevices.has(stripDev(d.device)))
    .map(
      ({ volume }): ExpectedVolume => ({
        content: volume.content,
        sizeGb: volume.sizeGb,
        origin: `the image's mapping: the volume restored from the snapshot of data volume ${volume.id}`,
      }),
    );
  return { outcome: "boots", root, others: [...imageData, ...extras.map((m) => fromMapping(input, m))] };
}
