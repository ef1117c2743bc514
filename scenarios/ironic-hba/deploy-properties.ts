// Scenario 4's promises, judged over the deploy's three boots: the image goes onto the boot
// volume (the spec: "Ironic writes the image to the volume", found by the root device hints),
// the deploy writes the disk the agent chose and no other (every write the target saw is
// checked against the choice), and the node then boots the image from that LU through its HBA.
import type { Observation } from "../../firmware/observation.js";
import type { AgentRootDevice } from "../../harness/openstack/ironic.js";
import type { BootRecord, Property } from "../../harness/scenario.js";
import { fail, isOutcome, observedOrFailure, pass } from "../common/outcomes.js";
import { observedSanPaths } from "../common/san-observed.js";
import { bootVolumeOf, type IronicHbaCase } from "./case.js";
import { DEPLOY, deployedRole, deployStateOf, INVENTORY, LOCAL_IQN, localVolumeName, lunVolumeName, REBOOT } from "./deploy.js";
import { hbaFabric, STORAGE_IQN } from "./driver.js";

/** One of the node's disks: SAN volume `index` or local disk `index`. */
export type NodeDisk = { kind: "volume"; index: number } | { kind: "local"; index: number };

/** Which of the node's disks a device of the inventory is (by LU WWN, or a local disk's serial). */
export function diskOfDevice(input: IronicHbaCase, inventory: Observation, device: string): NodeDisk | undefined {
  const observed = inventory.blockDevices.find((d) => `/dev/${d.name}` === device);
  if (!observed) return undefined;
  const wwn = observed.scsiPort?.lunWwn;
  const volume = wwn ? input.volumes.findIndex((v) => v.lunWwn === wwn) : -1;
  if (volume !== -1) return { kind: "volume", index: volume };
  const local = input.localDisks.findIndex((d) => d.serial === observed.serial);
  return local !== -1 ? { kind: "local", index: local } : undefined;
}

export function describeDisk(input: IronicHbaCase, disk: NodeDisk): string {
  if (disk.kind === "local") {
    const local = input.localDisks[disk.index]!;
    return `local disk ${disk.index} (${local.sizeGiB} GiB, serial ${local.serial})`;
  }
  const volume = input.volumes[disk.index]!;
  return `volume ${volume.volumeId} (boot_index ${volume.bootIndex}, LU ${volume.lunWwn}, ${volume.sizeGiB} GiB)`;
}

const describeChoice = (choice: AgentRootDevice) =>
  choice.rule === "hints"
    ? `the root device hints ${JSON.stringify(choice.hints)}`
    : "its default, the smallest disk of at least 4 GiB";

/** The target LU a disk is served as: "<iqn> lun <n>", as BootRecord.lunChanges names it. */
function lunKey(input: IronicHbaCase, disk: NodeDisk): string {
  if (disk.kind === "local") return `${LOCAL_IQN} lun ${disk.index}`;
  const { decision } = deployStateOf(input)!;
  return `${STORAGE_IQN} lun ${hbaFabric(input, decision).lus[disk.index]!.lun}`;
}

const volumeName = (disk: NodeDisk) => (disk.kind === "local" ? localVolumeName(disk.index) : lunVolumeName(disk.index));

/** The agent's choice as one of the node's disks, or the failure that stops the deploy first. */
function chosenDisk(input: IronicHbaCase, boots: Record<string, BootRecord>): NodeDisk | ReturnType<typeof fail> {
  const inventory = boots[INVENTORY];
  if (!inventory) return fail("the deploy ramdisk's inventory boot did not run");
  const observation = observedOrFailure(inventory);
  if (isOutcome(observation)) return observation;
  const choice = deployStateOf(input)?.choice;
  if (!choice) return fail("the deploy agent made no choice of disk");
  if (choice.error) return fail(`the deploy agent's matcher raised ${choice.error.type}: ${choice.error.message}`);
  if (!choice.device)
    return fail(`the deploy agent finds no disk by ${describeChoice(choice)}: the deploy fails before writing the image`);
  const disk = diskOfDevice(input, observation, choice.device);
  if (!disk) return fail(`the deploy agent chose ${choice.device}, which is none of the node's disks`);
  return disk;
}

const isDisk = (value: NodeDisk | ReturnType<typeof fail>): value is NodeDisk => "kind" in value;

const imageOnBootVolume: Property<IronicHbaCase> = {
  name: "image-written-to-boot-volume",
  description:
    "scenario 4: the deploy agent writes the image onto the boot_index 0 volume (the spec: Ironic writes the image to the volume, found by the root device hints)",
  check: (input, boots) => {
    if (!(DEPLOY in boots) && !deployStateOf(input)) return pass(); // not a scenario-4 deploy
    const disk = chosenDisk(input, boots);
    if (!isDisk(disk)) return disk;
    const boot = bootVolumeOf(input)!;
    const bootIndex = input.volumes.indexOf(boot);
    if (disk.kind === "volume" && disk.index === bootIndex) return pass();
    const choice = deployStateOf(input)!.choice!;
    // Ironic knows the boot volume's identity (its target record) but derives no hint from
    // it, and accepts operator hints that select another disk.
    const why =
      choice.rule === "hints"
        ? "Ironic accepted root device hints that select another disk for a boot from volume"
        : "Ironic gave the agent no root device hint naming it";
    return fail(
      `the deploy agent chose ${choice.device}, ${describeDisk(input, disk)}, by ${describeChoice(choice)}; the boot_index 0 volume is ${describeDisk(input, { kind: "volume", index: bootIndex })}: ${why}`,
    );
  },
};

const writesOnlyChosenDisk: Property<IronicHbaCase> = {
  name: "deploy-writes-only-the-chosen-disk",
  description:
    "scenario 4: the deploy writes the image onto the disk the agent chose (its first bytes are the image) and not one byte to any other disk (every write the target saw)",
  check: (input, boots) => {
    if (!deployStateOf(input)) return pass();
    const disk = chosenDisk(input, boots);
    if (!isDisk(disk)) return pass(); // image-written-to-boot-volume says why nothing was written
    const deploy = boots[DEPLOY];
    if (!deploy) return fail("the deploy boot did not run");
    const observation = observedOrFailure(deploy);
    if (isOutcome(observation)) return observation;
    if (!observation.deploy) return fail("the deploy ramdisk reports no deploy (bootproof.deploy_image= was not seen)");
    if (observation.deploy.error) return fail(`the deploy ramdisk failed: ${observation.deploy.error}`);
    const want = lunKey(input, disk);
    const changed = Object.entries(deploy.lunChanges ?? {});
    const others = changed.filter(([key]) => key !== want);
    if (others.length > 0)
      return fail(
        `the deploy wrote disks the agent did not choose: ${others
          .map(
            ([key, c]) =>
              `${key} (${c.bytes} bytes at ${c.ranges
                .slice(0, 3)
                .map(([o, l]) => `${o}+${l}`)
                .join(", ")})`,
          )
          .join("; ")}`,
      );
    // The target saw the image arrive on the chosen disk: the writes were not lost on the way.
    const written = changed.find(([key]) => key === want)?.[1].bytes ?? 0;
    if (written < observation.deploy.bytes)
      return fail(
        `the target saw ${written} bytes written to ${describeDisk(input, disk)} (${want}); the image has ${observation.deploy.bytes}`,
      );
    const imageOn = (deploy.inspection?.imageOn as string[] | undefined) ?? [];
    if (!imageOn.includes(volumeName(disk)))
      return fail(`${describeDisk(input, disk)} does not begin with the image after the deploy (${written} bytes written)`);
    return pass();
  },
};

const bootsDeployedImage: Property<IronicHbaCase> = {
  name: "boots-deployed-image",
  description:
    "scenario 4: after the deploy the node's HBA BIOS boots the image from the boot_index 0 volume: the image's role marker, and the booted path's LU WWN",
  check: (input, boots) => {
    if (!deployStateOf(input)) return pass();
    const reboot = boots[REBOOT];
    if (!reboot) return pass(); // the deploy never finished: the properties above say why
    const volume = bootVolumeOf(input)!;
    if (!reboot.observation)
      return fail(
        `the node's HBA BIOS booted nothing from the boot_index 0 volume (LU ${volume.lunWwn}) after the deploy: ${reboot.failure ?? "no observation"}`,
      );
    const observation = reboot.observation;
    if (observation.role !== deployedRole(input))
      return fail(`after the deploy the node booted '${observation.role}', the deployed image is '${deployedRole(input)}'`);
    const booted = observedSanPaths(observation).find((p) => p.booted);
    if (!booted || booted.lunWwn !== volume.lunWwn)
      return fail(
        `after the deploy the firmware booted ${booted ? `LU ${booted.lunWwn}` : "no SAN path"}; the boot_index 0 volume is LU ${volume.lunWwn}`,
      );
    return pass();
  },
};

export const deployProperties: Array<Property<IronicHbaCase>> = [imageOnBootVolume, writesOnlyChosenDisk, bootsDeployedImage];
