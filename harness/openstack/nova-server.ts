// Real Nova's server create, from the API request to the libvirt domain XML, and the snapshot
// of a volume-backed server (the placeholder image). The Python side is
// harness/openstack/python/nova_boot.py in the Nova worker (harness/openstack/nova.ts):
// nova-api's BDM handling and compute API checks, nova-compute's device naming and volume
// preparation, the libvirt driver's XML. Glance and Cinder are stand-ins that answer from the
// request's images, volumes and snapshots and record what Nova asked of them.
import * as z from "zod/mini";
import "../../emulator/zod-english.js";
import { NovaDomainDiskSchema, NovaDomainSchema, type NovaWorkerOptions, novaWorkerSpec } from "./nova.js";
import { workerFor } from "./worker.js";

/** The instance's hardware, as the rescue case names it (scenarios/nova/model.ts). */
export interface NovaServerHardware {
  uuid: string;
  machineType: "pc" | "q35";
  firmware: "seabios" | "ovmf";
  nics?: Array<{ mac: string }>;
}

/** The flavor of the request (what `openstack flavor show` gives). */
export interface NovaFlavor {
  rootGb: number;
  ephemeralGb?: number;
  swapMb?: number;
  memoryMb?: number;
}

/** A v2 block device mapping as POST /servers takes it (block_device_mapping_v2). */
export interface NovaBdmV2 {
  source_type: "image" | "volume" | "snapshot" | "blank";
  destination_type?: "volume" | "local";
  uuid?: string;
  boot_index?: number | null;
  volume_size?: number;
  device_name?: string;
  delete_on_termination?: boolean;
  disk_bus?: string;
  device_type?: string;
  guest_format?: string;
  volume_type?: string;
}

/** A legacy block device mapping (block_device_mapping), as Heat's OS::Nova::Server sends it. */
export interface NovaLegacyBdm {
  device_name: string;
  volume_id?: string;
  snapshot_id?: string;
  volume_size?: number | string;
  delete_on_termination?: boolean | string;
}

/** A Glance v2 image as Glance returns it: extra properties are top-level strings. */
export type GlanceImage = { id: string; status: string } & Record<string, unknown>;

/** A Cinder volume (the fields Nova reads). */
export interface CinderVolume {
  size: number;
  status: string;
  bootable?: boolean;
  multiattach?: boolean;
  availability_zone?: string | null;
  volume_image_metadata?: Record<string, string>;
  display_description?: string;
}

export interface CinderSnapshot {
  size: number;
  volume_id: string;
  status: string;
  name?: string;
}

export interface NovaServerRequest {
  instance: NovaServerHardware;
  flavor: NovaFlavor;
  server: {
    imageRef?: string;
    blockDeviceMapping?: NovaLegacyBdm[];
    blockDeviceMappingV2?: NovaBdmV2[];
    /** Volumes attached after the server is built (Heat's OS::Cinder::VolumeAttachment, no device): the domain is the one Nova writes at the next hard reboot. */
    attachVolumes?: string[];
  };
  images?: Record<string, GlanceImage>;
  volumes?: Record<string, CinderVolume>;
  snapshots?: Record<string, CinderSnapshot>;
  snapshotName?: string;
}

const BdmSchema = z.object({
  source_type: z.nullable(z.string()),
  destination_type: z.nullable(z.string()),
  boot_index: z.nullable(z.number()),
  device_name: z.nullable(z.string()),
  volume_id: z.nullable(z.string()),
  snapshot_id: z.nullable(z.string()),
  image_id: z.nullable(z.string()),
  volume_size: z.nullable(z.number()),
  volume_type: z.nullable(z.string()),
  disk_bus: z.nullable(z.string()),
  device_type: z.nullable(z.string()),
  guest_format: z.nullable(z.string()),
  delete_on_termination: z.nullable(z.boolean()),
});
/** A block device mapping as Nova stored it. */
export type NovaBdm = z.infer<typeof BdmSchema>;

const CinderCallSchema = z.object({ method: z.string(), args: z.record(z.string(), z.unknown()) });
export type CinderCall = z.infer<typeof CinderCallSchema>;

const CreatedVolumeSchema = z.object({
  id: z.string(),
  size: z.number(),
  snapshotId: z.nullable(z.string()),
  sourceVolumeId: z.nullable(z.string()),
  imageId: z.nullable(z.string()),
  name: z.nullable(z.string()),
});
/** A volume nova-compute had Cinder create (from a snapshot, an image, or blank). */
export type CreatedVolume = z.infer<typeof CreatedVolumeSchema>;

const NovaErrorSchema = z.object({ type: z.string(), message: z.string() });

const BuiltSchema = z.object({
  outcome: z.literal("built"),
  /** What the instance records: image_ref is the image the request named (a placeholder too). */
  instance: z.object({ imageRef: z.string(), rootDeviceName: z.nullable(z.string()) }),
  /** The BDMs nova-api stored (after the merge with the image's own, before nova-compute). */
  requestedBdms: z.array(BdmSchema),
  /** The BDMs after nova-compute named the devices and created the volumes. */
  bdms: z.array(BdmSchema),
  createdVolumes: z.array(CreatedVolumeSchema),
  cinderCalls: z.array(CinderCallSchema),
  domain: NovaDomainSchema,
  disks: z.array(NovaDomainDiskSchema),
});
export type NovaServerBuilt = z.infer<typeof BuiltSchema>;

const RefusedSchema = z.object({
  outcome: z.literal("refused"),
  /** Where Nova said no: the API (400), nova-compute (the build fails), the snapshot. */
  stage: z.enum(["api", "compute", "driver", "attach", "snapshot"]),
  error: NovaErrorSchema,
  cinderCalls: z.array(CinderCallSchema),
});
export type NovaServerRefusal = z.infer<typeof RefusedSchema>;

const ServerAnswerSchema = z.discriminatedUnion("outcome", [BuiltSchema, RefusedSchema]);
export type NovaServerAnswer = z.infer<typeof ServerAnswerSchema>;

const SnapshotAnswerSchema = z.discriminatedUnion("outcome", [
  z.object({
    outcome: z.literal("snapshotted"),
    server: BuiltSchema,
    /** The placeholder image exactly as Glance stores it (Nova's own translation). */
    image: z.pipe(
      z.record(z.string(), z.unknown()),
      z.transform((image) => image as GlanceImage),
    ),
    snapshots: z.record(
      z.string(),
      z.object({ id: z.string(), volume_id: z.string(), size: z.number(), status: z.string(), name: z.optional(z.string()) }),
    ),
    volumes: z.record(
      z.string(),
      z.pipe(
        z.record(z.string(), z.unknown()),
        z.transform((v) => v as unknown as CinderVolume),
      ),
    ),
    cinderCalls: z.array(CinderCallSchema),
  }),
  RefusedSchema,
]);
export type NovaSnapshotAnswer = z.infer<typeof SnapshotAnswerSchema>;

/** What real Nova builds for one server create, or where and why it refused. */
export function novaServerCreate(request: NovaServerRequest, options: NovaWorkerOptions = {}): Promise<NovaServerAnswer> {
  return workerFor(novaWorkerSpec(options)).request("boot", request, ServerAnswerSchema);
}

/** A server created as `request` says, then snapshotted by Nova's API.snapshot_volume_backed. */
export function novaSnapshot(request: NovaServerRequest, options: NovaWorkerOptions = {}): Promise<NovaSnapshotAnswer> {
  return workerFor(novaWorkerSpec(options)).request("snapshot", request, SnapshotAnswerSchema);
}
