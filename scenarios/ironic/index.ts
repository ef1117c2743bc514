// Ironic scenario 1 (seed spec 002): a node network-boots iPXE from its NIC ROM, fetches the
// script Ironic renders over bootproof's TFTP server and boots from an iSCSI LUN served by
// bootproof's target. Positive variants under BIOS and UEFI, with CHAP, mutual CHAP and an
// extra volume; negative variants (wrong secret, stalled target) that must not pass.
import { defineScenario } from "../../harness/scenario.js";
import { ironicBootPlan } from "./driver.js";
import type { IronicCase, IronicNode, IronicVolumeTarget } from "./model.js";
import { ironicProperties } from "./properties.js";

const INITIATOR = "iqn.2010-04.org.openstack:node-0a1b2c3d";

const volume = (
  volumeId: string,
  bootIndex: number,
  lun: number,
  auth?: Partial<IronicVolumeTarget["properties"]>,
): IronicVolumeTarget => ({
  volumeId,
  bootIndex,
  volumeType: "iscsi",
  properties: { targetIqn: `iqn.2010-10.org.openstack:volume-${volumeId.slice(0, 8)}`, targetLun: lun, ...auth },
});

const node = (bootMode: IronicNode["bootMode"], volumeTargets: IronicVolumeTarget[]): IronicNode => ({
  uuid: "0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d",
  bootMode,
  capabilities: { iscsi_boot: true },
  volumeConnector: { type: "iqn", connectorId: INITIATOR },
  volumeTargets,
});

const BOOT = "6f1e0c2a-9b3d-4e5f-8a7b-1c2d3e4f5a6b";
const DATA = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d";
const chap = { authMethod: "CHAP" as const, authUsername: "node-user", authPassword: "s3cret-for-node" };
const mutual = { ...chap, reverseUsername: "target-user", reversePassword: "target-s3cret-2" };

const cases: Array<{ name: string; input: IronicCase }> = [
  { name: "bios", input: { node: node("bios", [volume(BOOT, 0, 1)]), storage: {} } },
  { name: "uefi", input: { node: node("uefi", [volume(BOOT, 0, 1)]), storage: {} } },
  { name: "bios-chap-extra-volume", input: { node: node("bios", [volume(BOOT, 0, 0, chap), volume(DATA, 1, 2)]), storage: {} } },
  { name: "uefi-mutual-chap", input: { node: node("uefi", [volume(BOOT, 0, 1, mutual)]), storage: {} } },
];

/** Must not pass: the target demands another secret than the node's. */
export const wrongChapCase: IronicCase = {
  node: node("bios", [volume(BOOT, 0, 1, chap)]),
  storage: { targetSecrets: { [BOOT]: "not-the-node-secret" } },
};

/** Must not pass: the target accepts TCP and never answers (iPXE would wait forever). */
export const stalledTargetCase: IronicCase = {
  node: node("bios", [volume(BOOT, 0, 1)]),
  storage: { stallLogin: true },
  deadlineSeconds: 25,
};

export default defineScenario<IronicCase>({
  name: "ironic-iscsi",
  description: "Ironic boot from an iSCSI volume: iPXE + built-in TFTP and iSCSI target, BIOS and UEFI",
  examples: cases,
  boots: (testCase) => [ironicBootPlan(testCase)],
  properties: ironicProperties,
});
