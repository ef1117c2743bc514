// Boot-free properties of real Nova's decisions: the placeholder image its snapshot
// registered, whether it built or refused the new server as the spec says, what the instance
// records, and which volume each disk of the domain holds.
import type { NovaServerBuilt } from "../../harness/openstack/nova-server.js";
import type { AnyTopology, PropertyOutcome, StaticProperty } from "../../harness/scenario.js";
import { fail, pass } from "../common/outcomes.js";
import type { PlaceholderCase } from "./case.js";
import { expectationFor, imageMappings, volumeDisks } from "./decision-reading.js";
import { decisionOf } from "./driver.js";
import { rootDeviceName } from "./requests.js";
import { stripDev } from "./spec-model.js";

type PlaceholderStatic = StaticProperty<PlaceholderCase, AnyTopology>;

const describeVolume = (v: { content: string; sizeGb: number }) => `${v.content} (${v.sizeGb} GiB)`;

/** Nova's build, or the outcome that says there is none to judge. */
function builtOrOutcome(input: PlaceholderCase): NovaServerBuilt | PropertyOutcome {
  const { server } = decisionOf(input);
  if (server?.outcome === "built") return server;
  // PH2 judges refusals; nothing was built to check here.
  return pass();
}

export const placeholderCarriesTheMapping: PlaceholderStatic = {
  name: "PH1-placeholder-carries-the-mapping",
  description:
    "the snapshot of the volume-backed server is a content-free image (size 0) whose properties carry bdm_v2, the root device name and a snapshot mapping of every volume, the root's at boot_index 0",
  check(input) {
    const { snapshot } = decisionOf(input);
    if (snapshot.outcome !== "snapshotted")
      return fail(
        `Nova refused to create or snapshot the original server (${snapshot.stage}): ${snapshot.error.type}: ${snapshot.error.message}`,
      );
    const image = snapshot.image;
    if (image.size !== 0) return fail(`the placeholder image has size ${JSON.stringify(image.size)}, not 0`);
    if (image.bdm_v2 !== "True") return fail(`the placeholder's bdm_v2 is ${JSON.stringify(image.bdm_v2)}, not "True"`);
    if (image.root_device_name !== rootDeviceName(input.hardware))
      return fail(
        `the placeholder's root_device_name is ${JSON.stringify(image.root_device_name)}, the original's root is ${rootDeviceName(input.hardware)}`,
      );
    const mappings = imageMappings(image);
    if (typeof mappings === "string") return fail(mappings);
    for (const volume of [input.original.root, ...input.original.data]) {
      const mapping = mappings.find((m) => m.snapshot_id && snapshot.snapshots[m.snapshot_id]?.volume_id === volume.id);
      if (mapping?.source_type !== "snapshot")
        return fail(`the placeholder maps no snapshot of volume ${volume.id} (${volume.content}): ${image.block_device_mapping}`);
      if ((volume === input.original.root) !== (mapping.boot_index === 0))
        return fail(`the snapshot of ${volume.content} has boot_index ${mapping.boot_index}: ${image.block_device_mapping}`);
    }
    return pass();
  },
};

export const novaDecidesAsSpecified: PlaceholderStatic = {
  name: "PH2-nova-boots-or-refuses-as-specified",
  description:
    "Nova builds the server the spec says boots, and refuses (with Nova's own exception and message) only the request the spec refuses",
  check(input) {
    const { server } = decisionOf(input);
    if (!server) return pass(); // the snapshot was refused: PH1 says so
    const expected = expectationFor(input);
    if (server.outcome === "refused") {
      const said = `${server.stage}: ${server.error.type}: ${server.error.message}`;
      if (expected.outcome === "refused") {
        return server.error.type.startsWith("nova.") || server.error.type.startsWith("webob.")
          ? pass()
          : fail(`Nova refused, as it should (${expected.why}), but not with its own exception: ${said}`);
      }
      return fail(`Nova refused a request the spec boots (root: ${expected.root.origin}): ${said}`);
    }
    return expected.outcome === "refused" ? fail(`Nova built the server although ${expected.why}`) : pass();
  },
};

export const instanceRecordsThePlaceholder: PlaceholderStatic = {
  name: "PH3-instance-records-the-placeholder",
  description: "the new instance's image is the placeholder image it was booted from",
  check(input) {
    const built = builtOrOutcome(input);
    if ("ok" in built) return built;
    const { snapshot } = decisionOf(input);
    const imageId = snapshot.outcome === "snapshotted" ? snapshot.image.id : "?";
    return built.instance.imageRef === imageId
      ? pass()
      : fail(
          `the instance records image ${JSON.stringify(built.instance.imageRef)}, it was booted from the placeholder ${imageId}`,
        );
  },
};

export const rootIsTheMappedVolume: PlaceholderStatic = {
  name: "PH4-root-is-the-mapped-volume",
  description:
    "the domain's root disk holds the volume the spec says (restored from the snapshot, or the request's override), at the size the API's rules give, on the root device",
  check(input) {
    const built = builtOrOutcome(input);
    if ("ok" in built) return built;
    const expected = expectationFor(input);
    if (expected.outcome !== "boots") return pass();
    const root = volumeDisks(input, built).find((d) => d.disk.root);
    if (!root)
      return fail(`Nova's domain has no volume as its root: ${JSON.stringify(built.disks.map((d) => [d.dev, d.role, d.root]))}`);
    const got = root.volume;
    const want = expected.root;
    if (!got)
      return fail(`the root disk ${root.disk.dev} holds volume ${root.disk.volumeId}, which no mapping of the case names`);
    if (got.content !== want.content || got.sizeGb !== want.sizeGb || (want.volumeId !== undefined && got.id !== want.volumeId))
      return fail(
        `the root ${root.disk.dev} holds ${describeVolume(got)}, the spec's root is ${describeVolume(want)}: ${want.origin}`,
      );
    if (want.device !== undefined && stripDev(root.disk.dev) !== want.device)
      return fail(`the root volume is on ${root.disk.dev}, the image maps the root on ${want.device}`);
    return pass();
  },
};

export const everyMappedVolumeAttached: PlaceholderStatic = {
  name: "PH5-every-mapped-volume-is-attached",
  description:
    "every other volume the image and the request map is a disk of the domain, once, with its size; no image-backed local disk exists",
  check(input) {
    const built = builtOrOutcome(input);
    if ("ok" in built) return built;
    const expected = expectationFor(input);
    if (expected.outcome !== "boots") return pass();
    const local = built.disks.find((d) => d.role === "root-image");
    if (local) return fail(`Nova gave the instance an image-backed local disk ${local.dev}: the placeholder has no content`);
    const others = volumeDisks(input, built)
      .filter((d) => !d.disk.root)
      .map((d) => (d.volume ? describeVolume(d.volume) : `unknown volume ${d.disk.volumeId}`))
      .sort();
    const wanted = expected.others.map(describeVolume).sort();
    return JSON.stringify(others) === JSON.stringify(wanted)
      ? pass()
      : fail(
          `the domain's other volumes are [${others.join(", ")}], the spec maps [${wanted.join(", ")}]: ${expected.others.map((o) => o.origin).join("; ")}`,
        );
  },
};

export const placeholderStaticProperties: PlaceholderStatic[] = [
  placeholderCarriesTheMapping,
  novaDecidesAsSpecified,
  instanceRecordsThePlaceholder,
  rootIsTheMappedVolume,
  everyMappedVolumeAttached,
];
