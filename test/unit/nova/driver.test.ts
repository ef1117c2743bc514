import { describe, expect, it } from "vitest";
import type { DiskDevice, Machine } from "../../../emulator/machine.js";
import { parseMachine } from "../../../emulator/validate.js";
import { libvirtDriver } from "../../../scenarios/nova/driver.js";
import { baseInstance, novaExamples } from "../../../scenarios/nova/index.js";
import { NovaInputError } from "../../../scenarios/nova/model.js";

const instance = baseInstance;

const machineOf = (topology: { machine: unknown }): Machine => parseMachine(topology.machine);
const slotOf = (d: DiskDevice) => (d.kind === "virtio-blk" ? d.pciSlot : undefined);

describe("libvirtDriver.boot", () => {
  it("pins controllers before virtio disks from libvirt's first free slot (3 on pc), root bootIndex 1", () => {
    const topology = libvirtDriver.boot(
      instance({
        ephemerals: [{ bus: "virtio", sizeMiB: 4 }],
        volumes: [{ id: "a0000001-5eed-4000-8000-000000000000", bus: "scsi", sizeMiB: 8 }],
      }),
    );
    const machine = machineOf(topology);
    expect(machine.controllers).toEqual([{ kind: "virtio-scsi-pci", id: "scsi0", pciSlot: 3 }]);
    expect(machine.disks.map((d) => [d.id, slotOf(d), d.bootIndex])).toEqual([
      ["disk", 4, 1],
      ["disk-eph0", 5, undefined],
      ["vol-sda", undefined, undefined],
    ]);
    const volume = machine.disks[2]!;
    expect(volume).toMatchObject({ kind: "scsi-hd", scsiId: 0, lun: 0, serial: "a0000001-5eed-4000-8" });
    expect(machine.disks[0]).toMatchObject({ serial: "5e1f00aa-disk" });
    expect(topology.media).toMatchObject({
      "drv-disk": { kind: "bios-disk", role: "root" },
      "drv-disk-eph0": { kind: "blank", sizeMiB: 4 },
    });
  });

  it("builds a UEFI root disk under OVMF and an El Torito config drive", () => {
    const topology = libvirtDriver.boot(instance({ firmware: "ovmf", machineType: "q35", configDrive: { format: "iso9660" } }));
    expect(topology.media).toMatchObject({
      "drv-disk": { kind: "uefi-disk", role: "root" },
      "drv-disk-config": { kind: "iso", role: "config-drive" },
    });
    const config = machineOf(topology).disks.find((d) => d.id === "disk-config")!;
    expect(config).toMatchObject({ kind: "ide-cd", bus: 0, unit: 0 }); // sda -> AHCI port 0
  });

  it("adds libvirt's default LSI controller when a disk is on scsi without hw_scsi_model, addressed by name index", () => {
    const machine = machineOf(
      libvirtDriver.boot(
        instance({
          scsiModel: undefined,
          ephemerals: [
            { bus: "usb", sizeMiB: 1 },
            { bus: "scsi", sizeMiB: 1 },
          ],
        }),
      ),
    );
    expect(machine.controllers.map((c) => [c.kind, c.pciSlot])).toEqual([
      ["lsi53c895a", 3],
      ["qemu-xhci", 4],
    ]);
    expect(machine.disks.find((d) => d.id === "disk-eph1")).toMatchObject({ kind: "scsi-hd", scsiId: 1, lun: 0 }); // sdb
    expect(machine.disks.find((d) => d.id === "disk-eph0")).toMatchObject({ kind: "usb-storage", port: 1 });
  });

  it("rejects what Nova or libvirt would refuse, naming the field and the fix", () => {
    expect(() =>
      libvirtDriver.boot(instance({ rootDisk: { source: "image", bus: "ide", sizeMiB: 32 }, machineType: "q35" })),
    ).toThrow(/rootDisk.bus 'ide' is not available on machine type 'q35'; use sata/);
    expect(() => libvirtDriver.rescue(instance(), { hw_rescue_device: "cdrom", hw_rescue_bus: "virtio" })).toThrow(
      NovaInputError,
    );
    expect(() =>
      libvirtDriver.boot(
        instance({
          volumes: [
            { id: "a0000001-5eed-4000-8000-00000000000A", bus: "virtio", sizeMiB: 1 },
            { id: "a0000001-5eed-4000-8000-00000000000B", bus: "virtio", sizeMiB: 1 },
          ],
        }),
      ),
    ).toThrow(/shares its first 20 characters/);
  });
});

describe("libvirtDriver.rescue", () => {
  it("keeps the normal machine verbatim and appends the rescue disk last on the next slot with bootIndex 0", () => {
    // hw_scsi_model is set, so Nova adds the virtio-scsi controller (slot 3) even with no scsi disk.
    const inst = instance({ ephemerals: [{ bus: "virtio", sizeMiB: 4 }] });
    const normal = machineOf(libvirtDriver.boot(inst));
    const rescue = machineOf(libvirtDriver.rescue(inst, { hw_rescue_device: "disk", hw_rescue_bus: "virtio" }));
    expect(rescue.disks.slice(0, -1)).toEqual(normal.disks);
    expect(rescue.disks.at(-1)).toMatchObject({
      id: "disk-rescue",
      kind: "virtio-blk",
      pciSlot: 6,
      bootIndex: 0,
      serial: "5e1f00aa-disk.rescue",
    });
  });

  it("gives a needed controller a slot after every existing device, before the rescue disk's port", () => {
    const inst = instance({ scsiModel: undefined, ephemerals: [{ bus: "virtio", sizeMiB: 4 }] });
    const topology = libvirtDriver.rescue(inst, { hw_rescue_bus: "usb" });
    const rescue = machineOf(topology);
    expect(rescue.controllers).toEqual([{ kind: "qemu-xhci", id: "usb0", pciSlot: 5 }]);
    expect(rescue.disks.at(-1)).toMatchObject({ kind: "usb-storage", controller: "usb0", port: 1, bootIndex: 0 });
    expect(topology.media?.["drv-disk-rescue"]).toEqual({ kind: "bios-disk", role: "rescue" });
  });

  it("starts at libvirt's first slot when the normal boot has no PCI device at all", () => {
    const inst = instance({ scsiModel: undefined, rootDisk: { source: "image", bus: "ide", sizeMiB: 32 } });
    expect(machineOf(libvirtDriver.boot(inst)).controllers).toEqual([]);
    expect(machineOf(libvirtDriver.rescue(inst, { hw_rescue_bus: "virtio" })).disks.at(-1)).toMatchObject({
      kind: "virtio-blk",
      pciSlot: 3,
    });
    expect(
      machineOf(
        libvirtDriver.rescue(
          { ...inst, machineType: "q35", rootDisk: { source: "image", bus: "sata", sizeMiB: 32 } },
          { hw_rescue_bus: "usb" },
        ),
      ).controllers,
    ).toEqual([{ kind: "qemu-xhci", id: "usb0", pciSlot: 2 }]);
  });

  it("asks for the firmware log and a floppy medium when the rescue device is a floppy", () => {
    const topology = libvirtDriver.rescue(instance(), { hw_rescue_device: "floppy" });
    expect(topology.machine.firmwareLog).toBe(true);
    expect(topology.media?.["drv-disk-rescue"]).toEqual({ kind: "floppy", role: "rescue" });
    expect(machineOf(topology).disks.at(-1)).toMatchObject({ kind: "floppy", unit: 0, bootIndex: 0 });
  });

  it("puts a virtio-scsi rescue disk on the next unit and a rescue cdrom on an ISO", () => {
    const inst = instance({ rootDisk: { source: "image", bus: "scsi", sizeMiB: 32 } });
    const scsi = machineOf(libvirtDriver.rescue(inst, { hw_rescue_bus: "scsi", hw_rescue_device: "cdrom" }));
    expect(scsi.disks.at(-1)).toMatchObject({ kind: "scsi-cd", scsiId: 0, lun: 1 });
    expect(libvirtDriver.rescue(inst, { hw_rescue_bus: "scsi", hw_rescue_device: "cdrom" }).media?.["drv-disk-rescue"]).toEqual({
      kind: "iso",
      role: "rescue",
    });
  });

  it("produces machines that pass Machine validation for every named example", () => {
    for (const { name, input } of novaExamples) {
      for (const topology of [libvirtDriver.boot(input.instance), libvirtDriver.rescue(input.instance, input.rescue)]) {
        expect(() => parseMachine(topology.machine), name).not.toThrow();
      }
    }
  });
});
