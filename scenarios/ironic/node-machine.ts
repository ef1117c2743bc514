// The bare-metal node both Ironic drivers boot: one virtio NIC whose iPXE ROM takes the DHCP
// bootfile (Ironic's script) and whose user network may forward SAN portals to bootproof.
import type { MachineInput } from "../../emulator/machine.js";

/** The node's port: its MAC names the node's iPXE config link (pxelinux.cfg/52-54-00-b0-07-01). */
export const NODE_MAC = "52:54:00:b0:07:01";
export const NODE_NIC_SLOT = 3;

export interface NodeMachineInput {
  nodeUuid: string;
  bootMode: "bios" | "uefi";
  bootFile: string;
  guestForwards?: Array<{ guestAddress: string; guestPort: number; hostPort: number }>;
}

export function nodeMachine(input: NodeMachineInput): MachineInput {
  return {
    name: `ironic-${input.nodeUuid.slice(0, 8)}`,
    firmware: input.bootMode === "uefi" ? { kind: "ovmf" } : { kind: "seabios" },
    nics: [
      {
        id: "pxe0",
        model: "virtio-net-pci",
        mac: NODE_MAC,
        pciSlot: NODE_NIC_SLOT,
        bootIndex: 0,
        user: { bootFile: input.bootFile, guestForwards: input.guestForwards ?? [] },
      },
    ],
  };
}
