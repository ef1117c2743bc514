// Real Ironic as a function: a node with its port, volume connectors and volume targets in,
// what Ironic's conductor code did with them out (validation, each deploy stage, the Cinder
// calls, the files it wrote for the node's boot), or the exact error it raised and where. The
// Python side is harness/openstack/python/ironic_worker.py, one long-lived worker per run.
import * as z from "zod/mini";
import "../../emulator/zod-english.js";
import { InfraError } from "../errors.js";
import { workerPythonDir, workerPythonFile } from "./python-dir.js";
import { type WorkerSpec, workerFor } from "./worker.js";

/**
 * Ironic's volume target properties, as its API and Cinder's connection info name them (an FC
 * volume's `initiator_target_map` is host WWPN → target WWPNs).
 */
export type IronicTargetProperties = Record<string, string | number | boolean | string[] | number[] | Record<string, string[]>>;

/** An instance_info value the worker replaces with a `file://` image that exists. */
export const IRONIC_INSTANCE_IMAGE = "bootproof:instance-image";

/** What the worker is asked: Ironic's records for one node. */
export interface IronicRequest {
  node: {
    uuid: string;
    boot_mode: "bios" | "uefi";
    /** node.properties.capabilities, e.g. {iscsi_boot: "true"}. */
    capabilities: Record<string, string>;
    storage_interface: "cinder" | "external" | "noop";
    boot_interface: "ipxe";
    deploy_interface: "direct" | "ramdisk";
    /**
     * Unset: fake (boot device pxe only). noop is manual-management's default and also takes
     * disk, the boot device of an HBA boot.
     */
    management_interface?: "fake" | "noop";
    /**
     * IRONIC_INSTANCE_IMAGE as a value stands for an image file the worker provides;
     * `root_device` (hints) is an object.
     */
    instance_info: Record<string, string | RootDeviceHints>;
    /** node.properties.root_device: the operator's root device hints. */
    root_device?: RootDeviceHints;
  };
  /** The node's one port: its MAC names the node's iPXE config link. */
  mac: string;
  /** Volume connectors: an iSCSI initiator (iqn) or Fibre Channel HBA ports (wwpn, wwnn). */
  connectors: Array<{ type: "iqn" | "wwpn" | "wwnn"; connector_id: string }>;
  targets: Array<{
    volume_id: string;
    boot_index: number;
    /** Also Cinder's driver_volume_type in its initialize_connection answer. */
    volume_type: "iscsi" | "fibre_channel";
    /** The target's properties as registered through the API. */
    properties: IronicTargetProperties;
    /** What Cinder's initialize_connection answers for the volume (cinder storage only). */
    cinder_connection?: IronicTargetProperties;
  }>;
}

const IronicErrorSchema = z.object({
  /** The exception's qualified name, e.g. "ironic.common.exception.InvalidParameterValue". */
  type: z.string(),
  message: z.string(),
  /** Ironic's own frame that raised it: `drivers/modules/...py:LINE in FUNCTION`. */
  where: z.optional(z.string()),
});
export type IronicError = z.infer<typeof IronicErrorSchema>;

const StageSchema = z.object({ stage: z.string(), ok: z.boolean(), error: z.optional(IronicErrorSchema) });

const FileSchema = z.union([
  z.object({ path: z.string(), content: z.string() }),
  z.object({ path: z.string(), link: z.string() }),
]);
export type IronicFile = z.infer<typeof FileSchema>;

const CinderCallSchema = z.looseObject({ method: z.string(), volume_id: z.string() });
export type CinderCall = z.infer<typeof CinderCallSchema>;

const orError = <T extends z.ZodMiniType>(schema: T) => z.union([schema, z.object({ error: IronicErrorSchema })]);

const IronicDecisionSchema = z.object({
  /** Each stage Ironic ran, in order, with its exception when it raised. */
  stages: z.array(StageSchema),
  /** Where Ironic stopped the deploy and with what: absent when every stage passed. */
  refusal: z.optional(z.object({ stage: z.string(), error: IronicErrorSchema })),
  /** ConductorManager.validate_driver_interfaces: what `baremetal node validate` shows. */
  validation: z.optional(
    z.record(z.string(), z.object({ result: z.nullable(z.boolean()), reason: z.optional(z.nullable(z.string())) })),
  ),
  should_write_image: z.optional(orError(z.boolean())),
  boot_option: z.optional(orError(z.string())),
  /** The root device hints as Ironic parsed them (get_root_device_for_deploy); null: none. */
  root_device_hints: z.optional(orError(z.nullable(z.record(z.string(), z.unknown())))),
  driver_internal_info: z.optional(z.record(z.string(), z.unknown())),
  /** The volume targets after attach_volumes (Cinder's connection data written onto them). */
  attached_properties: z.optional(
    z.array(z.object({ volume_id: z.string(), boot_index: z.number(), properties: z.record(z.string(), z.unknown()) })),
  ),
  deploy_steps: z.optional(z.array(z.string())),
  /** The deploy step after which the conductor waits for the deploy agent (an image write). */
  deploy_wait: z.optional(z.string()),
  /** Everything under Ironic's http_root after the deploy: files and the links it made. */
  files: z.optional(z.array(FileSchema)),
  /** The DHCP options Ironic hands the node's port (option 67 is the bootfile URL). */
  dhcp_options: z.optional(
    orError(z.array(z.object({ opt_name: z.string(), opt_value: z.string(), ip_version: z.optional(z.number()) }))),
  ),
  power_state: z.optional(z.nullable(z.string())),
  /** Every call Ironic made on its Cinder client, in order (power actions marked "-- ... --"). */
  cinder_calls: z.array(CinderCallSchema),
  /** Every boot device the conductor set on the node (node_set_boot_device), in order. */
  boot_devices: z.array(z.object({ device: z.string(), persistent: z.boolean() })),
});
/** What real Ironic did with a node. */
export type IronicDecision = z.infer<typeof IronicDecisionSchema>;

const IronicVersionsSchema = z.object({ ironic: z.string(), ironic_path: z.string(), python: z.string() });
export type IronicVersions = z.infer<typeof IronicVersionsSchema>;

export function ironicWorkerSpec(): WorkerSpec {
  return { project: "ironic", script: workerPythonFile("ironic_worker.py"), pythonPath: [workerPythonDir()] };
}

/**
 * What real Ironic does with the node. Ironic's own errors are part of the answer; a worker
 * failure rejects with a WorkerError (an infra-error).
 */
export function ironicDecide(request: IronicRequest): Promise<IronicDecision> {
  return workerFor(ironicWorkerSpec()).request("decide", request, IronicDecisionSchema);
}

/** Root device hints as an operator writes them (ironic-lib's syntax: "s== X", "<= 10", plain values). */
export type RootDeviceHints = Record<string, string | number | boolean>;

/** A disk as ironic-python-agent describes it to ironic-lib's matcher. */
export interface AgentBlockDevice {
  name: string;
  size: number;
  model: string | null;
  vendor: string | null;
  serial: string | null;
  wwn: string | null;
  wwn_with_extension: string | null;
  wwn_vendor_extension: string | null;
  hctl: string | null;
  by_path: string | null;
}

const AgentRootDeviceSchema = z.object({
  rule: z.enum(["hints", "smallest-disk-of-at-least-4-GiB"]),
  hints: z.optional(z.record(z.string(), z.unknown())),
  /** The chosen disk's name; null: none matches (the agent fails the deploy). */
  device: z.nullable(z.string()),
  error: z.optional(IronicErrorSchema),
});
export type AgentRootDevice = z.infer<typeof AgentRootDeviceSchema>;

/**
 * The disk Ironic's deploy agent would write the image to, given the disks its ramdisk saw
 * and the node's hints (ironic-lib's matcher, in the Ironic worker).
 */
export function agentRootDevice(request: {
  devices: AgentBlockDevice[];
  instance_info_root_device?: RootDeviceHints;
  properties_root_device?: RootDeviceHints;
}): Promise<AgentRootDevice> {
  return workerFor(ironicWorkerSpec()).request("agent_root_device", request, AgentRootDeviceSchema);
}

export async function ironicVersions(): Promise<IronicVersions> {
  const worker = workerFor(ironicWorkerSpec());
  await worker.start();
  const parsed = IronicVersionsSchema.safeParse(worker.versions);
  if (!parsed.success)
    throw new InfraError(
      `the ironic worker reported versions that do not match the protocol: ${JSON.stringify(worker.versions)}`,
    );
  return parsed.data;
}

/** The DHCP bootfile (option 67) Ironic hands out, or undefined. */
export function dhcpBootfile(decision: IronicDecision): string | undefined {
  const options = decision.dhcp_options;
  if (!options || !Array.isArray(options)) return undefined;
  return options.find((o) => o.opt_name === "67")?.opt_value;
}
