// A port of the parts of nova/virt/libvirt/blockinfo.py and driver._get_guest_storage_config
// that decide the guest's storage layout, as pure functions:
//  - device names (vda, sdb, hdc, fda): find_disk_dev_for_disk_bus over the whole mapping, so
//    scsi, usb and sata share the "sd" names and a usb disk after sda becomes sdb;
//  - the mapping order (root, ephemerals, swap, volumes, config drive) in which names are taken;
//  - the domain XML order (root, ephemerals, swap, config drive, volumes, [scsi controller],
//    rescue) in which libvirt then assigns PCI slots and USB ports;
//  - virtio-scsi units: a counter over the XML order, starting at 1 for boot-from-volume
//    (the root volume takes unit 0), advanced by every volume whatever its bus;
//  - the stable rescue: the full normal mapping plus `disk.rescue` on the next free name,
//    attached after everything else with libvirt boot order 1.
import {
  localDiskSerial,
  type NovaDiskBus,
  type NovaInstance,
  type NovaRescueProperties,
  resolveRescueDevice,
  volumeSerial,
} from "./model.js";

export type NovaBus = NovaDiskBus | "fdc";
export type NovaDeviceType = "disk" | "cdrom" | "floppy";
export type NovaDiskRole = "root" | "ephemeral" | "swap" | "config-drive" | "volume" | "rescue";

export interface MappedDisk {
  /** Nova's mapping key: disk, disk.eph0, disk.swap, disk.config, /dev/vdb, disk.rescue. */
  mappingName: string;
  role: NovaDiskRole;
  bus: NovaBus;
  /** libvirt target dev as Nova assigns it (vda, sdb, hdc, fda). Not the guest's kernel name. */
  dev: string;
  type: NovaDeviceType;
  sizeMiB: number;
  serial: string;
  /** virtio-scsi unit Nova writes into the drive address; undefined for every other case. */
  scsiUnit?: number;
}

/** block_device.generate_device_name: a..z, then aa, ab, ... */
export function deviceNameSuffix(index: number): string {
  let suffix = "";
  let i = index;
  do {
    suffix = String.fromCharCode(97 + (i % 26)) + suffix;
    i = Math.floor(i / 26) - 1;
  } while (i >= 0);
  return suffix;
}

/** Inverse of deviceNameSuffix for a dev name with a known prefix (libvirt's virDiskNameToIndex). */
export function deviceNameIndex(dev: string): number {
  const letters = dev.replace(/^(vd|sd|hd|fd)/, "");
  let index = 0;
  for (const ch of letters) index = index * 26 + (ch.charCodeAt(0) - 96);
  return index - 1;
}

/** blockinfo.get_dev_prefix_for_disk_bus. */
export function devPrefixForBus(bus: NovaBus): string {
  switch (bus) {
    case "virtio":
      return "vd";
    case "ide":
      return "hd";
    case "fdc":
      return "fd";
    case "scsi":
    case "usb":
    case "sata":
      return "sd";
  }
}

/** blockinfo.get_dev_count_for_disk_bus with the default max_disk_devices_to_attach (-1). */
const IDE_DEVICE_LIMIT = 4;

export class NovaMappingError extends Error {
  override name = "NovaMappingError";
}

function nextFreeDev(used: ReadonlySet<string>, bus: NovaBus): string {
  const prefix = devPrefixForBus(bus);
  const limit = bus === "ide" ? IDE_DEVICE_LIMIT : Number.POSITIVE_INFINITY;
  for (let i = 0; i < limit; i++) {
    const dev = prefix + deviceNameSuffix(i);
    if (!used.has(dev)) return dev;
  }
  throw new NovaMappingError(
    `no free '${prefix}' device name: the IDE bus holds ${IDE_DEVICE_LIMIT} devices (Nova raises TooManyDiskDevices); move a disk to another bus`,
  );
}

/** The normal disk mapping in domain XML order (the order libvirt assigns addresses in). */
export function normalMapping(instance: NovaInstance): MappedDisk[] {
  const used = new Set<string>();
  const take = (bus: NovaBus): string => {
    const dev = nextFreeDev(used, bus);
    used.add(dev);
    return dev;
  };
  const serialFor = (name: string) => localDiskSerial(instance.uuid, name);
  const diskBus = instance.rootDisk.bus; // the image's hw_disk_bus

  // Names are taken in _get_disk_mapping's order: root, ephemerals, swap, volumes, config drive.
  const root = instance.rootDisk;
  const rootDev = take(root.bus);
  const rootDisk: MappedDisk =
    root.source === "image"
      ? {
          mappingName: "disk",
          role: "root",
          bus: root.bus,
          dev: rootDev,
          type: "disk",
          sizeMiB: root.sizeMiB,
          serial: serialFor("disk"),
        }
      : {
          mappingName: `/dev/${rootDev}`,
          role: "root",
          bus: root.bus,
          dev: rootDev,
          type: "disk",
          sizeMiB: root.sizeMiB,
          serial: volumeSerial(root.volumeId ?? ""),
        };
  const ephemerals = instance.ephemerals.map((eph, i): MappedDisk => {
    const name = `disk.eph${i}`;
    return {
      mappingName: name,
      role: "ephemeral",
      bus: eph.bus,
      dev: take(eph.bus),
      type: "disk",
      sizeMiB: eph.sizeMiB,
      serial: serialFor(name),
    };
  });
  const swap: MappedDisk[] = instance.swap
    ? [
        {
          mappingName: "disk.swap",
          role: "swap",
          bus: instance.swap.bus,
          dev: take(instance.swap.bus),
          type: "disk",
          sizeMiB: instance.swap.sizeMiB,
          serial: serialFor("disk.swap"),
        },
      ]
    : [];
  const volumes = instance.volumes.map((vol): MappedDisk => {
    const dev = take(vol.bus);
    return {
      mappingName: `/dev/${dev}`,
      role: "volume",
      bus: vol.bus,
      dev,
      type: "disk",
      sizeMiB: vol.sizeMiB,
      serial: volumeSerial(vol.id),
    };
  });
  const config: MappedDisk[] = [];
  if (instance.configDrive) {
    const isCdrom = instance.configDrive.format === "iso9660";
    // cdrom: get_disk_bus_for_device_type -> ide on pc, sata on q35; vfat: the image's disk bus.
    const bus: NovaBus = isCdrom ? (instance.machineType === "q35" ? "sata" : "ide") : diskBus;
    config.push({
      mappingName: "disk.config",
      role: "config-drive",
      bus,
      dev: take(bus),
      type: isCdrom ? "cdrom" : "disk",
      sizeMiB: 1,
      serial: serialFor("disk.config"),
    });
  }

  // XML order (_get_guest_storage_config): local root, ephemerals, swap, config drive, then
  // the volumes (the root volume of a boot-from-volume instance is the first BDM).
  const volumeDisks = root.source === "volume" ? [rootDisk, ...volumes] : volumes;
  const localDisks = root.source === "image" ? [rootDisk] : [];
  const ordered = [...localDisks, ...ephemerals, ...swap, ...config, ...volumeDisks];
  assignVirtioScsiUnits(instance, ordered);
  return ordered;
}

function assignVirtioScsiUnits(instance: NovaInstance, ordered: MappedDisk[]): void {
  if (instance.scsiModel !== "virtio-scsi") return;
  let unit = instance.rootDisk.source === "volume" ? 1 : 0;
  for (const disk of ordered) {
    if (disk.role === "root" && instance.rootDisk.source === "volume") {
      if (disk.bus === "scsi") disk.scsiUnit = 0;
      continue;
    }
    if (disk.role === "volume") {
      // Nova advances the counter for every volume, whatever its bus.
      if (disk.bus === "scsi") disk.scsiUnit = unit;
      unit++;
      continue;
    }
    if (disk.bus === "scsi") disk.scsiUnit = unit++;
  }
}

/** The next virtio-scsi unit after the normal mapping (where disk.rescue lands). */
function nextVirtioScsiUnit(instance: NovaInstance, normal: MappedDisk[]): number {
  let unit = instance.rootDisk.source === "volume" ? 1 : 0;
  for (const disk of normal) {
    if (disk.role === "root" && instance.rootDisk.source === "volume") continue;
    if (disk.role === "volume" || disk.bus === "scsi") unit++;
  }
  return unit;
}

/** _get_stable_device_rescue_mapping: the rescue device, named after the whole normal mapping. */
export function rescueMappingEntry(instance: NovaInstance, rescue: NovaRescueProperties, normal: MappedDisk[]): MappedDisk {
  const { device, bus } = resolveRescueDevice(rescue, instance.machineType);
  const used = new Set(normal.map((d) => d.dev));
  const entry: MappedDisk = {
    mappingName: "disk.rescue",
    role: "rescue",
    bus,
    dev: nextFreeDev(used, bus),
    type: device,
    sizeMiB: 0,
    serial: localDiskSerial(instance.uuid, "disk.rescue"),
  };
  if (bus === "scsi" && instance.scsiModel === "virtio-scsi") entry.scsiUnit = nextVirtioScsiUnit(instance, normal);
  return entry;
}
