// What Heat would do with the stack Sahara creates, as bootproof's own pure code: read the
// main template and its nested templates (stack.files), expand every OS::Heat::ResourceGroup
// into its member stacks, resolve get_param / get_resource / get_attr / list_join /
// str_replace, and give
//   (a) Heat's own validation findings, in Heat's words: property constraints (an
//       OS::Cinder::Volume's size is an Integer with Range(min=1); required properties; a
//       server's block device mapping), every get_param declared (UserParameterMissing), a
//       nested template's parameters given exactly (TemplateResource), every get_resource /
//       get_attr / depends_on naming a resource of its template, no dependency cycle;
//   (b) what Heat would then ask Cinder and Nova, in order: the volumes a server depends on
//       (Cinder's create arguments as CinderVolume._create_arguments builds them), the server
//       create (novaclient's POST /servers body for Server.handle_create: legacy
//       block_device_mapping as Server._build_block_device_mapping and novaclient's
//       _parse_block_device_mapping write it, or imageRef), and the volume attachments
//       (OS::Cinder::VolumeAttachment: POST os-volume_attachments with no device).
// Physical ids are uuids derived from the stack path, so the same stack always gets the same
// ids. Heat code is not run (python3-heat is not installed); the rules follow Heat Zed
// (heat/engine/resources/openstack/{cinder/volume.py,nova/server.py,heat/resource_group.py},
// hot/functions.py, constraints.py), cited where they apply.
// The parts live beside it: the data types in heat-types.ts, the small pure helpers in
// heat-values.ts, the evaluation in heat-evaluation.ts (on heat-validation.ts's findings and
// property checks); this file turns an evaluation into the plan and re-exports the module's API.
import type { NovaLegacyBdm } from "../../harness/openstack/nova-server.js";
import type { SaharaStackTemplate } from "../../harness/openstack/sahara.js";
import { HeatEvaluation } from "./heat-evaluation.js";
import type { CinderVolumeCreate, HeatCloud, HeatFinding, HeatPlan, HeatServerPlan } from "./heat-types.js";
import type { EvaluatedResource } from "./heat-validation.js";
import { heatBoolean, heatInteger, isObject, neutronMac } from "./heat-values.js";

export type {
  CinderVolumeCreate,
  HeatAttachment,
  HeatCheck,
  HeatCloud,
  HeatFinding,
  HeatPlan,
  HeatServerPlan,
  NovaServerCreateBody,
} from "./heat-types.js";
export { Unresolved } from "./heat-types.js";
export { derivedUuid, formatPath, hasUnresolved, heatBoolean, heatInteger, neutronMac } from "./heat-values.js";

const text = (value: unknown): string | null => (typeof value === "string" ? value : null);

/**
 * Server._build_block_device_mapping ({device_name: "<id>:<type>:<size>:<delete>"}) then
 * novaclient's _parse_block_device_mapping: the legacy list Nova's API receives.
 */
export function novaclientLegacyBdm(mappings: unknown[]): NovaLegacyBdm[] {
  const byDevice = new Map<string, string>();
  for (const mapping of mappings) {
    if (!isObject(mapping)) continue;
    const parts: string[] = [];
    if (mapping.snapshot_id) parts.push(String(mapping.snapshot_id), "snap");
    else parts.push(String(mapping.volume_id ?? "None"), "");
    parts.push(mapping.volume_size ? String(mapping.volume_size) : "");
    if (heatBoolean(mapping.delete_on_termination ?? false)) parts.push("True");
    byDevice.set(String(mapping.device_name), parts.join(":"));
  }
  return [...byDevice].map(([device_name, mapping]) => {
    const parts = mapping.split(":");
    const bdm: NovaLegacyBdm = { device_name };
    if (parts.length === 1 || !parts[1]!.startsWith("snap")) bdm.volume_id = parts[0]!;
    else bdm.snapshot_id = parts[0]!;
    if (parts.length > 2 && parts[2]) bdm.volume_size = String(Number.parseInt(parts[2], 10));
    if (parts.length > 3) bdm.delete_on_termination = parts[3]!;
    return bdm;
  });
}

/** Cinder's create arguments for an OS::Cinder::Volume (CinderVolume._create_arguments). */
function volumeCreate(evaluation: HeatEvaluation, resource: EvaluatedResource): CinderVolumeCreate {
  const p = resource.properties;
  const hints = isObject(p.scheduler_hints) ? p.scheduler_hints : null;
  const label = `${resource.stack.path ? `${resource.stack.path}.` : ""}resources.${resource.name}`;
  return {
    resource: label,
    id: resource.id,
    size: heatInteger(p.size),
    imageRef: text(p.image) ?? text(p.imageRef),
    volumeType: text(p.volume_type),
    availabilityZone: text(p.availability_zone) || null,
    name: text(p.name) ?? evaluation.physicalName(resource.stack, resource.name),
    schedulerHints: hints,
  };
}

/** Everything Heat would do with Sahara's stack: its findings, then its calls. Pure. */
export function heatPlan(stack: SaharaStackTemplate, cloud: HeatCloud): HeatPlan {
  const evaluation = new HeatEvaluation(stack, cloud);
  evaluation.run();
  const volumes: Record<string, CinderVolumeCreate> = {};
  const ports: HeatPlan["ports"] = {};
  for (const resource of evaluation.resources) {
    if (resource.type === "OS::Cinder::Volume") volumes[resource.id] = volumeCreate(evaluation, resource);
    if (resource.type === "OS::Neutron::Port")
      ports[resource.id] = {
        resource: `${resource.stack.path ? `${resource.stack.path}.` : ""}resources.${resource.name}`,
        mac: neutronMac(resource.id),
      };
  }
  const attachments = evaluation.resources
    .filter((r) => r.type === "OS::Cinder::VolumeAttachment")
    .map((r) => ({
      instance: text(r.properties.instance_uuid),
      attachment: {
        resource: `${r.stack.path ? `${r.stack.path}.` : ""}resources.${r.name}`,
        volumeId: text(r.properties.volume_id) ?? "",
        mountpoint: text(r.properties.mountpoint),
      },
    }));
  const servers = evaluation.resources
    .filter((r) => r.type === "OS::Nova::Server")
    .map((server): HeatServerPlan => {
      const p = server.properties;
      const bdm = Array.isArray(p.block_device_mapping) ? novaclientLegacyBdm(p.block_device_mapping) : [];
      const networks = (Array.isArray(p.networks) ? p.networks : [])
        .map((n) => (isObject(n) ? text(n.port) : null))
        .filter((port): port is string => port !== null)
        .map((port) => ({ port }));
      return {
        resource: `${server.stack.path ? `${server.stack.path}.` : ""}resources.${server.name}`,
        id: server.id,
        index: server.stack.index,
        volumesBefore: bdm.map((b) => b.volume_id).filter((id): id is string => id !== undefined && id in volumes),
        create: {
          name: text(p.name) ?? evaluation.physicalName(server.stack, server.name),
          imageRef: text(p.image) ?? "",
          flavorRef: text(p.flavor) ?? String(p.flavor ?? ""),
          availability_zone: text(p.availability_zone),
          ...(bdm.length > 0 ? { block_device_mapping: bdm } : {}),
          networks,
        },
        attachments: attachments.filter((a) => a.instance === server.id).map((a) => a.attachment),
      };
    });
  return { findings: [...evaluation.findings.values()], servers, volumes, ports };
}

/**
 * A finding as a report line: Heat's words, where, what bootproof adds, and Sahara's text.
 * Names that vary with the node group (templates, resources) are quoted, so that one defect
 * is one kind of failure whatever the node group is called (failureKindKey folds quotes).
 */
export function describeFinding(finding: HeatFinding): string {
  const nested = finding.stacks.filter((s) => s !== "").length;
  const where = nested === 0 ? "the main stack" : `nested stacks: ${nested}`;
  const snippet = finding.snippet
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
  return `Heat refuses the stack: ${finding.heat} [in '${finding.template}', ${where}]${finding.note ? `\n  ${finding.note}` : ""}\n  Sahara wrote ('${finding.template}'):\n${snippet}`;
}
