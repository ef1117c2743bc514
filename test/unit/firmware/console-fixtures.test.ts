// Real serial console output of probe boots under QEMU 7.2 / TCG (recorded by hand with the
// media builders in this folder), parsed by the host exactly as the harness will.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FLOPPY_MARKER } from "../../../firmware/media/floppy.js";
import { type Observation, parseObservationLine } from "../../../firmware/observation.js";
import { PROBE_START_MARKER } from "../../../firmware/probe/markers.js";

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/firmware/${name}`, import.meta.url), "utf8");
const observe = (name: string): Observation => {
  const observation = parseObservationLine(fixture(name));
  if (!observation) throw new Error(`${name} has no observation line`);
  return observation;
};
const disk = (o: Observation, name: string) => {
  const d = o.blockDevices.find((b) => b.name === name);
  if (!d) throw new Error(`no ${name}`);
  return d;
};

describe("probe console fixtures", () => {
  it("direct boot with virtio-blk, virtio-scsi (WWN), IDE disk + CD, USB disk and a virtio NIC", () => {
    const o = observe("console-direct-devices.txt");
    expect(o.role).toBe("direct");
    expect(o.kernelRelease).toBe("6.1.0-56-amd64");
    expect(o.moduleErrors).toEqual([]);
    expect(o.modulesLoaded).toEqual(
      expect.arrayContaining(["virtio_blk", "virtio_scsi", "ata_piix", "usb_storage", "iscsi_ibft"]),
    );
    expect(o.ibft).toBeNull();
    expect(disk(o, "vda")).toMatchObject({
      bus: "virtio",
      pciBdf: "00:05.0",
      serial: "ROOT1",
      hctl: null,
      sizeBytes: 64 * 1024 * 1024,
    });
    expect(disk(o, "sda")).toMatchObject({
      bus: "scsi",
      pciBdf: "00:06.0",
      hctl: "0:0:2:0",
      serial: "SCSI1",
      naaIds: ["5000c50015ea71ac"],
    });
    expect(disk(o, "sdb")).toMatchObject({
      bus: "ata",
      pciBdf: "00:01.1",
      hctl: "1:0:0:0",
      serial: "IDE1",
      model: "QEMU HARDDISK",
    });
    expect(disk(o, "sdc")).toMatchObject({ bus: "usb", pciBdf: "00:07.0", usbPath: "2-1", serial: "USB1" });
    // ATAPI drives answer no VPD page 0x80: the probe reads the serial from libata's IDENTIFY data.
    expect(disk(o, "sr0")).toMatchObject({
      bus: "ata",
      hctl: "2:0:0:0",
      serial: "CD1",
      model: "QEMU DVD-ROM",
      removable: true,
      readOnly: true,
    });
    expect(o.nics).toEqual([{ name: "eth0", mac: "52:54:00:12:34:56", pciBdf: "00:08.0", driver: "virtio_net" }]);
  });

  it("legacy BIOS disk: syslinux passed the role; fw_cfg lists the disk, not a direct-kernel ROM", () => {
    const o = observe("console-bios-disk.txt");
    expect(o.role).toBe("root");
    expect(o.bootOrder).toEqual(["/pci@i0cf8/scsi@2/disk@0,0"]);
    expect(o.cmdline).toContain("console=ttyS0,115200");
    expect(fixture("console-bios-disk.txt")).toContain("SYSLINUX 6.04");
    expect(disk(o, "vda")).toMatchObject({ serial: "ROOT1", bus: "virtio" });
  });

  it("UEFI disk (OVMF + syslinux.efi) honours the kernel command line", () => {
    const o = observe("console-uefi-disk.txt");
    expect(o.role).toBe("uefi");
    expect(fixture("console-uefi-disk.txt")).toContain("BdsDxe: starting");
    expect(disk(o, "vda").serial).toBe("ROOT1");
  });

  it("OVMF: a rescue UEFI disk with bootindex=0 boots its own ESP, not the root disk's", () => {
    const o = observe("console-uefi-rescue-over-root.txt");
    expect(o.role).toBe("rescue");
    expect(o.bootOrder).toEqual(["/pci@i0cf8/scsi@6/disk@0,0", "/pci@i0cf8/scsi@5/disk@0,0"]);
    expect(o.blockDevices.map((d) => [d.name, d.serial, d.pciBdf])).toEqual([
      ["vda", "ROOT1", "00:05.0"],
      ["vdb", "RESCUE1", "00:06.0"],
    ]);
  });

  it("every recorded boot printed the probe's start marker before its observation", () => {
    for (const name of [
      "console-direct-devices.txt",
      "console-bios-disk.txt",
      "console-uefi-disk.txt",
      "console-iso-ide-cd.txt",
    ]) {
      const text = fixture(name);
      expect(text.indexOf(PROBE_START_MARKER)).toBeGreaterThan(0);
      expect(text.indexOf(PROBE_START_MARKER)).toBeLessThan(text.indexOf("BOOTPROOF-OBSERVATION"));
      expect(text.split("BOOTPROOF-OBSERVATION")).toHaveLength(2);
    }
  });

  it("iPXE sanboot of a bios-disk LUN (tgtd): the probe reads the iBFT iPXE left behind", () => {
    const text = fixture("console-iscsi-sanboot-ibft.txt");
    // iPXE itself writes to the (absent) screen only; syslinux read from the LUN is the first console output.
    expect(text.trimStart().startsWith("SYSLINUX 6.04")).toBe(true);
    const o = observe("console-iscsi-sanboot-ibft.txt");
    expect(o.role).toBe("iscsi-root");
    expect(o.modulesLoaded).toEqual(expect.arrayContaining(["iscsi_boot_sysfs", "iscsi_ibft", "virtio_net"]));
    expect(o.blockDevices).toEqual([]); // the probe has no iSCSI initiator: the LUN is known from the iBFT only
    expect(o.ibft?.initiator).toMatchObject({ "initiator-name": "iqn.2024-01.test:initiator" });
    expect(o.ibft?.target0).toMatchObject({
      "target-name": "iqn.2024-01.test:fw",
      "ip-addr": "10.0.2.2",
      port: "13391",
      lun: "01000000",
    });
    expect(o.ibft?.ethernet0).toMatchObject({ mac: "52:54:00:12:34:99", "ip-addr": "10.0.2.15" });
    expect(o.nics).toEqual([{ name: "eth0", mac: "52:54:00:12:34:99", pciBdf: "00:03.0", driver: "virtio_net" }]);
  });

  it("El Torito ISO on an IDE CD", () => {
    const o = observe("console-iso-ide-cd.txt");
    expect(o.role).toBe("cdrom");
    expect(o.bootOrder).toEqual(["/pci@i0cf8/ide@1,1/drive@1/disk@0"]);
    expect(disk(o, "sr0")).toMatchObject({ bus: "ata", readOnly: true, sizeBytes: expect.any(Number) });
  });

  it("OVMF boots the ISO's GRUB EFI entry before a bootable UEFI disk with bootindex=1", () => {
    const o = observe("console-iso-ovmf-over-uefi-disk.txt");
    expect(o.role).toBe("cdrom");
    expect(o.bootOrder).toEqual(["/pci@i0cf8/ide@1,1/drive@1/disk@0", "/pci@i0cf8/scsi@2/disk@0,0"]);
    expect(disk(o, "vda").serial).toBe("ROOT1");
  });

  it("floppy first in the boot order prints its marker, then the BIOS boots the disk", () => {
    const text = fixture("console-floppy-then-bios-disk.txt");
    const marker = text.indexOf(`${FLOPPY_MARKER} role=fd`);
    expect(marker).toBeGreaterThanOrEqual(0);
    expect(marker).toBeLessThan(text.indexOf("SYSLINUX"));
    const o = observe("console-floppy-then-bios-disk.txt");
    expect(o.role).toBe("root");
    expect(o.bootOrder).toEqual(["/pci@i0cf8/isa@1/fdc@03f0/floppy@0", "/pci@i0cf8/scsi@2/disk@0,0"]);
    expect(disk(o, "fd0").bus).toBe("floppy");
  });

  it("LSI 53C895A disk, floppy and e1000 NIC (sym53c8xx loaded with settle=0)", () => {
    const o = observe("console-direct-lsi-floppy-e1000.txt");
    expect(o.moduleErrors).toEqual([]);
    expect(disk(o, "sda")).toMatchObject({ bus: "scsi", pciBdf: "00:09.0", hctl: "0:0:3:0", serial: "LSI1" });
    expect(disk(o, "fd0")).toMatchObject({ bus: "floppy", pciBdf: null, removable: true });
    expect(o.nics).toEqual([{ name: "eth0", mac: "52:54:00:aa:bb:cc", pciBdf: "00:0a.0", driver: "e1000" }]);
  });

  it("q35: IDE devices are AHCI ports of the ICH9 controller", () => {
    const o = observe("console-q35-ahci.txt");
    expect(disk(o, "sda")).toMatchObject({ bus: "ata", pciBdf: "00:1f.2", serial: "AHCI1" });
    expect(disk(o, "sr0")).toMatchObject({ bus: "ata", pciBdf: "00:1f.2", hctl: "2:0:0:0", serial: "CD2" });
  });
});
