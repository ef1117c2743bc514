// The inputs Ironic's boot-from-volume path receives (seed spec 002, scenario 1): a node
// with capability iscsi_boot=true, a volume connector carrying the initiator IQN, and
// volume targets with boot_index, target IQN, LUN and optional CHAP.

export interface IronicVolumeTarget {
  /** Cinder volume id (its first 20 characters become the LU serial, as Cinder does). */
  volumeId: string;
  bootIndex: number;
  volumeType: "iscsi";
  properties: {
    targetIqn: string;
    targetLun: number;
    authMethod?: "CHAP";
    authUsername?: string;
    authPassword?: string;
    /** Mutual CHAP: what the target answers with (Ironic's reverse credentials). */
    reverseUsername?: string;
    reversePassword?: string;
  };
}

export interface IronicNode {
  uuid: string;
  bootMode: "bios" | "uefi";
  capabilities: { iscsi_boot: boolean };
  volumeConnector: { type: "iqn"; connectorId: string };
  volumeTargets: IronicVolumeTarget[];
}

/**
 * How the storage side really is configured; differs from the node's view in negative
 * variants (a wrong secret, a target that stalls), which is exactly what they test.
 */
export interface StorageSide {
  /** Per volume id: the CHAP secret the target demands (defaults to the node's). */
  targetSecrets?: Record<string, string>;
  /** The target accepts TCP and never answers a login. */
  stallLogin?: boolean;
}

export interface IronicCase {
  node: IronicNode;
  storage: StorageSide;
  /** Deadline for the boot, seconds (short for the stall variant). */
  deadlineSeconds?: number;
}

/** The LU's role marker: the guest reports which volume it booted. */
export const volumeRole = (target: IronicVolumeTarget) => `volume-${target.volumeId.slice(0, 8)}`;
export const volumeSerial = (target: IronicVolumeTarget) => target.volumeId.replaceAll("-", "").slice(0, 20);
