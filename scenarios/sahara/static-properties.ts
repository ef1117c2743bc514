// The boot-free properties of sahara-bfv, on what the chain decided for a node group before
// any guest starts: Sahara wrote a stack; Heat would accept it (its property constraints,
// every parameter declared, every reference resolved, no cycle: together "the template is one
// Heat would accept", one property per kind of Heat check so that each defect is its own
// kind); what Heat would ask Cinder and Nova is what the spec promises; and Cinder and Nova
// build it, with the root where the spec wants it. They run over hundreds of generated node
// groups in the sweep, and again on every booted case.
import type { DomainTopology, StaticProperty } from "../../harness/scenario.js";
import { fail, pass } from "../common/outcomes.js";
import type { SaharaBfvCase } from "./case.js";
import { BOOT_NAME, recordOf, type SaharaBfvRecord, volumeIdsOf } from "./driver.js";
import { type CinderVolumeCreate, describeFinding, type HeatCheck, type HeatServerPlan } from "./heat.js";
import { type SpecNodeGroup, type SpecVolume, specNodeGroup } from "./spec-model.js";

type SaharaStatic = StaticProperty<SaharaBfvCase, DomainTopology>;

export const saharaWritesTemplate: SaharaStatic = {
  name: "S0-sahara-writes-stack",
  description: "real Sahara writes the node group's Heat stack (no exception)",
  check(input) {
    const { sahara } = recordOf(input);
    return sahara.outcome === "template"
      ? pass()
      : fail(`Sahara raised ${sahara.error.type}: ${sahara.error.message} (${sahara.error.where})`);
  },
};

function heatCheck(name: string, check: HeatCheck, description: string): SaharaStatic {
  return {
    name,
    description,
    check(input) {
      const findings = (recordOf(input).heat?.findings ?? []).filter((f) => f.check === check);
      return findings.length === 0 ? pass() : fail(findings.map(describeFinding).join("\n"));
    },
  };
}

export const heatPropertyConstraints = heatCheck(
  "S1-heat-property-constraints",
  "property",
  "Heat accepts every resource's properties: an OS::Cinder::Volume's size is an integer of at least 1 GiB (Integer, Range(min=1)), required properties are set, a server's block_device_mapping names a volume or a snapshot and a bootable device, images and volume types exist",
);

export const heatParametersDeclared = heatCheck(
  "S2-heat-parameters-declared",
  "parameter",
  "every get_param names a parameter its template declares, and every nested template gets exactly its parameters (no unknown property, none without a default left out)",
);

export const heatReferencesResolve = heatCheck(
  "S3-heat-references-resolve",
  "reference",
  "every get_resource, get_attr and depends_on names a resource of its own template, every nested template is in the stack's files, and no stack's dependencies form a cycle",
);

/** The volume Heat creates from the image for the server's root: mapped by its block device mapping. */
export function bootVolumeOf(record: SaharaBfvRecord): CinderVolumeCreate | undefined {
  if (!record.heat || !record.server) return undefined;
  for (const id of record.server.volumesBefore) {
    const volume = record.heat.volumes[id];
    if (volume?.imageRef) return volume;
  }
  return undefined;
}

/** The volumes Heat attaches to the server after it is built (the data volumes). */
export function dataVolumesOf(record: SaharaBfvRecord): CinderVolumeCreate[] {
  if (!record.heat || !record.server) return [];
  return record.server.attachments.flatMap((a) => (record.heat!.volumes[a.volumeId] ? [record.heat!.volumes[a.volumeId]!] : []));
}

function volumeMismatch(what: string, volume: CinderVolumeCreate, want: SpecVolume, serverId: string): string | null {
  const hint = volume.schedulerHints?.local_to_instance;
  const checks: Array<[string, unknown, unknown]> = [
    ["size (GiB)", volume.size, want.sizeGb],
    ["volume_type", volume.volumeType, want.volumeType],
    ["availability_zone", volume.availabilityZone, want.availabilityZone],
    ["scheduler hint local_to_instance", hint ?? null, want.localToInstance ? serverId : null],
  ];
  for (const [field, seen, expected] of checks)
    if (seen !== expected)
      return `${what} ${volume.resource}: Heat asks Cinder for ${field} ${JSON.stringify(seen)}, the node group asks for ${JSON.stringify(expected)}`;
  return null;
}

/** What the spec wants of one server's create and volumes, against what Heat would send. */
export function serverMismatch(spec: SpecNodeGroup, record: SaharaBfvRecord, server: HeatServerPlan): string | null {
  const { create } = server;
  const boot = bootVolumeOf({ ...record, server });
  if (spec.bootVolume) {
    if (create.imageRef !== "")
      return `boot_from_volume: Heat would send the server create with imageRef '${create.imageRef}'; the spec removes the image from the instance`;
    const mapping = create.block_device_mapping ?? [];
    const root = mapping.find((m) => m.device_name === spec.bootVolume!.deviceName);
    if (!boot || !root || root.volume_id !== boot.id)
      return `boot_from_volume: the server's block_device_mapping (${JSON.stringify(mapping)}) maps no volume created from image ${spec.bootVolume.imageId} on ${spec.bootVolume.deviceName}`;
    if (root.delete_on_termination !== "True")
      return `boot_from_volume: the boot volume's mapping has delete_on_termination ${JSON.stringify(root.delete_on_termination ?? null)}, the spec says "true"`;
    if (boot.imageRef !== spec.bootVolume.imageId)
      return `the boot volume is created from image ${boot.imageRef}, the node group's image is ${spec.bootVolume.imageId}`;
    const problem = volumeMismatch("the boot volume", boot, spec.bootVolume, server.id);
    if (problem) return problem;
  } else {
    if (create.imageRef !== spec.serverImage)
      return `image-backed: Heat would create the server with imageRef '${create.imageRef}', the node group's image is ${spec.serverImage}`;
    if (create.block_device_mapping?.length || boot)
      return `image-backed: Heat would also create a volume from the image and map it (${JSON.stringify(create.block_device_mapping)})`;
  }
  const data = dataVolumesOf({ ...record, server });
  if (data.length !== spec.dataVolumes.length)
    return `Heat would attach ${data.length} data volume${data.length === 1 ? "" : "s"} to the instance; volumes_per_node ${spec.dataVolumes.length} of ${spec.dataVolumes[0]?.sizeGb ?? 0} GiB asks for ${spec.dataVolumes.length}`;
  for (const [i, volume] of data.entries()) {
    if (volume.imageRef) return `data volume ${volume.resource} is created from image ${volume.imageRef}; data volumes are blank`;
    const problem = volumeMismatch("data volume", volume, spec.dataVolumes[i]!, server.id);
    if (problem) return problem;
  }
  return null;
}

export const heatRequestsMatchSpec: SaharaStatic = {
  name: "S4-heat-requests-match-spec",
  description:
    "what Heat would ask of Cinder and Nova is what the spec promises: count instances; with boot_from_volume a volume from the node group's image of the flavor's root disk size (boot_volume_type, _availability_zone, _local_to_instance) mapped as vda, deleted with the server, and no image on the server; without it the image on the server and no boot volume; volumes_per_node blank data volumes of volumes_size attached to the instance (volume_type, volumes_availability_zone, volume_local_to_instance)",
  check(input) {
    const record = recordOf(input);
    // A stack Sahara did not write, or Heat would refuse, is S0-S3's to report.
    if (!record.heat || record.heat.findings.length > 0) return pass();
    const spec = specNodeGroup(input.nodeGroup);
    if (record.heat.servers.length !== input.nodeGroup.count)
      return fail(`Heat would create ${record.heat.servers.length} servers; the node group has count ${input.nodeGroup.count}`);
    for (const server of record.heat.servers) {
      const problem = serverMismatch(spec, record, server);
      if (problem) return fail(`${server.resource}: ${problem}`);
    }
    return pass();
  },
};

/** Virtio (and SCSI, IDE) device names in the order the bus hands them out: vda < vdb < … < vdz < vdaa. */
export function deviceOrder(name: string): [number, string] {
  const suffix = name.replace(/^(vd|sd|hd|xvd)/, "");
  return [suffix.length, suffix];
}
export const follows = (name: string, root: string) => {
  const [a, b] = [deviceOrder(name), deviceOrder(root)];
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
};

export const cinderAndNovaBuildIt: SaharaStatic = {
  name: "S5-cinder-and-nova-build-it",
  description:
    "Cinder creates every volume Heat asks for, real Nova builds the server Heat asks for and libvirt defines Nova's domain; in it the root is vda, the boot volume with boot_from_volume (no image-backed local disk) or the image otherwise, and every data volume is a disk after the root",
  check(input, topologies) {
    const record = recordOf(input);
    for (const [id, answer] of Object.entries(record.cinder))
      if (answer.outcome === "refused")
        return fail(`Cinder refused ${record.heat?.volumes[id]?.resource ?? id}: ${answer.error}`);
    const nova = record.nova;
    if (!nova) return pass();
    if (nova.outcome === "refused")
      return fail(`Nova refused the server create Heat would send (${nova.stage}): ${nova.error.type}: ${nova.error.message}`);
    const refusal = topologies[BOOT_NAME]?.refusal;
    if (refusal?.by === "libvirt") return fail(`libvirt refused the domain Nova wrote: ${refusal.message}`);
    const spec = specNodeGroup(input.nodeGroup);
    const root = nova.disks.find((d) => d.root);
    if (!root) return fail("Nova's domain has no root disk");
    if (root.dev !== spec.rootDevice)
      return fail(`Nova put the root on ${root.dev} (${root.role}); the spec maps it as ${spec.rootDevice}`);
    const boot = bootVolumeOf(record);
    if (spec.bootFromVolume) {
      if (root.role !== "volume" || root.volumeId !== boot?.id)
        return fail(
          `the root ${root.dev} is ${root.role === "volume" ? `volume ${root.volumeId}` : `the ${root.role} disk`}, not the boot volume ${boot?.id ?? "(none)"}`,
        );
      const local = nova.disks.find((d) => d.role === "root-image");
      if (local) return fail(`Nova's domain also has an image-backed local disk ${local.dev} (${local.source})`);
    } else if (root.role !== "root-image") return fail(`the root ${root.dev} is a ${root.role}, not the image-backed disk`);
    for (const id of record.server ? volumeIdsOf(record.server).filter((v) => v !== boot?.id) : []) {
      const disk = nova.disks.find((d) => d.volumeId === id);
      if (!disk) return fail(`data volume ${id} is not in Nova's domain`);
      if (!follows(disk.dev, root.dev)) return fail(`data volume ${id} is ${disk.dev}, before the root ${root.dev}`);
    }
    return pass();
  },
};

export const saharaStaticProperties: SaharaStatic[] = [
  saharaWritesTemplate,
  heatPropertyConstraints,
  heatParametersDeclared,
  heatReferencesResolve,
  heatRequestsMatchSpec,
  cinderAndNovaBuildIt,
];
