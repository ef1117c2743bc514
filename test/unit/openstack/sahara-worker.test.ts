// Real Sahara (Debian's python3-sahara) through the sahara worker, no guest: the Heat stack its
// Heat engine writes for one node group, with and without boot from volume, and the worker's
// error paths. One worker start (~1.5 s) serves the whole file. Skipped where python3-sahara
// is not installed (the host's doctor groups do not install it).
import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import * as z from "zod/mini";
import { InputError } from "../../../harness/errors.js";
import {
  type HeatTemplate,
  nodeGroupTemplateOf,
  type SaharaNodeGroup,
  type SaharaStackTemplate,
  saharaTemplate,
  saharaVersions,
  saharaWorkerSpec,
} from "../../../harness/openstack/sahara.js";
import { stopAllWorkers, WorkerError, workerFor } from "../../../harness/openstack/worker.js";

const DEBIAN_SAHARA = "/usr/lib/python3/dist-packages/sahara";
const installed = existsSync(`${DEBIAN_SAHARA}/service/heat/templates.py`);

afterAll(() => stopAllWorkers());

const nodeGroup = (change: Partial<SaharaNodeGroup> = {}): SaharaNodeGroup => ({
  clusterName: "bootproof",
  name: "worker",
  flavor: { id: "m1.small", diskGb: 20, ramMb: 2048, vcpus: 1, ephemeralGb: 0 },
  imageId: "6b1a5e2c-0d1f-4c3b-9a8e-7f6d5c4b3a29",
  count: 2,
  bootFromVolume: false,
  volumesPerNode: 0,
  volumesSizeGb: 0,
  ...change,
});

interface HeatResource {
  type: string;
  properties?: Record<string, unknown>;
}

async function stackOf(change: Partial<SaharaNodeGroup> = {}): Promise<SaharaStackTemplate> {
  const answer = await saharaTemplate(nodeGroup(change));
  if (answer.outcome !== "template") throw new Error(`Sahara refused: ${JSON.stringify(answer.error)}`);
  return answer;
}

const resourcesOf = (template: HeatTemplate | undefined): Record<string, HeatResource> =>
  (template?.resources ?? {}) as Record<string, HeatResource>;

/** The node group's template's resources (file://worker.yaml). */
const nodeGroupResources = (answer: SaharaStackTemplate) => resourcesOf(nodeGroupTemplateOf(answer, "worker"));

/** Every get_param name a template uses that its `parameters` section does not declare. */
function undeclaredGetParams(template: HeatTemplate): string[] {
  const declared = new Set(Object.keys((template.parameters ?? {}) as Record<string, unknown>));
  const used = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === "object")
      for (const [key, inner] of Object.entries(value)) {
        if (key === "get_param") {
          const param = Array.isArray(inner) ? inner[0] : inner;
          if (typeof param === "string") used.add(param);
        }
        walk(inner);
      }
  };
  walk(template.resources);
  walk(template.outputs);
  return [...used].filter((p) => !declared.has(p)).sort();
}

describe.skipIf(!installed)("the sahara worker (real Sahara, no guest)", () => {
  it("reports Sahara's version and where it was imported from", async () => {
    const versions = await saharaVersions();
    expect(versions.sahara).toBe("16.0.0");
    expect(versions.sahara_path).toBe(DEBIAN_SAHARA);
    expect(versions.heat_template_version).toBe("2016-04-08");
  });

  it("boot from volume: a Cinder volume from the image, sized as the flavor's disk, mapped as vda; no image on the server", async () => {
    const answer = await stackOf({ bootFromVolume: true });
    const resources = nodeGroupResources(answer);
    expect(resources.bootable_volume).toEqual({
      type: "OS::Cinder::Volume",
      properties: { image: nodeGroup().imageId, size: 20 },
    });
    expect(resources.inst?.type).toBe("OS::Nova::Server");
    expect(resources.inst?.properties?.block_device_mapping).toEqual([
      { device_name: "vda", volume_id: { get_resource: "bootable_volume" }, delete_on_termination: "true" },
    ]);
    expect(resources.inst?.properties).not.toHaveProperty("image");
    expect(answer.flavorLookups).toEqual([{ id: "m1.small" }]);
    // The main template: one ResourceGroup of `count` node group stacks.
    expect(resourcesOf(answer.mainTemplate).worker).toMatchObject({
      type: "OS::Heat::ResourceGroup",
      properties: { count: 2, resource_def: { type: "file://worker.yaml" } },
    });
    expect(answer.mainTemplateText).toContain("heat_template_version: '2016-04-08'");
    expect(answer.stack).toMatchObject({ tags: "data-processing-cluster", timeoutMins: 180 });
  });

  it("no boot from volume: the image on the server, no boot volume, no flavor lookup", async () => {
    const answer = await stackOf({ bootFromVolume: false });
    const resources = nodeGroupResources(answer);
    expect(resources.bootable_volume).toBeUndefined();
    expect(resources.inst?.properties?.image).toBe(nodeGroup().imageId);
    expect(resources.inst?.properties).not.toHaveProperty("block_device_mapping");
    expect(answer.flavorLookups).toEqual([]);
    expect(Object.keys(answer.files)).toEqual(["file://worker.yaml"]);
  });

  it("two volumes per node: a ResourceGroup of volume stacks, each a volume and an attachment with no device name", async () => {
    const answer = await stackOf({ volumesPerNode: 2, volumesSizeGb: 5 });
    expect(nodeGroupResources(answer).worker).toEqual({
      type: "OS::Heat::ResourceGroup",
      properties: {
        count: 2,
        resource_def: {
          type: "file://worker-volume.yaml",
          properties: {
            volume_index: "%index%",
            instance_index: { get_param: "instance_index" },
            instance: { get_resource: "inst" },
          },
        },
      },
    });
    const volume = resourcesOf(answer.files["file://worker-volume.yaml"]?.parsed);
    expect(volume.volume).toMatchObject({ type: "OS::Cinder::Volume", properties: { size: "5" } });
    expect(volume["volume-attachment"]).toEqual({
      type: "OS::Cinder::VolumeAttachment",
      properties: { instance_uuid: { get_param: "instance" }, volume_id: { get_resource: "volume" } },
    });
  });

  it("volumes per node without a size: Sahara writes no data volumes at all", async () => {
    const answer = await stackOf({ volumesPerNode: 2, volumesSizeGb: 0 });
    expect(nodeGroupResources(answer).worker).toBeUndefined();
    expect(Object.keys(answer.files)).toEqual(["file://worker.yaml"]);
  });

  it("is deterministic: the same node group gets the same stack, text and ids", async () => {
    const change = { bootFromVolume: true, volumesPerNode: 2, volumesSizeGb: 5 };
    const [first, second] = [await stackOf(change), await stackOf(change)];
    expect(second).toEqual(first);
    expect(first.ids.nodeGroup).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5/);
  });

  it("measured: a flavor with disk 0 gives a boot volume of size 0", async () => {
    const answer = await stackOf({ bootFromVolume: true, flavor: { ...nodeGroup().flavor, diskGb: 0 } });
    expect(nodeGroupResources(answer).bootable_volume?.properties?.size).toBe(0);
  });

  it("measured: boot_volume_local_to_instance hints at a parameter the node group template does not declare", async () => {
    const answer = await stackOf({ bootFromVolume: true, bootVolumeLocalToInstance: true });
    const template = nodeGroupTemplateOf(answer, "worker")!;
    expect(resourcesOf(template).bootable_volume?.properties?.scheduler_hints).toEqual({
      local_to_instance: { get_param: "instance" },
    });
    expect(template.parameters).toEqual({ instance_index: { type: "string" } });
    expect(undeclaredGetParams(template)).toEqual(["instance"]);
  });

  it("measured: volume_local_to_instance on data volumes hints at the declared `instance`, the server created first", async () => {
    const answer = await stackOf({ volumesPerNode: 1, volumesSizeGb: 5, volumeLocalToInstance: true });
    const volumeTemplate = answer.files["file://worker-volume.yaml"]!.parsed;
    expect(resourcesOf(volumeTemplate).volume?.properties?.scheduler_hints).toEqual({
      local_to_instance: { get_param: "instance" },
    });
    expect(undeclaredGetParams(volumeTemplate)).toEqual([]);
    expect(undeclaredGetParams(nodeGroupTemplateOf(answer, "worker")!)).toEqual([]);
    expect(undeclaredGetParams(answer.mainTemplate)).toEqual([]);
  });

  it("a malformed request is a WorkerError naming the request; a malformed node group an InputError", async () => {
    const worker = workerFor(saharaWorkerSpec());
    const error = await worker.request("template", { clusterName: "bootproof" }, z.unknown()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerError);
    expect((error as Error).message).toMatch(/request 'template'/);
    expect((error as Error).message).toMatch(/MalformedRequest: the node group is missing 'name'/);
    const typed = await saharaTemplate({ ...nodeGroup(), volumesPerNode: -1 }).catch((e: unknown) => e);
    expect(typed).toBeInstanceOf(InputError);
    expect((typed as Error).message).toMatch(/volumesPerNode/);
    // The worker survives and still answers.
    expect((await saharaTemplate(nodeGroup())).outcome).toBe("template");
  });
});
