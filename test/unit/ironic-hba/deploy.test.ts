// Scenario 4's pure parts: the disks as the agent's matcher sees them, the three boots of a
// deploy and what each runs on, and each deploy property against a deliberately wrong record
// (the image on another disk, a stray write, lost writes, the wrong image booted).
import { describe, expect, it } from "vitest";
import type { IronicDecision } from "../../../harness/openstack/ironic.js";
import type { BootRecord } from "../../../harness/scenario.js";
import type { IronicHbaCase } from "../../../scenarios/ironic-hba/case.js";
import {
  agentDevices,
  DEPLOY,
  deployBoots,
  deployedRole,
  INVENTORY,
  LOCAL_IQN,
  REBOOT,
  recordDeployState,
} from "../../../scenarios/ironic-hba/deploy.js";
import { deployProperties } from "../../../scenarios/ironic-hba/deploy-properties.js";
import { STORAGE_IQN } from "../../../scenarios/ironic-hba/driver.js";
import { ironicHbaExamples } from "../../../scenarios/ironic-hba/index.js";
import { attachedProperties } from "./decisions.js";

const example = (name: string): IronicHbaCase => structuredClone(ironicHbaExamples.find((e) => e.name === name)!.input);
const GiB = 1024 ** 3;

/** Ironic waiting for its agent after accepting a scenario 4 node (the worker's shape). */
function writesImage(input: IronicHbaCase): IronicDecision {
  return {
    stages: [{ stage: "storage.validate", ok: true }],
    should_write_image: true,
    deploy_wait: "deploy",
    attached_properties: attachedProperties(input),
    cinder_calls: [],
    boot_devices: [{ device: "pxe", persistent: false }],
  };
}

const input = example("bios-deploy-wwn-hint");
const [volume] = input.volumes;
const bootLun = `${STORAGE_IQN} lun ${volume!.targetLun}`;
const localLun = `${LOCAL_IQN} lun 0`;

/** One path to the 8 GiB boot LU, as the probe reports a SCSI disk. */
const sanPath = (name: string, hctl: string, targetPortWwn: string, relativeTargetPort: number) => ({
  name,
  bus: "scsi",
  sizeBytes: 8 * GiB,
  hctl,
  pciBdf: "00:05.0",
  serial: "s",
  vendor: "QEMU",
  model: "QEMU HARDDISK",
  removable: false,
  readOnly: false,
  scsiPort: { lunWwn: volume!.lunWwn, targetPortWwn, relativeTargetPort },
});

/** The deploy ramdisk's inventory: two paths to the boot LU and the local disk. */
const inventory = {
  role: "deploy-ramdisk",
  bootOrder: null,
  deploy: null,
  blockDevices: [
    sanPath("sdb", "2:0:1:2", "500507680b244ac0", 2),
    sanPath("sda", "2:0:0:2", "500507680b214ac1", 1),
    {
      name: "vda",
      bus: "virtio",
      sizeBytes: 4 * GiB,
      hctl: null,
      pciBdf: "00:0c.0",
      serial: "LOCAL0SSD",
      vendor: null,
      model: null,
      removable: false,
      readOnly: false,
      scsiPort: null,
    },
    {
      name: "sr0",
      bus: "scsi",
      sizeBytes: 0,
      hctl: null,
      pciBdf: null,
      serial: null,
      vendor: null,
      model: null,
      removable: true,
      readOnly: true,
      scsiPort: null,
    },
  ],
} as never;

const IMAGE_BYTES = 64 << 20;
const records = (over: {
  device?: string;
  changes?: BootRecord["lunChanges"];
  imageOn?: string[];
  rebootRole?: string | null;
}) => {
  recordDeployState(input, {
    decision: writesImage(input),
    choice: { rule: "hints", hints: { wwn: `0x${volume!.lunWwn}` }, device: over.device ?? "/dev/sda" },
  });
  const deployObservation = {
    role: "deploy-ramdisk",
    deploy: { disk: over.device ?? "/dev/sda", image: "http://x/i", bytes: IMAGE_BYTES, sha256: "ab" },
    blockDevices: [],
    bootOrder: null,
  };
  const reboot =
    over.rebootRole === null
      ? { name: REBOOT, observation: null, failure: "firmware found nothing to boot" }
      : {
          name: REBOOT,
          observation: {
            role: over.rebootRole ?? deployedRole(input),
            bootOrder: ["/pci@i0cf8/scsi@5/channel@0/disk@0,2", "HALT"],
            blockDevices: [
              {
                name: "sda",
                bus: "scsi",
                hctl: "2:0:0:2",
                pciBdf: "00:05.0",
                scsiPort: { lunWwn: volume!.lunWwn, targetPortWwn: "500507680b214ac1", relativeTargetPort: 1 },
              },
            ],
          },
        };
  return {
    [INVENTORY]: { name: INVENTORY, observation: inventory },
    [DEPLOY]: {
      name: DEPLOY,
      observation: deployObservation,
      lunChanges: over.changes ?? { [bootLun]: { bytes: IMAGE_BYTES, ranges: [[0, IMAGE_BYTES]] } },
      inspection: { imageOn: over.imageOn ?? ["lu0"] },
    },
    [REBOOT]: reboot,
  } as unknown as Record<string, BootRecord>;
};
const check = (boots: Record<string, BootRecord>) =>
  Object.fromEntries(deployProperties.map((p) => [p.name, p.check(input, boots)]));

describe("the agent's view of the inventory", () => {
  it("lists every writable disk by /dev name in name order, with udev's WWN (0x + the LU NAA) and the unit serial", () => {
    const devices = agentDevices(inventory);
    expect(devices.map((d) => d.name)).toEqual(["/dev/sda", "/dev/sdb", "/dev/vda"]);
    expect(devices[0]).toMatchObject({ size: 8 * GiB, wwn: `0x${volume!.lunWwn}`, hctl: "2:0:0:2", vendor: "QEMU" });
    expect(devices[2]).toMatchObject({ size: 4 * GiB, wwn: null, serial: "LOCAL0SSD" });
  });
});

describe("the deploy's boots", () => {
  it("inventory, write, reboot: the two deploy boots boot the ramdisk directly with no boot LU, the reboot boots the LU", () => {
    const plans = deployBoots(input, writesImage(input));
    expect(plans.map((p) => p.name)).toEqual([INVENTORY, DEPLOY, REBOOT]);
    const endpoints = {
      sanPortals: [
        { host: "127.0.0.1", port: 4000 },
        { host: "127.0.0.1", port: 4001 },
      ],
      http: { host: "10.0.2.2", port: 8080 },
    };
    const topology = (i: number) =>
      (
        plans[i]!.topology as (e: typeof endpoints) => {
          directBoot?: unknown;
          machine: { disks?: Array<{ kind: string; bootIndex?: number }>; nics?: unknown[] };
        }
      )(endpoints);
    expect(topology(0).directBoot).toEqual({ role: "deploy-ramdisk" });
    expect(topology(0).machine.disks?.some((d) => d.bootIndex !== undefined)).toBe(false);
    expect(topology(2).directBoot).toBeUndefined();
    expect(topology(2).machine.disks?.filter((d) => d.bootIndex === 0)).toHaveLength(1);
    // Every boot has the same devices, so the image's probe fits the machine it boots on.
    expect(topology(2).machine.disks?.map((d) => d.kind)).toEqual(topology(0).machine.disks?.map((d) => d.kind));
    expect(topology(0).machine.disks?.filter((d) => d.kind === "virtio-blk")).toHaveLength(1);
    // The LUs are case volumes, shared by the three boots; only the write boot serves the image.
    const lun = (i: number) => plans[i]!.services!.iscsi!.targets[0]!.luns[0]!;
    expect(lun(0).volume).toBe(lun(2).volume);
    expect(lun(0).volume?.sizeBytes).toBe(8 * GiB);
    expect(plans[1]!.services!.iscsi!.targets[1]!.iqn).toBe(LOCAL_IQN);
    expect(plans[0]!.services!.http).toBeUndefined();
    expect(plans[1]!.services!.http!.files(endpoints as never)).toEqual({
      "images/instance.raw": { media: { kind: "bios-disk", role: deployedRole(input) } },
    });
    // No choice yet: the write boot does not run.
    expect(plans[1]!.runIf!({})).toBe(false);
    for (const p of plans) void p.release?.();
  });
});

describe("deploy properties against wrong records", () => {
  it("pass when the hinted boot volume got the image, nothing else was written, and the node booted it", () => {
    for (const [name, outcome] of Object.entries(check(records({}))))
      expect(outcome.ok, `${name}: ${outcome.message}`).toBe(true);
  });

  it("image on a local disk: the spec's boot-volume promise fails, naming the disk and the rule", () => {
    const results = check(
      records({
        device: "/dev/vda",
        changes: { [localLun]: { bytes: IMAGE_BYTES, ranges: [[0, IMAGE_BYTES]] } },
        imageOn: ["local0"],
        rebootRole: null,
      }),
    );
    expect(results["image-written-to-boot-volume"]?.message).toMatch(
      /chose \/dev\/vda, local disk 0 \(4 GiB, serial LOCAL0SSD\)/,
    );
    // The agent did write where it chose, and nothing else.
    expect(results["deploy-writes-only-the-chosen-disk"]?.ok).toBe(true);
    expect(results["boots-deployed-image"]?.message).toMatch(/booted nothing from the boot_index 0 volume/);
  });

  it("a write to another disk, writes the target never saw, and a volume not holding the image each fail", () => {
    const stray = check(
      records({
        changes: {
          [bootLun]: { bytes: IMAGE_BYTES, ranges: [[0, IMAGE_BYTES]] },
          [localLun]: { bytes: 4096, ranges: [[1048576, 4096]] },
        },
      }),
    );
    expect(stray["deploy-writes-only-the-chosen-disk"]?.message).toMatch(
      /wrote disks the agent did not choose: .*lun 0 \(4096 bytes at 1048576\+4096\)/,
    );
    expect(check(records({ changes: {} }))["deploy-writes-only-the-chosen-disk"]?.message).toMatch(/target saw 0 bytes/);
    expect(check(records({ imageOn: [] }))["deploy-writes-only-the-chosen-disk"]?.message).toMatch(
      /does not begin with the image/,
    );
  });

  it("the wrong image booted after the deploy fails", () => {
    expect(check(records({ rebootRole: "volume-0e1f2a3b" }))["boots-deployed-image"]?.message).toMatch(
      /booted 'volume-0e1f2a3b', the deployed image is 'deployed-7c1d2e3f'/,
    );
  });
});
