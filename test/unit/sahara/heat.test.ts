// bootproof's Heat (scenarios/sahara/heat.ts), pure: on the stacks real Sahara wrote for the
// examples (recorded) and on stacks changed to break one rule of Heat's at a time.
import { describe, expect, it } from "vitest";
import type { SaharaStackTemplate } from "../../../harness/openstack/sahara.js";
import { AVAILABILITY_ZONES, CINDER_VOLUME_TYPES, GiB, IMAGE_ID } from "../../../scenarios/sahara/case.js";
import { cinderCreate, volumeImageMetadata } from "../../../scenarios/sahara/cinder.js";
import {
  derivedUuid,
  describeFinding,
  heatBoolean,
  heatInteger,
  heatPlan,
  novaclientLegacyBdm,
} from "../../../scenarios/sahara/heat.js";
import { yamlExcerpt } from "../../../scenarios/sahara/yaml-excerpt.js";
import { fixture, stackOf } from "./fixtures.js";

const cloud = { images: [IMAGE_ID], volumeTypes: CINDER_VOLUME_TYPES };
const planOf = (stack: SaharaStackTemplate) => heatPlan(stack, cloud);
type Json = Record<string, unknown>;
/** A copy of a stack with the node group's template (file://worker.yaml) changed. */
function withNodeGroupTemplate(stack: SaharaStackTemplate, change: (resources: Record<string, Json>, template: Json) => void) {
  const copy = structuredClone(stack);
  const template = copy.files["file://worker.yaml"]!.parsed as Json;
  change(template.resources as Record<string, Json>, template);
  return copy;
}

describe("what Heat would do with real Sahara's stacks", () => {
  it("boot from volume: the volume from the image first, then the server with a legacy vda mapping and no image, then the data volume's attachment", () => {
    const plan = planOf(stackOf(fixture("bfv-seabios-pc")));
    expect(plan.findings).toEqual([]);
    expect(plan.servers).toHaveLength(1);
    const [server] = plan.servers;
    const boot = plan.volumes[server!.volumesBefore[0]!]!;
    expect(boot).toMatchObject({
      resource: "resources.worker.resources[0].resources.bootable_volume",
      size: 2,
      imageRef: IMAGE_ID,
      volumeType: null,
      availabilityZone: null,
      schedulerHints: null,
    });
    expect(server!.create).toMatchObject({
      name: "bootproof-worker-0",
      imageRef: "",
      flavorRef: "m1.sahara",
      // Heat's "<id>::<size>:True" string, parsed back by novaclient.
      block_device_mapping: [{ device_name: "vda", volume_id: boot.id, delete_on_termination: "True" }],
    });
    expect(server!.create.networks).toHaveLength(1);
    expect(Object.values(plan.ports)[0]?.mac).toMatch(/^fa:16:3e(:[0-9a-f]{2}){3}$/);
    expect(server!.attachments).toHaveLength(1);
    const data = plan.volumes[server!.attachments[0]!.volumeId]!;
    expect(data).toMatchObject({ size: 1, imageRef: null, name: "bootproof-worker-0-volume-0" });
    expect(server!.attachments[0]!.mountpoint).toBeNull();
  });

  it("types, zones and the data volumes' locality hint reach Cinder; the server keeps its zone", () => {
    const plan = planOf(stackOf(fixture("bfv-ovmf-q35-two-volumes")));
    expect(plan.findings).toEqual([]);
    const [server] = plan.servers;
    expect(server!.create.availability_zone).toBe("nova");
    expect(plan.volumes[server!.volumesBefore[0]!]).toMatchObject({ size: 3, volumeType: "ssd", availabilityZone: "az-2" });
    const data = server!.attachments.map((a) => plan.volumes[a.volumeId]!);
    expect(data.map((v) => [v.size, v.volumeType, v.availabilityZone, v.schedulerHints])).toEqual([
      [2, "standard", "nova", { local_to_instance: server!.id }],
      [2, "standard", "nova", { local_to_instance: server!.id }],
    ]);
    expect(data.map((v) => v.name)).toEqual(["bootproof-worker-0-volume-0", "bootproof-worker-0-volume-1"]);
  });

  it("image-backed: the server has the image, no mapping, and no volume is made from the image", () => {
    const plan = planOf(stackOf(fixture("image-backed-seabios-pc")));
    expect(plan.findings).toEqual([]);
    const [server] = plan.servers;
    expect(server!.create.imageRef).toBe(IMAGE_ID);
    expect(server!.create.block_device_mapping).toBeUndefined();
    expect(server!.volumesBefore).toEqual([]);
    expect(Object.values(plan.volumes).filter((v) => v.imageRef)).toEqual([]);
  });

  it("measured: Sahara's size 0 for a flavor with root disk 0 is Heat's Range(min=1) refusal, with Sahara's own lines", () => {
    const [finding, ...rest] = planOf(stackOf(fixture("expected-failure-flavor-root-disk-0"))).findings;
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      check: "property",
      template: "file://worker.yaml",
      resource: "bootable_volume",
      heat: "Property error: resources.bootable_volume.properties.size: 0 is out of range (min: 1, max: None)",
      stacks: ["resources.worker.resources[0]"],
    });
    expect(finding!.snippet).toBe(
      ["resources:", "  bootable_volume:", "    properties:", "      size: 0", "    type: OS::Cinder::Volume"].join("\n"),
    );
    expect(describeFinding(finding!)).toMatch(
      /^Heat refuses the stack: Property error: .* \[in 'file:\/\/worker\.yaml', nested stacks: 1\]/,
    );
  });

  it("measured: boot_volume_local_to_instance is an undeclared get_param, and would close a cycle declared", () => {
    const [finding, ...rest] = planOf(stackOf(fixture("expected-failure-boot-volume-local-to-instance"))).findings;
    expect(rest).toEqual([]);
    expect(finding).toMatchObject({
      check: "parameter",
      resource: "bootable_volume",
      path: ["properties", "scheduler_hints", "local_to_instance"],
      heat: "The Parameter (instance) was not provided.",
    });
    expect(finding!.note).toMatch(
      /inst, boots from bootable_volume.*wait for inst, which waits for bootable_volume \(a circular dependency\)/,
    );
    expect(finding!.snippet).toContain("      scheduler_hints:\n        local_to_instance:\n          get_param: instance");
  });

  it("is deterministic: the same stack, the same plan and ids", () => {
    const stack = stackOf(fixture("bfv-ovmf-q35-two-volumes"));
    expect(JSON.stringify(planOf(stack))).toBe(JSON.stringify(planOf(structuredClone(stack))));
    expect(planOf(stack).servers[0]!.id).toBe(derivedUuid("bootproof/resources.worker.resources[0]/inst"));
  });
});

describe("Heat's rules, one broken at a time", () => {
  const bfv = () => stackOf(fixture("bfv-seabios-pc"));
  const findingsOf = (stack: SaharaStackTemplate) => planOf(stack).findings.map((f) => `${f.check}: ${f.heat}`);

  it("a get_resource naming no resource of its template", () => {
    const stack = withNodeGroupTemplate(bfv(), (r) => {
      (r.inst!.properties as Json).block_device_mapping = [{ device_name: "vda", volume_id: { get_resource: "no_such_volume" } }];
    });
    expect(findingsOf(stack)).toEqual([
      'reference: The specified reference "no_such_volume" (in inst.properties.block_device_mapping[0].volume_id) is incorrect.',
    ]);
  });

  it("a dependency cycle", () => {
    const stack = withNodeGroupTemplate(bfv(), (r) => {
      (r.bootable_volume!.properties as Json).name = { get_attr: ["inst", "name"] };
    });
    expect(findingsOf(stack)).toEqual(["reference: Circular Dependency Found: bootable_volume -> inst -> bootable_volume"]);
  });

  it("a nested template given an unknown property, or denied a required parameter", () => {
    const unknown = structuredClone(bfv());
    const group = (unknown.mainTemplate.resources as Record<string, Json>).worker!;
    ((group.properties as Json).resource_def as Json).properties = { instance_index: "%index%", surplus: "x" };
    expect(findingsOf(unknown)).toEqual([
      "parameter: Property error: resources.worker.resources[0].properties: Unknown Property surplus",
    ]);
    const missing = structuredClone(bfv());
    ((((missing.mainTemplate.resources as Record<string, Json>).worker!.properties as Json).resource_def as Json)
      .properties as Json) = {};
    expect(findingsOf(missing)).toEqual(["parameter: The Parameter (instance_index) was not provided."]);
  });

  it("a nested template that is not in the stack's files", () => {
    const stack = structuredClone(bfv());
    delete stack.files["file://worker.yaml"];
    expect(findingsOf(stack)).toEqual([
      'reference: Could not fetch remote template "file://worker.yaml": it is not in the stack\'s files',
    ]);
  });

  it("a size that is not an integer, a volume type or image Heat cannot find, a server with nothing to boot", () => {
    const stack = withNodeGroupTemplate(bfv(), (r) => {
      Object.assign(r.bootable_volume!.properties as Json, { size: "2.5", volume_type: "gold", image: "other-image" });
      r.inst!.properties = { ...(r.inst!.properties as Json), block_device_mapping: [{ device_name: "vdb", volume_id: "v" }] };
    });
    expect(findingsOf(stack)).toEqual([
      "property: Property error: resources.bootable_volume.properties.size: Value '2.5' is not an integer",
      "property: Property error: resources.bootable_volume.properties.image: Error validating value 'other-image': No image matching other-image.",
      "property: Property error: resources.bootable_volume.properties.volume_type: Error validating value 'gold': The VolumeType (gold) could not be found.",
      "property: Neither image nor bootable volume is specified for instance inst",
    ]);
  });

  it("Heat's integer and boolean conversions are Python's int() and strutils.bool_from_string", () => {
    expect([
      heatInteger("5"),
      heatInteger(" 7 "),
      heatInteger(2.9),
      heatInteger(true),
      heatInteger("1.0"),
      heatInteger("x"),
    ]).toEqual([5, 7, 2, 1, null, null]);
    expect([heatBoolean("true"), heatBoolean("False"), heatBoolean("yes"), heatBoolean("maybe")]).toEqual([
      true,
      false,
      true,
      null,
    ]);
  });

  it("the legacy mapping novaclient sends: snapshots, sizes, and no delete flag when false", () => {
    expect(
      novaclientLegacyBdm([
        { device_name: "vda", volume_id: "v1", delete_on_termination: "true" },
        { device_name: "vdb", snapshot_id: "s1", volume_size: 3 },
        { device_name: "vdc", volume_id: "v2", delete_on_termination: false },
      ]),
    ).toEqual([
      { device_name: "vda", volume_id: "v1", delete_on_termination: "True" },
      { device_name: "vdb", snapshot_id: "s1", volume_size: "3" },
      { device_name: "vdc", volume_id: "v2" },
    ]);
  });
});

describe("Sahara's text of a path (safe_dump's layout)", () => {
  const text = [
    "resources:",
    "  inst:",
    "    properties:",
    "      block_device_mapping:",
    "      - device_name: vda",
    "        volume_id:",
    "          get_resource: bootable_volume",
    "      flavor: m1",
    "    type: OS::Nova::Server",
    "  port:",
    "    type: OS::Neutron::Port",
  ].join("\n");

  it("quotes every header down the path and the whole block of the last key, indentless lists included", () => {
    // Everything down to the list's last item; not the sibling key `flavor` after it.
    expect(yamlExcerpt(text, ["resources", "inst", "properties", "block_device_mapping"])).toBe(
      text.split("\n").slice(0, 7).join("\n"),
    );
    expect(yamlExcerpt(text, ["resources", "port"])).toBe("resources:\n  port:\n    type: OS::Neutron::Port");
    expect(yamlExcerpt(text, ["resources", "inst", "image"])).toBeUndefined();
  });
});

describe("bootproof's stand-in Cinder", () => {
  const cinderCloud = {
    images: { [IMAGE_ID]: { id: IMAGE_ID, name: "img", status: "active", size: 64 << 20, min_disk: 0, hw_machine_type: "q35" } },
    volumeTypes: CINDER_VOLUME_TYPES,
    availabilityZones: AVAILABILITY_ZONES,
    defaultAvailabilityZone: "nova",
  };
  const create = (change: Record<string, unknown> = {}) => ({
    resource: "r",
    id: "v",
    size: 1,
    imageRef: IMAGE_ID,
    volumeType: null,
    availabilityZone: null,
    name: "n",
    schedulerHints: null,
    ...change,
  });

  it("a volume from the image is bootable and carries the image's metadata as strings", () => {
    expect(cinderCreate(create(), cinderCloud)).toEqual({
      outcome: "created",
      volume: {
        size: 1,
        status: "available",
        bootable: true,
        availability_zone: "nova",
        volume_image_metadata: volumeImageMetadata(cinderCloud.images[IMAGE_ID]!),
      },
    });
    expect(volumeImageMetadata(cinderCloud.images[IMAGE_ID]!)).toEqual({
      image_id: IMAGE_ID,
      image_name: "img",
      size: String(64 << 20),
      min_disk: "0",
      hw_machine_type: "q35",
    });
  });

  it("refuses what Cinder refuses: size below 1, unknown type or zone, an image that does not fit", () => {
    const refusal = (change: Record<string, unknown>) => {
      const answer = cinderCreate(create(change), cinderCloud);
      return answer.outcome === "refused" ? answer.error : "created";
    };
    expect(refusal({ size: 0 })).toBe("Invalid input received: Volume size '0' must be an integer and greater than 0.");
    expect(refusal({ volumeType: "gold" })).toBe("Volume type with name gold could not be found.");
    expect(refusal({ availabilityZone: "moon" })).toBe("Invalid input received: Availability zone 'moon' is invalid.");
    expect(
      cinderCreate(create(), { ...cinderCloud, images: { [IMAGE_ID]: { ...cinderCloud.images[IMAGE_ID]!, size: 3 * GiB } } }),
    ).toEqual({ outcome: "refused", error: "Image virtual size is 3GB and doesn't fit in a volume of size 1GB." });
  });
});
