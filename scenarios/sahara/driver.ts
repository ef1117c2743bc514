// Real Sahara in the loop: a node group → the Heat stack real Sahara writes (the Sahara
// worker) → what Heat would do with it (heat.ts: its validation, then the volume creates,
// the server create and the volume attachments) → bootproof's stand-in Cinder creates the
// volumes (cinder.ts) → real Nova's server create with those volumes (the Nova worker: its API,
// compute and libvirt driver code) → libvirt defines the domain → the guest boots it. A stack
// Heat would refuse never reaches Nova: the static properties report Heat's refusal.
import { embeddedLibvirt } from "../../harness/libvirt/embedded.js";
import { refusedDomainTopology } from "../../harness/libvirt/topology.js";
import type { NovaDomainDisk, NovaWorkerOptions } from "../../harness/openstack/nova.js";
import {
  type CinderVolume,
  type NovaServerAnswer,
  type NovaServerRequest,
  novaServerCreate,
} from "../../harness/openstack/nova-server.js";
import { type SaharaStackTemplate, type SaharaTemplateAnswer, saharaTemplate } from "../../harness/openstack/sahara.js";
import type { BootPlan } from "../../harness/scenario.js";
import { type DiskBacking, gibToMiB, novaServerBoot } from "../common/nova-server-boot.js";
import { AVAILABILITY_ZONES, CINDER_VOLUME_TYPES, glanceImageOf, IMAGE_ROLE, type SaharaBfvCase, volumeRole } from "./case.js";
import { type CinderAnswer, type CinderCloud, cinderCreate } from "./cinder.js";
import { describeFinding, type HeatCloud, type HeatPlan, type HeatServerPlan, heatPlan } from "./heat.js";

export const BOOT_NAME = "instance";
/** A data volume's medium: blank, grown to the volume's size by its overlay. */
const BLANK_BASE_MIB = 1;

/** Everything the chain decided for one node group: what the properties judge. */
export interface SaharaBfvRecord {
  sahara: SaharaTemplateAnswer;
  heat: HeatPlan | null;
  /** The server that boots: the node group's first instance (ResourceGroup index 0). */
  server: HeatServerPlan | null;
  /** Cinder's answer to each volume Heat creates for that server, by volume id. */
  cinder: Record<string, CinderAnswer>;
  request: NovaServerRequest | null;
  nova: NovaServerAnswer | null;
}

const records = new WeakMap<SaharaBfvCase, SaharaBfvRecord>();

export function recordOf(input: SaharaBfvCase): SaharaBfvRecord {
  const record = records.get(input);
  if (!record) throw new Error("no Sahara record for this input: boots() must run before the properties");
  return record;
}

/** Only for tests: the record a property would read, without running the chain. */
export function setRecordForTest(input: SaharaBfvCase, record: SaharaBfvRecord): void {
  records.set(input, record);
}

export function heatCloudOf(input: SaharaBfvCase): HeatCloud {
  return { images: [input.nodeGroup.imageId], volumeTypes: CINDER_VOLUME_TYPES };
}

export function cinderCloudOf(input: SaharaBfvCase): CinderCloud {
  return {
    images: { [input.nodeGroup.imageId]: glanceImageOf(input) },
    volumeTypes: CINDER_VOLUME_TYPES,
    availabilityZones: AVAILABILITY_ZONES,
    defaultAvailabilityZone: AVAILABILITY_ZONES[0],
  };
}

/** The volumes of one server: the ones it boots from first, then the ones attached to it. */
export function volumeIdsOf(server: HeatServerPlan): string[] {
  return [...server.volumesBefore, ...server.attachments.map((a) => a.volumeId)];
}

/** What Nova is asked: Heat's server create, the image in Glance, the volumes Cinder created. */
export function novaRequestOf(
  input: SaharaBfvCase,
  plan: HeatPlan,
  server: HeatServerPlan,
  volumes: Record<string, CinderVolume>,
): NovaServerRequest {
  const image = glanceImageOf(input);
  const body = server.create;
  const { flavor } = input.nodeGroup;
  return {
    instance: {
      uuid: server.id,
      machineType: input.image.machineType,
      firmware: input.image.firmware,
      nics: body.networks.flatMap((n) => (plan.ports[n.port] ? [{ mac: plan.ports[n.port]!.mac }] : [])),
    },
    flavor: { rootGb: flavor.diskGb, ephemeralGb: flavor.ephemeralGb, memoryMb: flavor.ramMb },
    server: {
      imageRef: body.imageRef,
      // An image-backed server is imageRef alone, as Heat sends it: nova-api's legacy
      // conversion adds the image's root mapping itself.
      ...(body.block_device_mapping ? { blockDeviceMapping: body.block_device_mapping } : {}),
      ...(server.attachments.length > 0 ? { attachVolumes: server.attachments.map((a) => a.volumeId) } : {}),
    },
    images: { [image.id]: image },
    volumes,
  };
}

/**
 * The medium behind each disk Nova wrote: a volume created from the image holds the image's
 * boot medium (built for the image's firmware, whatever the domain's) with the volume's role
 * marker, at the volume's size; the image-backed local disk the image's medium with the
 * image's marker, grown to the flavor's root disk; data volumes and ephemerals are blank.
 */
export function backingFor(input: SaharaBfvCase, volumes: Record<string, CinderVolume>) {
  const bootMedium = input.image.firmware === "ovmf" ? "uefi-disk" : "bios-disk";
  const { flavor } = input.nodeGroup;
  const blank = (gib: number): DiskBacking => ({ media: { kind: "blank", sizeMiB: BLANK_BASE_MIB }, sizeMiB: gibToMiB(gib) });
  return (disk: NovaDomainDisk): DiskBacking => {
    switch (disk.role) {
      case "volume": {
        const volume = disk.volumeId ? volumes[disk.volumeId] : undefined;
        if (!volume)
          throw new Error(`Nova mounted volume ${disk.volumeId ?? "(none)"} on ${disk.dev}, which Cinder never created`);
        return volume.volume_image_metadata
          ? { media: { kind: bootMedium, role: volumeRole(disk.volumeId!) }, sizeMiB: gibToMiB(volume.size) }
          : blank(volume.size);
      }
      case "root-image":
        return {
          media: { kind: bootMedium, role: IMAGE_ROLE },
          ...(flavor.diskGb > 0 ? { sizeMiB: gibToMiB(flavor.diskGb) } : {}),
        };
      case "ephemeral":
        return blank(Math.max(flavor.ephemeralGb, 1));
      default:
        return { media: { kind: "blank", sizeMiB: BLANK_BASE_MIB } };
    }
  };
}

/** Sahara's texts as artifacts: the main template and each nested one, as Sahara sent them. */
export function saharaArtifacts(stack: SaharaStackTemplate): Record<string, string> {
  const artifacts: Record<string, string> = { "sahara-main.yaml": stack.mainTemplateText };
  for (const [name, file] of Object.entries(stack.files))
    artifacts[`sahara-${name.replace(/^file:\/\//, "").replace(/[^A-Za-z0-9._-]/g, "_")}`] = file.text;
  artifacts["sahara-stack.json"] =
    `${JSON.stringify({ stack: stack.stack, ids: stack.ids, flavorLookups: stack.flavorLookups }, null, 2)}\n`;
  return artifacts;
}

function refusedBoot(type: string, message: string, artifacts: Record<string, string>): BootPlan {
  return { name: BOOT_NAME, topology: refusedDomainTopology({ by: "driver", type, message }), artifacts: () => artifacts };
}

/** Where the chain stopped before Nova, and why (Sahara raised, Heat or Cinder would refuse). */
export interface ChainRefusal {
  type: string;
  message: string;
}

/**
 * The pure part of the chain, between Sahara's answer and Nova: what Heat would do, what
 * Cinder creates, and the request Nova gets, or where it stops. `nova` is left for the caller.
 */
export function decideBeforeNova(
  input: SaharaBfvCase,
  sahara: SaharaTemplateAnswer,
): { record: SaharaBfvRecord; volumes: Record<string, CinderVolume>; refusal?: ChainRefusal } {
  const record: SaharaBfvRecord = { sahara, heat: null, server: null, cinder: {}, request: null, nova: null };
  const volumes: Record<string, CinderVolume> = {};
  if (sahara.outcome === "refused") {
    const { error } = sahara;
    return {
      record,
      volumes,
      refusal: { type: error.type, message: `Sahara raised ${error.type}: ${error.message} (${error.where})` },
    };
  }
  const plan = heatPlan(sahara, heatCloudOf(input));
  record.heat = plan;
  if (plan.findings.length > 0)
    return {
      record,
      volumes,
      refusal: { type: "heat.StackValidationFailed", message: plan.findings.map(describeFinding).join("\n") },
    };
  const server = plan.servers.find((s) => s.index === 0) ?? null;
  record.server = server;
  if (!server) return { record, volumes, refusal: { type: "heat.NoServer", message: "Heat would create no server" } };
  for (const id of volumeIdsOf(server)) {
    const create = plan.volumes[id];
    if (!create) continue;
    const answer = cinderCreate(create, cinderCloudOf(input));
    record.cinder[id] = answer;
    if (answer.outcome === "created") volumes[id] = answer.volume;
  }
  const refusals = Object.entries(record.cinder).flatMap(([id, a]) =>
    a.outcome === "refused" ? [`Cinder refused ${plan.volumes[id]?.resource}: ${a.error}`] : [],
  );
  if (refusals.length > 0)
    return { record, volumes, refusal: { type: "cinder.VolumeCreateFailed", message: refusals.join("\n") } };
  record.request = novaRequestOf(input, plan, server, volumes);
  return { record, volumes };
}

/** The boot of a node group's first instance as real Sahara and real Nova decide it. */
export async function saharaBfvBoots(input: SaharaBfvCase, options: NovaWorkerOptions = {}): Promise<BootPlan[]> {
  // The libvirt worker starts while Sahara and Nova answer (a failure surfaces at the define).
  const libvirtReady = embeddedLibvirt()
    .versions()
    .catch(() => undefined);
  const { record, volumes, refusal } = decideBeforeNova(input, await saharaTemplate(input.nodeGroup));
  records.set(input, record);
  const artifacts = record.sahara.outcome === "template" ? saharaArtifacts(record.sahara) : {};
  if (record.heat) artifacts["heat-plan.json"] = `${JSON.stringify(record.heat, null, 2)}\n`;
  if (refusal) return [refusedBoot(refusal.type, refusal.message, artifacts)];
  artifacts["nova-request.json"] = `${JSON.stringify(record.request, null, 2)}\n`;
  record.nova = await novaServerCreate(record.request!, options);
  await libvirtReady;
  return [await novaServerBoot(BOOT_NAME, record.nova, backingFor(input, volumes), artifacts)];
}
