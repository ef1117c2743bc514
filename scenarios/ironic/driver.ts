// A model of Ironic's iPXE boot interface for iSCSI boot from volume: validates the node as
// Ironic does, renders the iPXE script of ipxe_config.template (:boot_iscsi) and describes
// the machine: a NIC whose iPXE ROM fetches that script over TFTP and boots from the SAN.
import { renderSanBootScript } from "../../firmware/ipxe/index.js";
import type { MediaSpec } from "../../firmware/media/spec.js";
import type { BootPlan, GuestEndpoints, IscsiTargetPlan, Topology } from "../../harness/scenario.js";
import { type IronicCase, type IronicNode, type IronicVolumeTarget, volumeRole, volumeSerial } from "./model.js";
import { nodeMachine } from "./node-machine.js";

export const SCRIPT_NAME = "boot.ipxe";

/** What Ironic's validate() refuses, with its reasons. */
export function validateNode(node: IronicNode): string[] {
  const problems: string[] = [];
  if (!node.capabilities.iscsi_boot) problems.push("node.properties.capabilities lacks iscsi_boot=true");
  if (!node.volumeTargets.some((t) => t.bootIndex === 0)) problems.push("no volume target has boot_index 0");
  const indexes = node.volumeTargets.map((t) => t.bootIndex);
  if (new Set(indexes).size !== indexes.length) problems.push("volume targets share a boot_index");
  if (node.volumeConnector.type !== "iqn") problems.push("the volume connector is not an iqn connector");
  for (const t of node.volumeTargets) {
    if (t.properties.authMethod === "CHAP" && (!t.properties.authUsername || !t.properties.authPassword)) {
      problems.push(`volume target ${t.volumeId}: auth_method CHAP needs auth_username and auth_password`);
    }
  }
  return problems;
}

export const bootVolume = (node: IronicNode) => node.volumeTargets.find((t) => t.bootIndex === 0)!;

function lunMedia(node: IronicNode, target: IronicVolumeTarget): MediaSpec {
  // The boot volume carries a bootable image; other volumes are data volumes.
  if (target.bootIndex !== 0) return { kind: "blank", sizeMiB: 8 };
  return { kind: node.bootMode === "uefi" ? "uefi-disk" : "bios-disk", role: volumeRole(target) };
}

/** The storage backend as Cinder would export it: one target per volume. */
export function storageTargets(testCase: IronicCase): IscsiTargetPlan[] {
  return testCase.node.volumeTargets.map((target) => {
    const p = target.properties;
    const secret = testCase.storage.targetSecrets?.[target.volumeId] ?? p.authPassword;
    return {
      iqn: p.targetIqn,
      luns: [{ lun: p.targetLun, media: lunMedia(testCase.node, target), serial: volumeSerial(target) }],
      chap:
        p.authMethod === "CHAP" && p.authUsername && secret
          ? {
              username: p.authUsername,
              secret,
              mutual:
                p.reverseUsername && p.reversePassword ? { username: p.reverseUsername, secret: p.reversePassword } : undefined,
            }
          : undefined,
    };
  });
}

/** The script Ironic would render, pointed at the portal the guest can reach. */
export function renderNodeScript(node: IronicNode, endpoints: GuestEndpoints): string {
  const portal = endpoints.iscsi ?? { host: "10.0.2.2", port: 3260 };
  return renderSanBootScript(
    {
      initiatorIqn: node.volumeConnector.connectorId,
      volumes: node.volumeTargets.map((t) => ({
        bootIndex: t.bootIndex,
        targetIqn: t.properties.targetIqn,
        portals: [{ host: portal.host, port: portal.port }],
        lun: t.properties.targetLun,
        chap:
          t.properties.authMethod === "CHAP"
            ? {
                username: t.properties.authUsername!,
                password: t.properties.authPassword!,
                reverse:
                  t.properties.reverseUsername && t.properties.reversePassword
                    ? { username: t.properties.reverseUsername, password: t.properties.reversePassword }
                    : undefined,
              }
            : undefined,
      })),
    },
    // Ironic retries every 10 s forever; one attempt turns a refused login into a prompt
    // `fail` (iPXE exits, the firmware finds nothing else, QEMU ends) instead of a hang.
    { retryDelaySeconds: false },
  );
}

export function nodeTopology(testCase: IronicCase, endpoints: GuestEndpoints): Topology {
  const tftp = endpoints.tftp ?? { host: "10.0.2.2", port: 0 };
  return {
    machine: nodeMachine({
      nodeUuid: testCase.node.uuid,
      bootMode: testCase.node.bootMode,
      bootFile: `tftp://${tftp.host}:${tftp.port}/${SCRIPT_NAME}`,
    }),
    deadlineMs: testCase.deadlineSeconds ? testCase.deadlineSeconds * 1000 : undefined,
  };
}

export function ironicBootPlan(testCase: IronicCase): BootPlan {
  const problems = validateNode(testCase.node);
  if (problems.length) throw new Error(`Ironic would refuse node ${testCase.node.uuid}: ${problems.join("; ")}`);
  return {
    name: "boot",
    services: {
      iscsi: {
        targets: storageTargets(testCase),
        faults: testCase.storage.stallLogin ? { rules: [{ match: { phase: "login" }, action: { kind: "stall" } }] } : undefined,
      },
      tftp: { files: (endpoints) => ({ [SCRIPT_NAME]: renderNodeScript(testCase.node, endpoints) }) },
    },
    topology: (endpoints) => nodeTopology(testCase, endpoints),
  };
}
