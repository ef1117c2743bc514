// The spec's conductor (model.ts) decides; bootproof serves what it decided: the iPXE script,
// the kernel and ramdisk over HTTP (the conductor's http_root), and the export over NFS behind
// the address nfs_root names (a QEMU forward from 10.0.2.100:2049 to bootproof's server).

import type { BootPlan, GuestEndpoints } from "../../harness/scenario.js";
import { GUEST_HOST_ADDRESS } from "../../harness/services/start.js";
import { nodeMachine } from "../ironic/node-machine.js";
import { type IronicNfsCase, NFS_PORT, NFS_SERVER_ADDRESS } from "./case.js";
import { decideNfsBoot, type NfsBootDecision } from "./model.js";

export const NFS_BOOT = "nfs-boot";
export const MARKER_FILE = "bootproof-marker";
export const GUEST_WRITE_FILE = "bootproof-guest-wrote";

const decisions = new WeakMap<IronicNfsCase, NfsBootDecision>();

export function decisionOf(input: IronicNfsCase): NfsBootDecision {
  const decision = decisions.get(input) ?? decideNfsBoot(input);
  decisions.set(input, decision);
  return decision;
}

const conductorOf = (endpoints: GuestEndpoints) => `${endpoints.http?.host ?? GUEST_HOST_ADDRESS}:${endpoints.http?.port ?? 0}`;

export function ironicNfsBoots(input: IronicNfsCase): BootPlan[] {
  const decision = decisionOf(input);
  // A node the conductor refuses never boots: the static property judges the refusal.
  if (decision.outcome !== "boot") return [];
  const { nfsRoot } = decision;
  return [
    {
      name: NFS_BOOT,
      services: {
        http: {
          files: (endpoints) => ({
            "boot.ipxe": decision.script(conductorOf(endpoints)),
            [decision.kernelPath]: { bootPayload: "kernel" },
            [decision.ramdiskPath]: { bootPayload: "initramfs" },
          }),
        },
        nfs: {
          exports: [{ path: nfsRoot.path, files: { [MARKER_FILE]: `${input.marker}\n` } }],
          advertised: { host: NFS_SERVER_ADDRESS, port: NFS_PORT },
        },
      },
      topology: (endpoints) => ({
        machine: nodeMachine({
          nodeUuid: input.node.uuid,
          bootMode: input.node.bootMode,
          bootFile: `http://${conductorOf(endpoints)}/boot.ipxe`,
          guestForwards: endpoints.nfs?.port
            ? [{ guestAddress: nfsRoot.server, guestPort: NFS_PORT, hostPort: endpoints.nfs.port }]
            : [],
        }),
        servesBootPayload: true,
        extraProbeModules: ["nfsv3"],
      }),
      artifacts: (endpoints) => ({
        "boot.ipxe": decision.script(conductorOf(endpoints)),
        "pointing.txt": `nfs_root's server ${nfsRoot.server}:${NFS_PORT} is a QEMU guest forward to bootproof's NFS server (127.0.0.1:${endpoints.nfs?.port ?? "?"}); its port mapper names ${NFS_SERVER_ADDRESS}:${NFS_PORT}\n`,
      }),
    },
  ];
}
