// Every nova-placeholder property against real Nova's decisions, then against the same
// decision made deliberately wrong (or a guest that saw the wrong thing): each must fail.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Observation, ObservedBlockDevice } from "../../../firmware/observation.js";
import type { NovaServerBuilt } from "../../../harness/openstack/nova-server.js";
import { stopAllWorkers } from "../../../harness/openstack/worker.js";
import { type DomainBootRecord, type DomainTopology, resolveTopology } from "../../../harness/scenario.js";
import { realNovaInstalled } from "../../../scenarios/index.js";
import { placeholderCaseArbitrary } from "../../../scenarios/nova-placeholder/arbitraries.js";
import {
  OVERRIDE_ROOT_ID,
  type PlaceholderCase,
  placeholderExamples,
  volumeFixtures,
} from "../../../scenarios/nova-placeholder/case.js";
import { decisionOf, PLACEHOLDER_BOOT, placeholderBoots } from "../../../scenarios/nova-placeholder/driver.js";
import { guestBootsTheRootVolume, guestSeesEveryVolume } from "../../../scenarios/nova-placeholder/properties.js";
import { expectedBoot, requestRoot } from "../../../scenarios/nova-placeholder/spec-model.js";
import {
  everyMappedVolumeAttached,
  instanceRecordsThePlaceholder,
  novaDecidesAsSpecified,
  placeholderCarriesTheMapping,
  rootIsTheMappedVolume,
} from "../../../scenarios/nova-placeholder/static-properties.js";

const example = (name: string): PlaceholderCase => {
  const found = placeholderExamples.find((e) => e.name === name);
  if (!found) throw new Error(`no example ${name}`);
  return structuredClone(found.input);
};
const GiB = 1024 ** 3;

describe("nova-placeholder spec model (pure)", () => {
  it("boots the snapshot of the original root at its size when the request maps nothing", () => {
    const expected = expectedBoot(example("image-only"), () => undefined);
    expect(expected).toMatchObject({
      outcome: "boots",
      root: { content: "original-root", sizeGb: 1, device: "vda" },
      others: [],
    });
  });

  it("lets the request's root mapping win, with its own size", () => {
    expect(expectedBoot(example("override-root-by-device-name"), () => undefined)).toMatchObject({
      outcome: "boots",
      root: { content: "override-root", sizeGb: 2, volumeId: OVERRIDE_ROOT_ID },
    });
    expect(expectedBoot(example("bigger-root-from-the-snapshot"), () => undefined)).toMatchObject({
      root: { content: "original-root", sizeGb: 3 },
    });
  });

  it("refuses a volume smaller than the snapshot it restores", () => {
    const input = example("bigger-root-from-the-snapshot");
    input.original.root = volumeFixtures.originalRoot(3);
    input.request.mappings = [{ kind: "snapshot", bootIndex: 0, deviceName: "/dev/vda", volumeSizeGb: 2 }];
    expect(expectedBoot(input, () => undefined).outcome).toBe("refused");
  });

  it("lets a request mapping on the image's data device replace it", () => {
    const input = example("with-data-and-a-new-blank-volume");
    input.request.mappings = [{ kind: "blank", volumeSizeGb: 2, deviceName: "/dev/vdb" }];
    const expected = expectedBoot(input, () => "/dev/vdb");
    expect(expected).toMatchObject({ outcome: "boots", others: [{ content: "data", sizeGb: 2 }] });
  });

  it("the legacy root is the mapping on the root device", () => {
    const input = example("q35-ovmf-legacy-extra-volume");
    expect(requestRoot(input)).toBeUndefined();
    input.request.mappings[0] = { kind: "volume", volumeId: OVERRIDE_ROOT_ID, bootIndex: null, deviceName: "vda" };
    expect(requestRoot(input)).toBe(input.request.mappings[0]);
  });

  it("generates the same cases for the same seed", () => {
    const a = fc.sample(placeholderCaseArbitrary, { seed: 7, numRuns: 20 });
    const b = fc.sample(placeholderCaseArbitrary, { seed: 7, numRuns: 20 });
    expect(a).toEqual(b);
  });
});

/** A guest that saw exactly what Nova's domain says, with the volume sizes the case gives. */
function faithfulObservation(built: NovaServerBuilt, role: string, sizeOf: (volumeId: string) => number): Observation {
  const blockDevices: ObservedBlockDevice[] = built.disks.map((d) => ({
    name: d.dev,
    sizeBytes: d.volumeId ? sizeOf(d.volumeId) * GiB : 1024 * 1024,
    sysfsPath: `/sys/devices/pci0000:00/0000:00:0${d.dev.charCodeAt(2) - 93}.0/block/${d.dev}`,
    bus: "virtio",
    pciBdf: null,
    hctl: null,
    usbPath: null,
    serial: d.volumeId ? d.volumeId.slice(0, 20) : null,
    wwid: null,
    naaIds: [],
    scsiPort: null,
    vendor: null,
    model: null,
    removable: false,
    readOnly: false,
  }));
  return {
    schema: 1,
    kernelRelease: "6.1.0",
    cmdline: `bootproof.role=${role}`,
    role,
    blockDevices,
    nics: [],
    pciFunctions: [],
    usbDevices: [],
    bootOrder: null,
    ibft: null,
    mounts: [],
    rootSource: null,
    nfsRoot: null,
    deploy: null,
    modulesLoaded: [],
    moduleErrors: [],
    settleMs: 0,
    uptimeSeconds: 1,
  };
}

describe.skipIf(!realNovaInstalled())("nova-placeholder properties on real Nova's decisions", () => {
  const decided = new Map<string, { input: PlaceholderCase; topologies: Record<string, DomainTopology> }>();
  const staticOf = (name: string) => decided.get(name)!;

  beforeAll(async () => {
    for (const e of placeholderExamples) {
      const input = structuredClone(e.input);
      const plans = await placeholderBoots(input);
      decided.set(e.name, {
        input,
        topologies: Object.fromEntries(plans.map((p) => [p.name, resolveTopology(p) as DomainTopology])),
      });
    }
  }, 120_000);
  afterAll(async () => {
    await stopAllWorkers();
    const { closeEmbeddedLibvirt } = await import("../../../harness/libvirt/embedded.js");
    await closeEmbeddedLibvirt();
  });

  const allStatic = [
    placeholderCarriesTheMapping,
    novaDecidesAsSpecified,
    instanceRecordsThePlaceholder,
    rootIsTheMappedVolume,
    everyMappedVolumeAttached,
  ];

  it("every static property holds for the examples (device names as Nova writes them)", () => {
    for (const [name, { input, topologies }] of decided)
      for (const property of allStatic)
        expect(property.check(input, topologies), `${name} ${property.name}`).toMatchObject({ ok: true });
  });

  const built = (name: string) => {
    const server = decisionOf(staticOf(name).input).server;
    if (server?.outcome !== "built") throw new Error(`${name} was not built`);
    return server;
  };

  it("PH1 fails for a placeholder with content or without its mapping", () => {
    const { input, topologies } = staticOf("image-only");
    const snapshot = decisionOf(input).snapshot;
    if (snapshot.outcome !== "snapshotted") throw new Error("not snapshotted");
    const image = structuredClone(snapshot.image);
    snapshot.image.size = 1024;
    expect(placeholderCarriesTheMapping.check(input, topologies)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/size 1024/),
    });
    snapshot.image = { ...image, block_device_mapping: "[]" };
    expect(placeholderCarriesTheMapping.check(input, topologies)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/maps no snapshot/),
    });
    snapshot.image = image;
  });

  it("PH2 fails when Nova refuses what the spec boots, and when it builds what the spec refuses", () => {
    const { input, topologies } = staticOf("image-only");
    const decision = decisionOf(input);
    const server = decision.server!;
    decision.server = {
      outcome: "refused",
      stage: "api",
      error: { type: "nova.exception.InvalidBDM", message: "no" },
      cinderCalls: [],
    };
    expect(novaDecidesAsSpecified.check(input, topologies)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/refused a request the spec boots/),
    });
    decision.server = server;
    // Nova's build of a 3 GiB root from the snapshot, judged as if the snapshot were 4 GiB.
    const bigger = staticOf("bigger-root-from-the-snapshot");
    bigger.input.original.root.sizeGb = 4;
    expect(novaDecidesAsSpecified.check(bigger.input, bigger.topologies)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/built the server although/),
    });
    bigger.input.original.root.sizeGb = 1;
  });

  it("PH3 fails when the instance records another image", () => {
    const { input, topologies } = staticOf("image-only");
    const server = built("image-only");
    const imageRef = server.instance.imageRef;
    server.instance.imageRef = "";
    expect(instanceRecordsThePlaceholder.check(input, topologies)).toMatchObject({ ok: false });
    server.instance.imageRef = imageRef;
  });

  it("PH4 fails when the root holds the wrong volume or size, or sits on another device", () => {
    const { input, topologies } = staticOf("bigger-root-from-the-snapshot");
    const server = built("bigger-root-from-the-snapshot");
    const created = server.createdVolumes[0]!;
    created.size = 1;
    expect(rootIsTheMappedVolume.check(input, topologies)).toMatchObject({ ok: false, message: expect.stringMatching(/1 GiB/) });
    created.size = 3;
    const root = server.disks.find((d) => d.root)!;
    root.dev = "vdb";
    expect(rootIsTheMappedVolume.check(input, topologies)).toMatchObject({ ok: false, message: expect.stringMatching(/on vdb/) });
    root.dev = "vda";
    expect(rootIsTheMappedVolume.check(input, topologies)).toMatchObject({ ok: true });
  });

  it("PH5 fails for a missing volume and for an image-backed local disk", () => {
    const { input, topologies } = staticOf("with-data-and-a-new-blank-volume");
    const server = built("with-data-and-a-new-blank-volume");
    const disks = server.disks;
    server.disks = disks.filter((d) => d.root);
    expect(everyMappedVolumeAttached.check(input, topologies)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/other volumes are \[\]/),
    });
    server.disks = [...disks, { ...disks[0]!, dev: "vdz", role: "root-image", root: false, volumeId: undefined }];
    expect(everyMappedVolumeAttached.check(input, topologies)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/image-backed local disk/),
    });
    server.disks = disks;
  });

  const bootRecord = (name: string, observation: Observation): Record<string, DomainBootRecord> => ({
    [PLACEHOLDER_BOOT]: {
      name: PLACEHOLDER_BOOT,
      topology: staticOf(name).topologies[PLACEHOLDER_BOOT]!,
      domain: staticOf(name).topologies[PLACEHOLDER_BOOT]!.defined!,
      observation,
      firmwareLog: [],
      endpoints: {
        tftp: { host: "10.0.2.2", port: 0 },
        iscsi: { host: "10.0.2.2", port: 0 },
        http: { host: "10.0.2.2", port: 0 },
      },
      serviceLog: [],
    },
  });
  const sizes = (name: string) => {
    const server = built(name);
    return (id: string) => server.createdVolumes.find((v) => v.id === id)?.size ?? 1;
  };

  it("PB1 passes for a faithful guest and fails for the wrong medium, size or device name", () => {
    const name = "bigger-root-from-the-snapshot";
    const { input } = staticOf(name);
    const server = built(name);
    const good = faithfulObservation(server, "original-root", sizes(name));
    expect(guestBootsTheRootVolume.check(input, bootRecord(name, good))).toMatchObject({ ok: true });
    expect(guestBootsTheRootVolume.check(input, bootRecord(name, { ...good, role: "override-root" }))).toMatchObject({
      ok: false,
    });
    const small = structuredClone(good);
    small.blockDevices[0]!.sizeBytes = GiB;
    expect(guestBootsTheRootVolume.check(input, bootRecord(name, small))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/3 GiB/),
    });
    const renamed = structuredClone(good);
    renamed.blockDevices[0]!.name = "vdb";
    expect(guestBootsTheRootVolume.check(input, bootRecord(name, renamed))).toMatchObject({ ok: false });
  });

  it("PB2 fails when the guest lacks a mapped volume or sees it at another size", () => {
    const name = "with-data-and-a-new-blank-volume";
    const { input } = staticOf(name);
    const server = built(name);
    const good = faithfulObservation(server, "original-root", sizes(name));
    expect(guestSeesEveryVolume.check(input, bootRecord(name, good))).toMatchObject({ ok: true });
    expect(
      guestSeesEveryVolume.check(input, bootRecord(name, { ...good, blockDevices: good.blockDevices.slice(0, 1) })),
    ).toMatchObject({
      ok: false,
    });
    const wrong = structuredClone(good);
    wrong.blockDevices[1]!.sizeBytes = 5 * GiB;
    expect(guestSeesEveryVolume.check(input, bootRecord(name, wrong))).toMatchObject({ ok: false });
  });
});
