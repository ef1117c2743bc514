// Seed 002 scenario 4: Ironic decided to write the image, so the node's disks live across
// three boots of one case, as case volumes behind bootproof's target:
//   1. deploy-inventory: the deploy ramdisk (the probe, booted directly as PXE would load it)
//      reports the disks it sees: the SAN LUs through the HBAs and the node's local disks;
//   2. deploy-write: the agent's choice — ironic-lib's matcher with the node's root device
//      hints, or ironic-python-agent's default (the smallest disk of at least 4 GiB), in the
//      Ironic worker — and the ramdisk writes the image (a bootable disk with its own role
//      marker, served over HTTP) onto that disk;
//   3. boot-deployed: the node reboots and its HBA BIOS boots the boot_index 0 LU.
// Local disks are virtio disks whose drives are LUs of a second target, so the target sees
// every write the deploy makes to any disk.

import { readFile } from "node:fs/promises";
import type { MachineInput } from "../../emulator/machine.js";
import type { Observation } from "../../firmware/observation.js";
import {
  type AgentBlockDevice,
  type AgentRootDevice,
  agentRootDevice,
  type IronicDecision,
} from "../../harness/openstack/ironic.js";
import type { AnyBootRecord, BootPlan, BootRecord, GuestEndpoints, ServicesPlan, Topology } from "../../harness/scenario.js";
import { CaseVolumes } from "../../harness/services/case-volumes.js";
import { type SanFabric, sanMachine, sanServices } from "../common/san-fabric.js";
import { type IronicHbaCase, volumeSerial } from "./case.js";
import { decisionArtifacts, hbaFabric } from "./driver.js";

export const INVENTORY = "deploy-inventory";
export const DEPLOY = "deploy-write";
export const REBOOT = "boot-deployed";
export const LOCAL_IQN = "iqn.2024-01.dev.bootproof:node-local-disks";
export const IMAGE_PATH = "images/instance.raw";
const GiB = 1024 ** 3;
const NIC_SLOT = 3;
const FIRST_LOCAL_SLOT = 12;

/** The role marker of the image Ironic deploys: what the node boots after a good deploy. */
export const deployedRole = (input: IronicHbaCase) => `deployed-${input.node.uuid.slice(0, 8)}`;

/** The case volume of SAN volume `index` and of local disk `index`. */
export const lunVolumeName = (index: number) => `lu${index}`;
export const localVolumeName = (index: number) => `local${index}`;

/** What the deploy decided and found, for the properties. */
export interface DeployState {
  decision: IronicDecision;
  /** The disks as the deploy ramdisk described them to the agent's matcher. */
  devices?: AgentBlockDevice[];
  choice?: AgentRootDevice;
}

const states = new WeakMap<IronicHbaCase, DeployState>();
export function deployStateOf(input: IronicHbaCase): DeployState | undefined {
  return states.get(input);
}
export function recordDeployState(input: IronicHbaCase, state: DeployState): void {
  states.set(input, state);
}

/**
 * A disk of the inventory as ironic-python-agent describes it: /dev name, size in bytes,
 * udev's identities (ID_WWN is the LU's NAA with 0x, ID_SERIAL_SHORT its unit serial).
 */
export function agentDevices(observation: Observation): AgentBlockDevice[] {
  return observation.blockDevices
    .filter((d) => !d.removable && !d.readOnly && d.sizeBytes > 0)
    .map((d) => {
      const wwn = d.scsiPort?.lunWwn ? `0x${d.scsiPort.lunWwn}` : null;
      return {
        name: `/dev/${d.name}`,
        size: d.sizeBytes,
        model: d.model,
        vendor: d.vendor,
        serial: d.serial,
        wwn,
        wwn_with_extension: wwn,
        wwn_vendor_extension: null,
        hctl: d.hctl,
        by_path: null,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name, "en", { numeric: true }));
}

/** The node's fabric for the deploy's boots: LUs on case volumes, the boot path only when `bootPaths`. */
function deployFabric(input: IronicHbaCase, decision: IronicDecision, bootPaths: boolean): SanFabric {
  const fabric = hbaFabric(input, decision);
  return {
    ...fabric,
    lus: fabric.lus.map((lu, index) => ({ ...lu, serial: volumeSerial(input.volumes[index]!) })),
    paths: bootPaths ? fabric.paths : fabric.paths.map(({ bootIndex: _, ...p }) => p),
    deadlineMs: input.node.bootMode === "uefi" ? 150_000 : 120_000,
  };
}

function deployServices(input: IronicHbaCase, fabric: SanFabric, volumes: CaseVolumes, serveImage: boolean): ServicesPlan {
  const san = sanServices(fabric).iscsi!;
  const target = san.targets[0]!;
  const luns = target.luns.map((lun, index) => {
    const volume = input.volumes[index]!;
    return { ...lun, volume: volumes.volume(lunVolumeName(index), volume.sizeGiB * GiB) };
  });
  const local = input.localDisks.map((disk, index) => ({
    lun: index,
    media: { kind: "blank" as const, sizeMiB: 1 },
    volume: volumes.volume(localVolumeName(index), disk.sizeGiB * GiB),
  }));
  const image = {
    kind: input.node.bootMode === "uefi" ? ("uefi-disk" as const) : ("bios-disk" as const),
    role: deployedRole(input),
  };
  return {
    iscsi: { ...san, targets: [{ ...target, luns }, ...(local.length ? [{ iqn: LOCAL_IQN, luns: local }] : [])] },
    ...(serveImage ? { http: { files: () => ({ [IMAGE_PATH]: { media: image } }) } } : {}),
  };
}

/** The SAN machine plus the node's NIC and its local disks (drives on the second target). */
function deployMachine(input: IronicHbaCase, fabric: SanFabric, endpoints: GuestEndpoints): MachineInput {
  const machine = sanMachine(fabric, endpoints);
  const portal = endpoints.sanPortals?.[0];
  return {
    ...machine,
    memoryMiB: 768,
    drives: [
      ...(machine.drives ?? []),
      ...input.localDisks.map((_, index) => ({
        id: `d-local${index}`,
        file: "",
        iscsi: { host: portal?.host ?? "127.0.0.1", port: portal?.port ?? 1, target: LOCAL_IQN, lun: index },
      })),
    ],
    disks: [
      ...(machine.disks ?? []),
      ...input.localDisks.map((disk, index) => ({
        kind: "virtio-blk" as const,
        id: `local${index}`,
        drive: `d-local${index}`,
        serial: disk.serial,
        pciSlot: FIRST_LOCAL_SLOT + index,
      })),
    ],
    // The deploy ramdisk's network (user-mode: the conductor's HTTP server at 10.0.2.2), no ROM.
    nics: [...(machine.nics ?? []), { id: "net0", model: "virtio-net-pci" as const, romFile: "none", pciSlot: NIC_SLOT }],
  };
}

/** Which case volumes begin with the served image, after the deploy boot. */
async function volumesHoldingImage(record: BootRecord, volumes: CaseVolumes) {
  const served = record.servedMedia?.[IMAGE_PATH];
  if (!served) return { imageOn: [] as string[] };
  const image = await readFile(served.path);
  return {
    imageBytes: image.length,
    imageOn: volumes
      .list()
      .filter((volume) => volumes.startsWith(volume, image))
      .map((volume) => volume.name),
  };
}

const observed = (record: AnyBootRecord | undefined) => record?.observation ?? null;

/** The three boots of a scenario-4 deploy, sharing the node's disks. */
export function deployBoots(input: IronicHbaCase, decision: IronicDecision): BootPlan[] {
  const volumes = new CaseVolumes();
  const state: DeployState = { decision };
  states.set(input, state);
  const inventoryFabric = deployFabric(input, decision, false);
  const rebootFabric = deployFabric(input, decision, true);
  const directBoot = (extraCmdline?: string) => ({ role: "deploy-ramdisk", ...(extraCmdline ? { extraCmdline } : {}) });
  const deployTopology =
    (extraCmdline: (endpoints: GuestEndpoints) => string | undefined) =>
    (endpoints: GuestEndpoints): Topology => ({
      machine: deployMachine(input, inventoryFabric, endpoints),
      directBoot: directBoot(extraCmdline(endpoints)),
      deadlineMs: inventoryFabric.deadlineMs,
    });
  const artifacts = () => decisionArtifacts(decision);
  return [
    {
      name: INVENTORY,
      services: deployServices(input, inventoryFabric, volumes, false),
      topology: deployTopology(() => undefined),
      artifacts,
    },
    {
      name: DEPLOY,
      services: deployServices(input, inventoryFabric, volumes, true),
      before: async (earlier) => {
        const inventory = observed(earlier[INVENTORY]);
        if (!inventory) return;
        state.devices = agentDevices(inventory);
        state.choice = await agentRootDevice({
          devices: state.devices,
          ...(input.rootDevice?.source === "instance_info" ? { instance_info_root_device: input.rootDevice.hints } : {}),
          ...(input.rootDevice?.source === "properties" ? { properties_root_device: input.rootDevice.hints } : {}),
        });
      },
      // No disk the agent would take: its deploy fails before writing (the properties say so).
      runIf: () => typeof state.choice?.device === "string",
      topology: deployTopology((endpoints) =>
        state.choice?.device
          ? `ip=dhcp bootproof.deploy_disk=${state.choice.device} bootproof.deploy_image=http://${endpoints.http?.host ?? "10.0.2.2"}:${endpoints.http?.port ?? 0}/${IMAGE_PATH}`
          : undefined,
      ),
      inspect: (record) => volumesHoldingImage(record, volumes),
      artifacts: () => ({
        ...artifacts(),
        "agent-root-device.json": `${JSON.stringify({ devices: state.devices, choice: state.choice }, null, 2)}\n`,
      }),
    },
    {
      name: REBOOT,
      services: deployServices(input, rebootFabric, volumes, false),
      runIf: (earlier) => {
        const deploy = observed(earlier[DEPLOY])?.deploy;
        return deploy !== undefined && deploy !== null && deploy.error === undefined;
      },
      topology: (endpoints) => ({
        machine: deployMachine(input, rebootFabric, endpoints),
        deadlineMs: rebootFabric.deadlineMs,
      }),
      artifacts,
      release: () => volumes.release(),
    },
  ];
}
