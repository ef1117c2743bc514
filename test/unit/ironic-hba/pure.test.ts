// The pure parts of ironic-hba: the records a case becomes, the spec's model, the fabric built
// from Ironic's target records, and each property against a deliberately wrong record.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { IronicDecision } from "../../../harness/openstack/ironic.js";
import type { BootRecord } from "../../../harness/scenario.js";
import { ironicHbaCaseArbitrary } from "../../../scenarios/ironic-hba/arbitraries.js";
import type { IronicHbaCase } from "../../../scenarios/ironic-hba/case.js";
import { hbaFabric, recordHbaDecision } from "../../../scenarios/ironic-hba/driver.js";
import { ironicHbaExamples } from "../../../scenarios/ironic-hba/index.js";
import { hbaBootProperties } from "../../../scenarios/ironic-hba/properties.js";
import { hbaIronicRequest } from "../../../scenarios/ironic-hba/request.js";
import { hbaSpecDecision } from "../../../scenarios/ironic-hba/spec-model.js";
import { hbaStaticProperties } from "../../../scenarios/ironic-hba/static-properties.js";
import { attachedProperties } from "./decisions.js";

const example = (name: string): IronicHbaCase => structuredClone(ironicHbaExamples.find((e) => e.name === name)!.input);

/** What real Ironic answers for a scenario 3 node (measured with the worker), as a record to mutate. */
function bootsFromVolume(input: IronicHbaCase): IronicDecision {
  return {
    stages: [{ stage: "storage.validate", ok: true }],
    should_write_image: false,
    boot_option: "local",
    attached_properties: attachedProperties(input),
    cinder_calls: [
      ...input.volumes.map((v) => ({
        method: "initialize_connection",
        volume_id: v.volumeId,
        connector: { wwpns: input.connectors.wwpns, wwnns: input.connectors.wwnns, host: input.node.uuid },
      })),
      { method: "-- power off --", volume_id: "" },
      ...input.volumes.map((v) => ({ method: "terminate_connection", volume_id: v.volumeId })),
      { method: "-- power on --", volume_id: "" },
      ...input.volumes.map((v) => ({
        method: "initialize_connection",
        volume_id: v.volumeId,
        connector: { wwpns: input.connectors.wwpns, wwnns: input.connectors.wwnns, host: input.node.uuid },
      })),
    ],
    boot_devices: [{ device: "disk", persistent: true }],
  };
}

function staticResults(input: IronicHbaCase, decision: IronicDecision) {
  recordHbaDecision(input, decision);
  return Object.fromEntries(hbaStaticProperties.map((p) => [p.name, p.check(input, {})]));
}

describe("request and spec model", () => {
  it("registers fibre_channel targets with Cinder's FC connection info and wwpn/wwnn connectors", () => {
    const input = example("bios-virtio-scsi-data-volume");
    const request = hbaIronicRequest(input);
    expect(request.node.capabilities).toEqual({ hba_boot: "true", fibre_channel_boot: "true" });
    expect(request.node.management_interface).toBe("noop");
    expect(request.connectors.map((c) => c.type)).toEqual(["wwpn", "wwnn"]);
    expect(request.targets[0]).toMatchObject({
      volume_type: "fibre_channel",
      properties: {
        target_wwn: ["500507680b214ac1", "500507680b244ac0"],
        target_lun: 3,
        initiator_target_map: { "10000090fa000001": ["500507680b214ac1", "500507680b244ac0"] },
      },
    });
  });

  it("scenario 3 boots the volume; the spec's conditions refuse the rest", () => {
    expect(hbaSpecDecision(example("bios-megasas"))).toMatchObject({
      accepts: true,
      bootsFromVolume: true,
      shouldWriteImage: false,
    });
    const noCap = example("bios-megasas");
    noCap.node.hbaBoot = undefined;
    expect(hbaSpecDecision(noCap).refusals.join()).toMatch(/hba_boot=\(unset\)/);
    const noPorts = example("bios-megasas");
    noPorts.connectors = { wwpns: [], wwnns: [] };
    expect(hbaSpecDecision(noPorts).refusals.join()).toMatch(/no wwpn volume connector/);
    const forced = example("bios-megasas");
    forced.node.forceDeployment = true;
    forced.node.imageSource = true;
    expect(hbaSpecDecision(forced)).toMatchObject({ accepts: true, shouldWriteImage: true, bootsFromVolume: false });
  });

  it("generates valid WWNs, distinct LUNs and only HBAs the firmware boots at a LUN it reaches", () => {
    fc.assert(
      fc.property(ironicHbaCaseArbitrary, (input) => {
        for (const v of input.volumes) expect(v.lunWwn).toMatch(/^[0-9a-f]{16}$/);
        expect(new Set(input.volumes.map((v) => v.targetLun)).size).toBe(input.volumes.length);
        const boot = input.volumes.find((v) => v.bootIndex === 0);
        if (boot && input.hba !== "virtio-scsi-pci") expect(boot.targetLun).toBe(0);
        if (boot && input.node.bootMode === "uefi") expect(input.hba).toBe("virtio-scsi-pci");
      }),
      { numRuns: 2000, seed: 1 },
    );
  });
});

describe("the fabric from Ironic's records", () => {
  it("one HBA per WWPN, a path per zoned target port, the boot LU booted through the first", () => {
    const input = example("bios-virtio-scsi-data-volume");
    const fabric = hbaFabric(input, bootsFromVolume(input));
    expect(fabric.hbas).toHaveLength(1);
    expect(fabric.paths).toEqual([
      { hba: "fc0", lu: "v0", port: 0, bootIndex: 0 },
      { hba: "fc0", lu: "v0", port: 1 },
      { hba: "fc0", lu: "v1", port: 1 },
    ]);
    expect(fabric.lus.map((l) => l.lun)).toEqual([3, 7]);
  });

  it("uses the LUN Ironic recorded, not the case's, and refuses a target WWPN the array lacks", () => {
    const input = example("bios-megasas");
    const decision = bootsFromVolume(input);
    decision.attached_properties![0]!.properties.target_lun = 5;
    expect(hbaFabric(input, decision).lus[0]?.lun).toBe(5);
    decision.attached_properties![0]!.properties.initiator_target_map = { "10000090fa000001": ["5005076800000000"] };
    expect(() => hbaFabric(input, decision)).toThrow(/names target WWPN 5005076800000000, which the array does not have/);
  });
});

describe("static properties against wrong records", () => {
  it("pass on what real Ironic answers for scenario 3", () => {
    const input = example("bios-megasas");
    for (const outcome of Object.values(staticResults(input, bootsFromVolume(input)))) expect(outcome.ok).toBe(true);
  });

  it("each fails on its own wrong record", () => {
    const input = example("bios-megasas");
    const refused = { ...bootsFromVolume(input), refusal: { stage: "storage.validate", error: { type: "E", message: "no" } } };
    expect(staticResults(input, refused)["ironic-decision-matches-spec"]?.message).toMatch(/refused a node the spec accepts/);
    const writes = { ...bootsFromVolume(input), should_write_image: true, deploy_wait: "deploy" };
    expect(staticResults(input, writes)["ironic-decision-matches-spec"]?.message).toMatch(/Ironic writes an image/);
    const pxe = { ...bootsFromVolume(input), boot_devices: [{ device: "pxe", persistent: true }] };
    expect(staticResults(input, pxe)["boot-from-volume-writes-nothing"]?.message).toMatch(/boot device to pxe/);
    const noDevice = { ...bootsFromVolume(input), boot_devices: [] };
    expect(staticResults(input, noDevice)["boot-from-volume-writes-nothing"]?.message).toMatch(/never set/);
    const wrongPorts = bootsFromVolume(input);
    wrongPorts.cinder_calls[0]!.connector = { wwpns: ["10000090fa0000ff"], wwnns: input.connectors.wwnns };
    expect(staticResults(input, wrongPorts)["cinder-attach-detach"]?.message).toMatch(/got wwpns \["10000090fa0000ff"\]/);
    const noDetach = {
      ...bootsFromVolume(input),
      cinder_calls: bootsFromVolume(input).cinder_calls.filter((c) => c.method !== "terminate_connection"),
    };
    expect(staticResults(input, noDetach)["cinder-attach-detach"]?.message).toMatch(/detached at power off: none/);
    const external = example("bios-external-storage");
    expect(staticResults(external, bootsFromVolume(external))["cinder-attach-detach"]?.message).toMatch(/external called Cinder/);
  });
});

describe("guest properties against wrong observations", () => {
  const input = example("bios-megasas");
  const [volume] = input.volumes;
  const observation = (role: string, lunWwn: string, port = "500507680b244ac0") =>
    ({
      role,
      bootOrder: ["/pci@i0cf8/raid@5/channel@0/disk@0,0", "HALT"],
      blockDevices: [
        {
          name: "sda",
          bus: "scsi",
          hctl: "2:2:0:0",
          pciBdf: "00:05.0",
          scsiPort: { lunWwn, targetPortWwn: port, relativeTargetPort: 2 },
        },
        {
          name: "sdb",
          bus: "scsi",
          hctl: "2:2:1:0",
          pciBdf: "00:05.0",
          scsiPort: { lunWwn, targetPortWwn: "500507680b214ac1", relativeTargetPort: 1 },
        },
      ],
    }) as never;
  const check = (obs: unknown) =>
    Object.fromEntries(
      hbaBootProperties.map((p) => [p.name, p.check(input, { boot: { name: "boot", observation: obs } as BootRecord })]),
    );

  it("pass on the right LU through both named ports", () => {
    for (const outcome of Object.values(check(observation("volume-0e1f2a3b", volume!.lunWwn)))) expect(outcome.ok).toBe(true);
  });

  it("fail on the wrong role, the wrong LU WWN, a port no record names, and no observation", () => {
    expect(check(observation("volume-other", volume!.lunWwn))["booted-boot-index-0-lu"]?.message).toMatch(
      /booted 'volume-other'/,
    );
    expect(check(observation("volume-0e1f2a3b", "6005076801ffffff"))["booted-boot-index-0-lu"]?.message).toMatch(
      /LU 6005076801800a00/,
    );
    expect(
      check(observation("volume-0e1f2a3b", volume!.lunWwn, "500507680b2fffff"))["sees-volumes-through-named-ports"]?.message,
    ).toMatch(/lacks these paths/);
    expect(check(null)["booted-boot-index-0-lu"]?.ok).toBe(false);
  });
});
