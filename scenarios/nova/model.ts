// What the Nova libvirt driver receives for one instance (its block device mapping, reduced
// to what decides the guest's storage layout) and the rescue image's two properties.
// Field names follow Nova where Nova has a name (hw_rescue_bus, hw_scsi_model, ...).

/**
 * Guest disk buses as Nova's `hw_disk_bus` / BDM `disk_bus` spells them. `ide` exists only
 * on `pc` and `sata` only on `q35` here: libvirt refuses IDE on q35, and SATA on pc needs an
 * extra AHCI controller that bootproof's Machine model has no kind for.
 */
export type NovaDiskBus = "virtio" | "scsi" | "ide" | "sata" | "usb";
export type NovaFirmware = "seabios" | "ovmf";
export type NovaMachineType = "pc" | "q35";
/**
 * The instance image's `hw_scsi_model`. Unset means libvirt picks its default SCSI controller,
 * which on x86 is the LSI 53C895A (and Nova then adds no controller element itself).
 */
export type NovaScsiModel = "virtio-scsi" | "lsilogic";

export interface NovaRootDisk {
  /** `image`: a local disk built from the image (mapping name "disk"); `volume`: boot from volume. */
  source: "image" | "volume";
  /**
   * Also the image's `hw_disk_bus` (for boot from volume, the one in the volume's image
   * metadata): the bus of disks with none of their own, such as a vfat config drive.
   */
  bus: NovaDiskBus;
  sizeMiB: number;
  /** Cinder volume id when `source` is `volume`; its first 20 characters become the serial. */
  volumeId?: string;
}

/** A local ephemeral or swap disk (BDM with source blank, destination local). */
export interface NovaLocalDisk {
  bus: NovaDiskBus;
  sizeMiB: number;
}

/** An attached Cinder volume. */
export interface NovaVolume {
  id: string;
  bus: NovaDiskBus;
  sizeMiB: number;
}

/** A Neutron port as Nova's network_info hands it to the driver (one VIF). */
export interface NovaNic {
  mac: string;
  /**
   * Nova's VIF type: "bridge" (a Linux bridge port, libvirt `<interface type='bridge'>`, the
   * default) or "tap" (libvirt `<interface type='ethernet'>`). Nova's libvirt driver has no
   * VIF type "ethernet" (it refuses one: "Unsupported VIF type ethernet").
   */
  type?: "bridge" | "tap";
}

export interface NovaInstance {
  /** Instance uuid; the first 8 characters prefix the serials bootproof gives local disks. */
  uuid: string;
  machineType: NovaMachineType;
  firmware: NovaFirmware;
  scsiModel?: NovaScsiModel;
  rootDisk: NovaRootDisk;
  ephemerals: NovaLocalDisk[];
  swap?: NovaLocalDisk;
  /** Nova's `config_drive_format`: iso9660 attaches a cdrom, vfat a disk. */
  configDrive?: { format: "iso9660" | "vfat" };
  volumes: NovaVolume[];
  /**
   * The fields below only reach the real Nova driver (harness/openstack/nova.ts); the
   * TypeScript model ignores them, so a case that sets them is not one the model describes.
   * Flavor memory_mb; unset: 512.
   */
  memoryMiB?: number;
  /** The instance's ports in network_info order; unset: none. */
  nics?: NovaNic[];
  /**
   * The image's `hw_vif_model`, the NIC model of every port (Nova has no per-port model);
   * unset: virtio.
   */
  vifModel?: "virtio" | "e1000";
  /**
   * The image's `hw_cdrom_bus`: the bus of the instance's cdroms (an iso9660 config drive);
   * unset: ide on pc, sata on q35. It does not reach the rescue device, whose default bus
   * Nova takes from the rescue image.
   */
  cdromBus?: NovaDiskBus;
}

/** The rescue image's properties; at least one must be set for a stable device rescue. */
export interface NovaRescueProperties {
  hw_rescue_bus?: NovaDiskBus | "fdc";
  hw_rescue_device?: "disk" | "cdrom" | "floppy";
}

/** One generated case: an instance and the rescue image it is rescued with. */
export interface NovaRescueCase {
  instance: NovaInstance;
  rescue: NovaRescueProperties;
}

/** Nova hands the volume id to libvirt as `<serial>`; virtio-blk keeps its first 20 bytes. */
export const VOLUME_SERIAL_LENGTH = 20;

export function volumeSerial(volumeId: string): string {
  return volumeId.slice(0, VOLUME_SERIAL_LENGTH);
}

/**
 * Nova gives local disks (root from image, ephemerals, swap, config drive, rescue) no serial.
 * bootproof needs an identity the guest can report for every disk, so the model gives each
 * local disk `<first 8 chars of the instance uuid>-<Nova mapping name>` (at most 20 chars),
 * e.g. `5e1f00aa-disk.eph0`. It is derived from the input only, so normal, rescue and
 * unrescue boots carry the same serial for the same disk.
 */
export function localDiskSerial(instanceUuid: string, mappingName: string): string {
  return `${instanceUuid.slice(0, 8)}-${mappingName}`.slice(0, VOLUME_SERIAL_LENGTH);
}

const SERIAL_CHARS = /^[A-Za-z0-9._-]+$/;

export class NovaInputError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid Nova rescue case:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "NovaInputError";
  }
}

/** Buses a disk (not cdrom/floppy) may use on a machine type; see NovaDiskBus. */
export function busAllowedOn(bus: NovaDiskBus | "fdc", machineType: NovaMachineType): boolean {
  if (bus === "ide") return machineType === "pc";
  if (bus === "sata") return machineType === "q35";
  return true;
}

/** The rescue device and bus Nova resolves from the image properties (blockinfo.get_rescue_*). */
export function resolveRescueDevice(
  rescue: NovaRescueProperties,
  machineType: NovaMachineType,
): { device: "disk" | "cdrom" | "floppy"; bus: NovaDiskBus | "fdc" } {
  const device = rescue.hw_rescue_device ?? "disk";
  if (rescue.hw_rescue_bus) return { device, bus: rescue.hw_rescue_bus };
  // get_disk_bus_for_device_type for qemu/kvm with no hw_<type>_bus on the rescue image.
  if (device === "cdrom") return { device, bus: machineType === "q35" ? "sata" : "ide" };
  if (device === "floppy") return { device, bus: "fdc" };
  return { device, bus: "virtio" };
}

/**
 * Everything Nova, libvirt or bootproof's Machine model would refuse, each with a fix.
 * Pure, so the arbitrary can filter on it and drivers can throw it.
 */
export function findNovaInputProblems(input: NovaRescueCase): string[] {
  const problems: string[] = [];
  const { instance, rescue } = input;
  const mt = instance.machineType;
  if (!/^[0-9a-f]{8}/i.test(instance.uuid)) problems.push(`instance.uuid '${instance.uuid}' must start with 8 hex digits`);

  const disks: Array<[string, NovaDiskBus, number]> = [
    ["rootDisk", instance.rootDisk.bus, instance.rootDisk.sizeMiB],
    ...instance.ephemerals.map((e, i) => [`ephemerals[${i}]`, e.bus, e.sizeMiB] as [string, NovaDiskBus, number]),
    ...(instance.swap ? [["swap", instance.swap.bus, instance.swap.sizeMiB] as [string, NovaDiskBus, number]] : []),
    ...instance.volumes.map((v, i) => [`volumes[${i}]`, v.bus, v.sizeMiB] as [string, NovaDiskBus, number]),
  ];
  for (const [path, bus, size] of disks) {
    if (!busAllowedOn(bus, mt))
      problems.push(
        `${path}.bus '${bus}' is not available on machine type '${mt}'; use ${mt === "q35" ? "sata" : "ide"} instead`,
      );
    if (!Number.isInteger(size) || size < 1 || size > 1024)
      problems.push(`${path}.sizeMiB must be an integer 1..1024 (got ${size})`);
  }
  if (disks.length > 8) problems.push(`the instance has ${disks.length} disks; bootproof models 1..8`);

  const volumeIds = [
    ...(instance.rootDisk.source === "volume" ? [["rootDisk.volumeId", instance.rootDisk.volumeId ?? ""]] : []),
    ...instance.volumes.map((v, i) => [`volumes[${i}].id`, v.id]),
  ] as Array<[string, string]>;
  const serialOwners = new Map<string, string>();
  for (const [path, id] of volumeIds) {
    const serial = volumeSerial(id);
    if (!serial || !SERIAL_CHARS.test(serial)) {
      problems.push(`${path} '${id}' must be a volume id of letters, digits, '.', '_' or '-'`);
      continue;
    }
    const owner = serialOwners.get(serial);
    // Nova passes the whole id; the guest sees 20 bytes. Two ids sharing them are indistinguishable.
    if (owner) problems.push(`${path} '${id}' shares its first 20 characters with ${owner}; the guest could not tell them apart`);
    else serialOwners.set(serial, path);
  }
  if (instance.rootDisk.source === "image" && instance.rootDisk.volumeId !== undefined)
    problems.push("rootDisk.volumeId is set but rootDisk.source is 'image'; drop the id or boot from the volume");

  if (!rescue.hw_rescue_bus && !rescue.hw_rescue_device)
    problems.push(
      "rescue image has neither hw_rescue_bus nor hw_rescue_device; that is a legacy rescue, not a stable device rescue",
    );
  const { device, bus } = resolveRescueDevice(rescue, mt);
  if (device === "floppy" && bus !== "fdc")
    problems.push(`hw_rescue_device=floppy needs hw_rescue_bus=fdc or none (got '${bus}')`);
  if (device !== "floppy" && bus === "fdc")
    problems.push(`hw_rescue_bus=fdc carries only floppies (got hw_rescue_device=${device})`);
  if (device === "cdrom" && bus === "virtio")
    problems.push("libvirt has no virtio cdrom; use hw_rescue_bus=ide/sata, scsi or usb");
  if (bus !== "fdc" && !busAllowedOn(bus, mt))
    problems.push(`hw_rescue_bus '${bus}' is not available on machine type '${mt}'; use ${mt === "q35" ? "sata" : "ide"}`);
  return problems;
}

export function assertValidNovaCase(input: NovaRescueCase): void {
  const problems = findNovaInputProblems(input);
  if (problems.length > 0) throw new NovaInputError(problems);
}
