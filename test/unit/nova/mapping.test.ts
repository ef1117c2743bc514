import { describe, expect, it } from "vitest";
import { baseInstance } from "../../../scenarios/nova/index.js";
import {
  deviceNameIndex,
  deviceNameSuffix,
  NovaMappingError,
  normalMapping,
  rescueMappingEntry,
} from "../../../scenarios/nova/mapping.js";

const instance = baseInstance;

const summary = (disks: ReturnType<typeof normalMapping>) => disks.map((d) => `${d.mappingName}=${d.dev}`);

describe("device names (blockinfo.find_disk_dev_for_disk_bus)", () => {
  it("generates a..z then aa like block_device.generate_device_name, and inverts it", () => {
    expect([0, 1, 25, 26, 27].map(deviceNameSuffix)).toEqual(["a", "b", "z", "aa", "ab"]);
    for (const i of [0, 5, 25, 26, 30]) expect(deviceNameIndex(`sd${deviceNameSuffix(i)}`)).toBe(i);
  });

  it("takes names in mapping order (root, ephemerals, swap, volumes, config drive) but lists disks in XML order", () => {
    const disks = normalMapping(
      instance({
        ephemerals: [{ bus: "virtio", sizeMiB: 1 }],
        swap: { bus: "virtio", sizeMiB: 1 },
        volumes: [{ id: "a0000001-x", bus: "virtio", sizeMiB: 1 }],
        configDrive: { format: "vfat" },
      }),
    );
    // The config drive is named last (vde) but sits before the volumes in the domain XML.
    expect(summary(disks)).toEqual(["disk=vda", "disk.eph0=vdb", "disk.swap=vdc", "disk.config=vde", "/dev/vdd=vdd"]);
  });

  it("shares sd names between scsi, usb and sata, so a usb rescue disk after sda is sdb", () => {
    const inst = instance({ rootDisk: { source: "image", bus: "scsi", sizeMiB: 32 } });
    const normal = normalMapping(inst);
    expect(rescueMappingEntry(inst, { hw_rescue_bus: "usb" }, normal).dev).toBe("sdb");
  });

  it("puts an iso9660 config drive on ide (pc) or sata (q35) as a cdrom", () => {
    const pc = normalMapping(instance({ configDrive: { format: "iso9660" } })).at(-1)!;
    expect([pc.bus, pc.dev, pc.type]).toEqual(["ide", "hda", "cdrom"]);
    const q35 = normalMapping(instance({ machineType: "q35", configDrive: { format: "iso9660" } })).at(-1)!;
    expect([q35.bus, q35.dev, q35.type]).toEqual(["sata", "sda", "cdrom"]);
  });

  it("refuses a fifth IDE device like Nova (TooManyDiskDevices)", () => {
    const ide = { bus: "ide" as const, sizeMiB: 1 };
    expect(() =>
      normalMapping(instance({ rootDisk: { source: "image", bus: "ide", sizeMiB: 32 }, ephemerals: [ide, ide, ide, ide] })),
    ).toThrow(NovaMappingError);
  });

  it("lists a boot-from-volume root among the volumes, after the local disks", () => {
    const disks = normalMapping(
      instance({
        rootDisk: { source: "volume", bus: "virtio", sizeMiB: 32, volumeId: "b0000000-5eed-4000-8000-000000000000" },
        ephemerals: [{ bus: "virtio", sizeMiB: 1 }],
      }),
    );
    expect(summary(disks)).toEqual(["disk.eph0=vdb", "/dev/vda=vda"]);
    expect(disks[1]!.serial).toBe("b0000000-5eed-4000-8");
  });
});

describe("virtio-scsi units (driver._get_guest_storage_config)", () => {
  it("gives the root volume unit 0, counts every volume whatever its bus, and puts the rescue disk on the next unit", () => {
    const inst = instance({
      rootDisk: { source: "volume", bus: "scsi", sizeMiB: 32, volumeId: "b0000000-5eed-4000-8000-000000000000" },
      ephemerals: [{ bus: "scsi", sizeMiB: 1 }],
      volumes: [
        { id: "a0000001-x", bus: "virtio", sizeMiB: 1 },
        { id: "a0000002-x", bus: "scsi", sizeMiB: 1 },
      ],
    });
    const normal = normalMapping(inst);
    expect(normal.map((d) => `${d.mappingName}:${d.scsiUnit ?? "-"}`)).toEqual([
      "disk.eph0:1",
      "/dev/sda:0",
      "/dev/vda:-",
      "/dev/sdc:3",
    ]);
    expect(rescueMappingEntry(inst, { hw_rescue_bus: "scsi" }, normal).scsiUnit).toBe(4);
  });

  it("assigns no units with an LSI controller (libvirt derives the address from the name)", () => {
    const normal = normalMapping(instance({ scsiModel: undefined, rootDisk: { source: "image", bus: "scsi", sizeMiB: 32 } }));
    expect(normal[0]!.scsiUnit).toBeUndefined();
  });
});

describe("rescue device (blockinfo.get_rescue_device / get_rescue_bus)", () => {
  it("defaults to a disk on virtio, a cdrom on ide/sata and a floppy on fdc", () => {
    const inst = instance();
    const normal = normalMapping(inst);
    expect(rescueMappingEntry(inst, { hw_rescue_device: "disk" }, normal)).toMatchObject({
      bus: "virtio",
      dev: "vdb",
      type: "disk",
    });
    expect(rescueMappingEntry(inst, { hw_rescue_device: "cdrom" }, normal)).toMatchObject({
      bus: "ide",
      dev: "hda",
      type: "cdrom",
    });
    expect(rescueMappingEntry({ ...inst, machineType: "q35" }, { hw_rescue_device: "cdrom" }, normal)).toMatchObject({
      bus: "sata",
    });
    expect(rescueMappingEntry(inst, { hw_rescue_device: "floppy" }, normal)).toMatchObject({
      bus: "fdc",
      dev: "fda",
      type: "floppy",
    });
    expect(rescueMappingEntry(inst, { hw_rescue_bus: "virtio" }, normal)).toMatchObject({
      type: "disk",
      mappingName: "disk.rescue",
    });
  });
});
