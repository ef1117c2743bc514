// ironic-iscsi on the real driver: Debian's Ironic conductor code decides the node's boot from
// volume and writes its iPXE boot; real iPXE in a real guest boots what Ironic wrote, served
// over HTTP by bootproof, from bootproof's iSCSI target behind the portals Cinder named.
import { stopAllWorkers } from "../../../harness/openstack/worker.js";
import { type BootRecord, defineScenario, type Scenario } from "../../../harness/scenario.js";
import { ironicRealCaseArbitrary } from "./arbitraries.js";
import type { IronicChap, IronicRealCase, IronicVolume } from "./case.js";
import { realIronicBoots } from "./driver.js";
import { realIronicBootProperties } from "./properties.js";
import { realIronicStaticProperties } from "./static-properties.js";

const NODE_UUID = "0a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";
const BOOT = "6f1e0c2a-9b3d-4e5f-8a7b-1c2d3e4f5a6b";
const DATA = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f2a3b4c5d";
const PORTAL = { host: "10.0.2.100", port: 3260, family: 4 as const };
const chap: IronicChap = { username: "node-user", password: "s3cret-for-node" };

const volume = (volumeId: string, bootIndex: number, lun: number, auth?: IronicChap): IronicVolume => ({
  volumeId,
  bootIndex,
  connection: {
    targetIqn: `iqn.2010-10.org.openstack:volume-${volumeId.slice(0, 8)}`,
    targetLun: lun,
    portals: [PORTAL],
    listForm: false,
    ...(auth ? { chap: auth } : {}),
  },
});

const node = (
  bootMode: "bios" | "uefi",
  volumes: IronicVolume[],
  storageInterface: "cinder" | "external" = "cinder",
): IronicRealCase => ({
  node: {
    uuid: NODE_UUID,
    bootMode,
    iscsiBoot: "true",
    storageInterface,
    deployInterface: "direct",
    imageSource: false,
    targetRegistration: "with-connection",
  },
  connector: { connectorId: "iqn.2010-04.org.openstack:node-0a1b2c3d" },
  volumes,
  storage: {},
});

export const realIronicExamples: Array<{ name: string; input: IronicRealCase }> = [
  { name: "bios", input: node("bios", [volume(BOOT, 0, 1)]) },
  { name: "uefi", input: node("uefi", [volume(BOOT, 0, 1)]) },
  {
    name: "bios-chap-extra-volume",
    input: node("bios", [volume(BOOT, 0, 0, chap), volume(DATA, 1, 2, { username: "data-user", password: "data-s3cret-22" })]),
  },
  { name: "bios-external-storage", input: node("bios", [volume(BOOT, 0, 3)], "external") },
];

/** Must not pass: the target demands another secret than the one Cinder gave the node. */
export const realWrongChapCase: IronicRealCase = {
  ...node("bios", [volume(BOOT, 0, 1, chap)]),
  storage: { targetSecrets: { [BOOT]: "not-the-node-secret" } },
};

/** Must not pass: the target accepts TCP and never answers a login. */
export const realStalledTargetCase: IronicRealCase = { ...node("bios", [volume(BOOT, 0, 1)]), storage: { stallLogin: true } };

export type RealIronicScenario = Scenario<IronicRealCase, BootRecord>;

export function realIronicScenario(name = "ironic-iscsi"): RealIronicScenario {
  return defineScenario<IronicRealCase>({
    name,
    description:
      "Ironic boot from an iSCSI volume on the real driver: Ironic's conductor code validates, attaches through its Cinder client and writes the node's iPXE boot; real iPXE boots it over HTTP from bootproof's iSCSI target",
    driverLabel: "real Ironic (python3-ironic)",
    examples: realIronicExamples,
    arbitrary: ironicRealCaseArbitrary,
    boots: realIronicBoots,
    properties: realIronicBootProperties,
    staticProperties: realIronicStaticProperties,
    bootDespiteStaticFailures: true,
    staticRuns: 1000,
    close: () => stopAllWorkers(),
  });
}

export default realIronicScenario();
