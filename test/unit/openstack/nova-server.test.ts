// Real Nova's server create and volume-backed snapshot through the Nova worker: the answers
// are Nova's (devices, created volumes, the placeholder image, refusals with Nova's exception),
// deterministic, and a malformed request is the worker's failure, not Nova's answer.
import { afterAll, describe, expect, it } from "vitest";
import { type NovaServerRequest, novaServerCreate, novaSnapshot } from "../../../harness/openstack/nova-server.js";
import { stopAllWorkers, WorkerError } from "../../../harness/openstack/worker.js";
import { realNovaInstalled } from "../../../scenarios/index.js";

const ROOT = "c0000000-0000-4000-8000-000000000001";
const DATA = "c0000000-0000-4000-8000-000000000002";
const request = (server: NovaServerRequest["server"]): NovaServerRequest => ({
  instance: { uuid: "c0000000-5e4e-4000-8000-000000000001", machineType: "pc", firmware: "seabios" },
  flavor: { rootGb: 1 },
  server,
  volumes: {
    [ROOT]: { size: 2, status: "available", bootable: true, volume_image_metadata: { hw_disk_bus: "virtio" } },
    [DATA]: { size: 1, status: "available", bootable: false },
  },
});
const bootFromRoot = {
  blockDeviceMappingV2: [{ source_type: "volume" as const, destination_type: "volume" as const, uuid: ROOT, boot_index: 0 }],
};

describe.skipIf(!realNovaInstalled())("real Nova server create and snapshot (Nova worker)", () => {
  afterAll(() => stopAllWorkers());

  it("boots a volume on vda with its serial, and attaches a data volume after it on vdb", async () => {
    const answer = await novaServerCreate(request({ ...bootFromRoot, attachVolumes: [DATA] }));
    if (answer.outcome !== "built") throw new Error(JSON.stringify(answer));
    expect(answer.disks.map((d) => [d.dev, d.volumeId, d.serial, d.root])).toEqual([
      ["vda", ROOT, ROOT, true],
      ["vdb", DATA, DATA, false],
    ]);
    expect(answer.instance).toEqual({ imageRef: "", rootDeviceName: "/dev/vda" });
    expect(answer.cinderCalls.map((c) => c.method)).toContain("attachment_update");
    expect(answer.createdVolumes).toEqual([]);
  }, 60_000);

  it("snapshots into a content-free placeholder, and a server from it gets a volume restored from the snapshot", async () => {
    const first = await novaSnapshot(request(bootFromRoot));
    const second = await novaSnapshot(request(bootFromRoot));
    if (first.outcome !== "snapshotted") throw new Error(JSON.stringify(first));
    // Same request, same placeholder, snapshots and volumes (the domain XML carries a creation time).
    if (second.outcome !== "snapshotted") throw new Error(JSON.stringify(second));
    expect([second.image, second.snapshots, second.volumes]).toEqual([first.image, first.snapshots, first.volumes]);
    expect(first.image).toMatchObject({ size: 0, bdm_v2: "True", root_device_name: "/dev/vda", min_disk: 1 });
    const mapping = JSON.parse(String(first.image.block_device_mapping));
    expect(mapping).toMatchObject([{ source_type: "snapshot", boot_index: 0, volume_size: 2, device_name: "/dev/vda" }]);
    const booted = await novaServerCreate({
      ...request({ imageRef: first.image.id }),
      images: { [first.image.id]: first.image },
      volumes: first.volumes,
      snapshots: first.snapshots,
    });
    if (booted.outcome !== "built") throw new Error(JSON.stringify(booted));
    expect(booted.instance.imageRef).toBe(first.image.id);
    expect(booted.createdVolumes).toMatchObject([{ size: 2, snapshotId: mapping[0].snapshot_id, sourceVolumeId: ROOT }]);
    expect(booted.disks.find((d) => d.root)?.volumeId).toBe(booted.createdVolumes[0]?.id);
  }, 60_000);

  it("a volume Cinder does not have is Nova's refusal, with Nova's exception", async () => {
    const answer = await novaServerCreate({ ...request(bootFromRoot), volumes: {} });
    expect(answer).toMatchObject({
      outcome: "refused",
      stage: "api",
      error: { type: expect.stringMatching(/^nova\.exception\./) },
    });
  }, 60_000);

  it("a malformed request is a WorkerError naming the request, and the worker keeps answering", async () => {
    const error = await novaServerCreate({ server: {} } as unknown as NovaServerRequest).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerError);
    expect((error as WorkerError).message).toMatch(/the nova worker \(request 'boot'\) raised an unexpected exception/);
    expect((await novaServerCreate(request(bootFromRoot))).outcome).toBe("built");
  }, 60_000);
});
