// The data of bootproof's Heat (heat.ts): what it is given (HeatCloud), what it finds and what it
// plans to ask Cinder and Nova (HeatPlan), and the Unresolved value a stack may hold. No logic.
import type { NovaLegacyBdm } from "../../harness/openstack/nova-server.js";

/** What Heat's custom constraints look up (glance.image, cinder.vtype). */
export interface HeatCloud {
  images: readonly string[];
  volumeTypes: readonly string[];
}

export type HeatCheck = "property" | "parameter" | "reference";

export interface HeatFinding {
  check: HeatCheck;
  /** The template Heat reads it in: "main" or a key of stack.files (file://worker.yaml). */
  template: string;
  /** The resource (or `outputs.<name>`) and the path in it. */
  resource: string;
  path: Array<string | number>;
  /** What Heat says, in Heat's words. */
  heat: string;
  /** What bootproof can add in the node group's terms (e.g. the cycle the parameter would close). */
  note?: string;
  /** The stacks Heat meets it in, as Heat names nested stacks in its errors ("" is the main stack). */
  stacks: string[];
  /** Sahara's own text of the offending part of the template. */
  snippet: string;
}

/** A value Heat knows only once a resource exists (an attribute), or a function not modelled here. */
export class Unresolved {
  constructor(readonly what: string) {}
  toJSON(): string {
    return `<unresolved: ${this.what}>`;
  }
}

/** Cinder's volume create, as Heat's OS::Cinder::Volume sends it. */
export interface CinderVolumeCreate {
  /** The resource, as Heat names it: the stack path and the resource name. */
  resource: string;
  id: string;
  size: number | null;
  imageRef: string | null;
  volumeType: string | null;
  availabilityZone: string | null;
  name: string;
  schedulerHints: Record<string, unknown> | null;
}

/** POST /servers as novaclient writes it for Heat's OS::Nova::Server (the fields Nova boots from). */
export interface NovaServerCreateBody {
  name: string;
  imageRef: string;
  flavorRef: string;
  availability_zone: string | null;
  block_device_mapping?: NovaLegacyBdm[];
  /** networks: [{port}] from the server's `networks` property. */
  networks: Array<{ port: string }>;
}

export interface HeatAttachment {
  resource: string;
  volumeId: string;
  mountpoint: string | null;
}

export interface HeatServerPlan {
  resource: string;
  id: string;
  /** The server's index in its ResourceGroup (0 for the first instance of the node group). */
  index: number;
  /** Volumes Heat creates before the server: the ones it depends on (its block device mapping). */
  volumesBefore: string[];
  create: NovaServerCreateBody;
  /**
   * Attachments of volumes to this server, after it is ACTIVE. Heat creates the members of a
   * ResourceGroup concurrently: this is one possible order (by index), Heat promises none.
   */
  attachments: HeatAttachment[];
}

export interface HeatPlan {
  /** Heat's validation findings; empty when Heat accepts the stack. */
  findings: HeatFinding[];
  servers: HeatServerPlan[];
  /** Every OS::Cinder::Volume Heat would create, by id. */
  volumes: Record<string, CinderVolumeCreate>;
  /** Every OS::Neutron::Port, by id, with the MAC Neutron would give it (bootproof's stand-in). */
  ports: Record<string, { resource: string; mac: string }>;
}
