// bootproof's stand-in Cinder for the volumes Heat creates: Cinder's own API rules for a
// volume create (an integer size of at least 1 GiB, a known volume type and availability
// zone, an image that fits), and the volume it stores: bootable when created from an image,
// with the image's Glance metadata copied onto it (volume_glance_metadata, which Cinder shows
// as volume_image_metadata and Nova reads for a volume-backed server). Pure.
import type { CinderVolume, GlanceImage } from "../../harness/openstack/nova-server.js";
import { GiB } from "./case.js";
import type { CinderVolumeCreate } from "./heat.js";

export interface CinderCloud {
  images: Record<string, GlanceImage>;
  volumeTypes: readonly string[];
  availabilityZones: readonly string[];
  /** Cinder's default_availability_zone / storage_availability_zone. */
  defaultAvailabilityZone: string;
}

export type CinderAnswer = { outcome: "created"; volume: CinderVolume } | { outcome: "refused"; error: string };

/** The Glance fields Cinder copies onto a volume created from an image (cinder/volume/flows/manager). */
const GLANCE_CORE_PROPERTIES = ["checksum", "container_format", "disk_format", "min_disk", "min_ram", "size"] as const;
const GLANCE_NOT_COPIED = new Set([
  "id",
  "name",
  "status",
  "visibility",
  "protected",
  "owner",
  "tags",
  "created_at",
  "updated_at",
]);

/** What Cinder stores as a volume's image metadata: every value a string. */
export function volumeImageMetadata(image: GlanceImage): Record<string, string> {
  const metadata: Record<string, string> = { image_id: image.id, image_name: String(image.name ?? "") };
  for (const key of GLANCE_CORE_PROPERTIES) if (image[key] !== undefined) metadata[key] = String(image[key]);
  for (const [key, value] of Object.entries(image))
    if (!GLANCE_NOT_COPIED.has(key) && !(key in metadata) && value !== undefined && value !== null) metadata[key] = String(value);
  return metadata;
}

/** Cinder's answer to one volume create. */
export function cinderCreate(create: CinderVolumeCreate, cloud: CinderCloud): CinderAnswer {
  const refuse = (error: string): CinderAnswer => ({ outcome: "refused", error });
  if (create.size === null || !Number.isInteger(create.size) || create.size < 1)
    return refuse(`Invalid input received: Volume size '${create.size}' must be an integer and greater than 0.`);
  if (create.volumeType !== null && !cloud.volumeTypes.includes(create.volumeType))
    return refuse(`Volume type with name ${create.volumeType} could not be found.`);
  const zone = create.availabilityZone ?? cloud.defaultAvailabilityZone;
  if (!cloud.availabilityZones.includes(zone)) return refuse(`Invalid input received: Availability zone '${zone}' is invalid.`);
  let image: GlanceImage | undefined;
  if (create.imageRef !== null) {
    image = cloud.images[create.imageRef];
    if (!image) return refuse(`Image ${create.imageRef} could not be found.`);
    const virtualGb = Math.ceil(Number(image.size ?? 0) / GiB);
    if (virtualGb > create.size)
      return refuse(`Image virtual size is ${virtualGb}GB and doesn't fit in a volume of size ${create.size}GB.`);
    const minDisk = Number(image.min_disk ?? 0);
    if (minDisk > create.size)
      return refuse(`Volume size ${create.size}GB cannot be smaller than the image minDisk size ${minDisk}GB.`);
  }
  return {
    outcome: "created",
    volume: {
      size: create.size,
      status: "available",
      bootable: image !== undefined,
      availability_zone: zone,
      ...(image ? { volume_image_metadata: volumeImageMetadata(image) } : {}),
    },
  };
}
