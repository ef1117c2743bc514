// The inputs of Ironic's boot from volume as its API and Cinder hand them over (seed spec 002,
// scenario 1), for the real conductor code: a node (boot mode, the iscsi_boot capability, the
// storage and deploy interfaces), at most one iSCSI volume connector, and volume targets whose
// connection data is what Cinder's initialize_connection answers (or, with the external
// storage interface, what the operator registered). The storage side's faults are separate:
// they are how the world differs from what the node was told.

export interface IronicPortal {
  /** An IPv4 address the guest reaches bootproof's target at, or an IPv6 address. */
  host: string;
  port: number;
  family: 4 | 6;
}

export interface IronicChap {
  username: string;
  password: string;
  /** Mutual CHAP: the credentials the target answers with. */
  reverse?: { username: string; password: string };
}

export interface IronicVolume {
  /** Cinder volume id (its first 20 hex digits become the LU serial, as Cinder's LVM driver does). */
  volumeId: string;
  bootIndex: number;
  connection: {
    targetIqn: string;
    /** 0-16383: the range Cinder's drivers hand out. */
    targetLun: number;
    /** One portal, or several paths to the same LU (Cinder's multipath form). */
    portals: IronicPortal[];
    /**
     * Cinder's multipath form: `target_portals` / `target_iqns` / `target_luns` lists beside the
     * singular keys (os-brick's iSCSI connection properties).
     */
    listForm: boolean;
    /**
     * Arrays that give each target port its own IQN: the IQN behind each portal, in portal
     * order (`target_iqns`; the first is `targetIqn`, as os-brick's singular keys are the
     * first path). Absent: every portal leads to `targetIqn`.
     */
    portalIqns?: string[];
    chap?: IronicChap;
  };
}

export type StorageInterfaceName = "cinder" | "external" | "noop";

export interface IronicRealNode {
  uuid: string;
  bootMode: "bios" | "uefi";
  /** node.properties.capabilities iscsi_boot: "true", "false" or absent. */
  iscsiBoot?: "true" | "false";
  storageInterface: StorageInterfaceName;
  deployInterface: "direct" | "ramdisk";
  /** instance_info.image_source set: the operator asks Ironic to write an image. */
  imageSource: boolean;
  /**
   * How the volume targets were registered with Cinder storage: "bare" (volume id only; Ironic
   * writes Cinder's connection data onto them at attach, the standalone flow) or "with-connection"
   * (the properties already hold it, as Nova's Ironic driver registers them). External and noop
   * storage always register the connection data.
   */
  targetRegistration: "bare" | "with-connection";
}

/** How the storage side really is: differs from the node's view in the negative variants. */
export interface IronicStorageSide {
  /** Per volume id: the CHAP secret the target demands instead of the node's. */
  targetSecrets?: Record<string, string>;
  /** The target accepts TCP and never answers a login. */
  stallLogin?: boolean;
}

export interface IronicRealCase {
  node: IronicRealNode;
  /** The node's iSCSI volume connector (type iqn): its initiator name. */
  connector?: { connectorId: string };
  volumes: IronicVolume[];
  storage: IronicStorageSide;
}

export { NODE_MAC } from "../node-machine.js";

export const volumeRole = (volume: IronicVolume) => `volume-${volume.volumeId.slice(0, 8)}`;
export const volumeSerial = (volume: IronicVolume) => volume.volumeId.replaceAll("-", "").slice(0, 20);
export const bootVolumeOf = (input: IronicRealCase) => input.volumes.find((v) => v.bootIndex === 0);

/** A portal as Cinder writes it: `host:port`, IPv6 in brackets. */
/** The IQN behind portal `index` of a volume, as Cinder's connection data gives it. */
export const portalIqn = (volume: IronicVolume, index: number) =>
  volume.connection.portalIqns?.[index] ?? volume.connection.targetIqn;

export const portalText = (portal: IronicPortal) =>
  portal.family === 6 ? `[${portal.host}]:${portal.port}` : `${portal.host}:${portal.port}`;
