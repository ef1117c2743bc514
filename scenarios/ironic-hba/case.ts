// The inputs of Ironic's boot from a Fibre Channel volume through the node's HBA (seed spec
// 002, scenarios 3 and 4) as its API and Cinder hand them over: a node (boot mode, the
// capabilities the spec names, hba_boot, and the one Ironic implemented, fibre_channel_boot,
// the storage interface, an image and force_deployment), its wwpn/wwnn volume connectors (the
// HBA's ports) and fibre_channel volume targets with what Cinder's FC connection info carries.
// The HBA model is the emulation's, one the firmware boots (../common/hba-firmware.ts).
import type { ScsiControllerKind } from "../../emulator/machine.js";
import type { RootDeviceHints } from "../../harness/openstack/ironic.js";
import type { StorageInterfaceName } from "../ironic/real/case.js";

/** The storage array's target ports (WWPNs): each is one portal of bootproof's target. */
export const STORAGE_PORTS = ["500507680b214ac1", "500507680b244ac0"] as const;

export interface HbaVolume {
  /** Cinder volume id. */
  volumeId: string;
  bootIndex: number;
  /** target_lun: the LUN the array presents the volume at, the same through every target port. */
  targetLun: number;
  /** The LU's NAA WWN (16 hex digits), which the guest reads in VPD page 0x83. */
  lunWwn: string;
  /** target_wwn: indexes into STORAGE_PORTS of the target ports Cinder names, in its order. */
  targetPorts: number[];
  /** The volume's size (scenario 4: the deploy agent chooses among disks by it). */
  sizeGiB: number;
}

/** A disk inside the node (scenario 4's other candidates for the image): virtio, no SAN identity. */
export interface LocalDisk {
  sizeGiB: number;
  serial: string;
}

/** The operator's root device hints and where they are set (Ironic reads instance_info's first). */
export interface RootDeviceHint {
  source: "properties" | "instance_info";
  hints: RootDeviceHints;
}

/** A capability value as an operator sets it, or unset. */
export type CapabilityValue = "true" | "false" | undefined;

export interface IronicHbaNode {
  uuid: string;
  bootMode: "bios" | "uefi";
  /** The spec's capability: "hba_boot set to a value of true for node validation to succeed". */
  hbaBoot: CapabilityValue;
  /** The capability Ironic's code checks for a fibre_channel boot volume. */
  fibreChannelBoot: CapabilityValue;
  storageInterface: StorageInterfaceName;
  /** instance_info.image_source set: an image Ironic could write. */
  imageSource: boolean;
  /** instance_info.force_deployment true: the spec's scenario 4, write the image to the volume. */
  forceDeployment: boolean;
  /** Cinder storage: targets registered bare (Ironic writes Cinder's answer onto them) or with the data. */
  targetRegistration: "bare" | "with-connection";
}

export interface IronicHbaCase {
  node: IronicHbaNode;
  /** The SCSI HBA each of the node's FC ports is emulated with (QEMU has no FC HBA). */
  hba: ScsiControllerKind;
  /** Volume connectors: the HBA ports' WWPNs and WWNNs (16 hex digits), in registration order. */
  connectors: { wwpns: string[]; wwnns: string[] };
  volumes: HbaVolume[];
  /** The node's own disks, beside the SAN volumes. */
  localDisks: LocalDisk[];
  rootDevice?: RootDeviceHint;
}

export const volumeRole = (volume: HbaVolume) => `volume-${volume.volumeId.slice(0, 8)}`;
export const bootVolumeOf = (input: IronicHbaCase) => input.volumes.find((v) => v.bootIndex === 0);
export const targetWwns = (volume: HbaVolume) => volume.targetPorts.map((p) => STORAGE_PORTS[p]!);

/** The serial the array reports for a volume (VPD page 0x80): its id without dashes, as many arrays do. */
export const volumeSerial = (volume: HbaVolume) => volume.volumeId.replace(/-/g, "").slice(0, 20);
