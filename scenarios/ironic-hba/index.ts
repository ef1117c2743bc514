// ironic-hba (seed 002, scenario 3) on real Ironic: Debian's Ironic conductor code decides a
// node's boot from a Fibre Channel volume (validation, should_write_image, attach through its
// Cinder client with the node's WWPNs, the boot device it leaves); when it boots the node from
// the volume, the node's HBAs see bootproof's LUs with FC identities and the firmware boots the
// pre-populated boot_index 0 LU through the HBA.
import type { ScsiControllerKind } from "../../emulator/machine.js";
import { stopAllWorkers } from "../../harness/openstack/worker.js";
import { defineScenario, type Scenario } from "../../harness/scenario.js";
import { ironicHbaCaseArbitrary } from "./arbitraries.js";
import type { HbaVolume, IronicHbaCase } from "./case.js";
import { realHbaBoots } from "./driver.js";
import { hbaBootProperties } from "./properties.js";
import { hbaStaticProperties } from "./static-properties.js";

const NODE_UUID = "7c1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f";
const BOOT = "0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b";
const DATA = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

const volume = (volumeId: string, bootIndex: number, targetLun: number, targetPorts: number[]): HbaVolume => ({
  volumeId,
  bootIndex,
  targetLun,
  lunWwn: `600507680180${bootIndex.toString(16)}a${targetLun.toString(16).padStart(2, "0")}`,
  targetPorts,
  sizeGiB: 4,
});

const node = (
  bootMode: "bios" | "uefi",
  hba: ScsiControllerKind,
  volumes: HbaVolume[],
  storageInterface: "cinder" | "external" = "cinder",
): IronicHbaCase => ({
  node: {
    uuid: NODE_UUID,
    bootMode,
    hbaBoot: "true",
    fibreChannelBoot: "true",
    storageInterface,
    imageSource: false,
    forceDeployment: false,
    targetRegistration: "with-connection",
  },
  hba,
  connectors: { wwpns: ["10000090fa000001"], wwnns: ["20000090fa000001"] },
  volumes,
  localDisks: [],
});

/** Scenario 4: Ironic writes the image (force_deployment, an image), the hints name the boot volume. */
const deployNode = (
  bootMode: "bios" | "uefi",
  volumes: HbaVolume[],
  rootDevice: IronicHbaCase["rootDevice"],
  localDisks: IronicHbaCase["localDisks"],
): IronicHbaCase => {
  const base = node(bootMode, "virtio-scsi-pci", volumes);
  return {
    ...base,
    node: { ...base.node, imageSource: true, forceDeployment: true },
    localDisks,
    ...(rootDevice ? { rootDevice } : {}),
  };
};
const sized = (volume: HbaVolume, sizeGiB: number): HbaVolume => ({ ...volume, sizeGiB });

export const ironicHbaExamples: Array<{ name: string; input: IronicHbaCase }> = [
  {
    name: "bios-virtio-scsi-data-volume",
    input: node("bios", "virtio-scsi-pci", [volume(BOOT, 0, 3, [0, 1]), volume(DATA, 1, 7, [1])]),
  },
  // megasas boots LUN 0 only (SeaBIOS), and the guest's megaraid_sas shows no other LUN.
  { name: "bios-megasas", input: node("bios", "megasas", [volume(BOOT, 0, 0, [1, 0])]) },
  { name: "uefi-virtio-scsi", input: node("uefi", "virtio-scsi-pci", [volume(BOOT, 0, 1, [1])]) },
  { name: "bios-external-storage", input: node("bios", "lsi53c895a", [volume(BOOT, 0, 0, [0])], "external") },
  // Scenario 4. A local disk smaller than the volume, both candidates: the hint decides.
  {
    name: "bios-deploy-wwn-hint",
    input: deployNode(
      "bios",
      [sized(volume(BOOT, 0, 2, [0, 1]), 8)],
      { source: "properties", hints: { wwn: "0x6005076801800a02" } },
      [{ sizeGiB: 4, serial: "LOCAL0SSD" }],
    ),
  },
  {
    name: "uefi-deploy-serial-hint",
    input: deployNode(
      "uefi",
      [sized(volume(BOOT, 0, 1, [1]), 5)],
      { source: "instance_info", hints: { serial: BOOT.replace(/-/g, "").slice(0, 20) } },
      [{ sizeGiB: 4, serial: "LOCAL0SSD" }],
    ),
  },
];

export function ironicHbaScenario(): Scenario<IronicHbaCase> {
  return defineScenario<IronicHbaCase>({
    name: "ironic-hba",
    description:
      "Ironic boot from a Fibre Channel volume through the node's HBA (seed 002, scenarios 3 and 4) on real Ironic: its conductor code validates and attaches through its Cinder client with the node's WWPNs; scenario 3 boots the pre-populated LU through a SCSI HBA with FC identities, scenario 4 lets the deploy ramdisk write the image onto the disk ironic-lib's matcher picks and boots it",
    driverLabel: "real Ironic (python3-ironic)",
    examples: ironicHbaExamples,
    arbitrary: ironicHbaCaseArbitrary,
    boots: realHbaBoots,
    properties: hbaBootProperties,
    staticProperties: hbaStaticProperties,
    bootDespiteStaticFailures: true,
    staticRuns: 500,
    close: () => stopAllWorkers(),
  });
}

export default ironicHbaScenario();
