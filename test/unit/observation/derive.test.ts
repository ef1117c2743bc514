import { describe, expect, it } from "vitest";
import {
  busFromSysfs,
  hctlFromSysfs,
  naaIdsFromVpd83,
  parseObservationLine,
  pciBdfFromSysfs,
  roleFromCmdline,
  serialFromVpd80,
  usbPathFromSysfs,
} from "../../../firmware/observation.js";

const VIRTIO = "/sys/devices/pci0000:00/0000:00:05.0/virtio2/block/vda";
const SCSI = "/sys/devices/pci0000:00/0000:00:0c.0/virtio3/host2/target2:0:3/2:0:3:1/block/sdb";
const ATA = "/sys/devices/pci0000:00/0000:00:01.1/ata2/host1/target1:0:0/1:0:0:0/block/sr0";
const USB = "/sys/devices/pci0000:00/0000:00:0d.0/usb1/1-2/1-2:1.0/host3/target3:0:0/3:0:0:0/block/sdc";
const BRIDGED = "/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/virtio4/block/vdb";

describe("sysfs path derivations", () => {
  it("finds the PCI function a disk hangs off, behind bridges too", () => {
    expect(pciBdfFromSysfs(VIRTIO)).toBe("00:05.0");
    expect(pciBdfFromSysfs(SCSI)).toBe("00:0c.0");
    expect(pciBdfFromSysfs(BRIDGED)).toBe("01:00.0");
    expect(pciBdfFromSysfs("/sys/devices/platform/floppy.0/block/fd0")).toBeNull();
  });

  it("reads SCSI H:C:T:L and USB port paths", () => {
    expect(hctlFromSysfs(SCSI)).toBe("2:0:3:1");
    expect(hctlFromSysfs(VIRTIO)).toBeNull();
    expect(usbPathFromSysfs(USB)).toBe("1-2");
    expect(usbPathFromSysfs(SCSI)).toBeNull();
  });

  it("names the bus", () => {
    expect(busFromSysfs(VIRTIO, "vda")).toBe("virtio");
    expect(busFromSysfs(SCSI, "sdb")).toBe("scsi");
    expect(busFromSysfs(ATA, "sr0")).toBe("ata");
    expect(busFromSysfs(USB, "sdc")).toBe("usb");
    expect(busFromSysfs("/sys/devices/platform/floppy.0/block/fd0", "fd0")).toBe("floppy");
  });
});

describe("VPD pages", () => {
  it("decodes the unit serial number (0x80)", () => {
    const serial = Buffer.from("QM00003 ", "latin1");
    const page = Buffer.concat([Buffer.from([0, 0x80, 0, serial.length]), serial]);
    expect(serialFromVpd80(page.toString("hex"))).toBe("QM00003");
    expect(serialFromVpd80("00830000")).toBeNull();
  });

  it("extracts NAA designators from device identification (0x83), skipping others", () => {
    const t10 = Buffer.concat([Buffer.from([0x02, 0x01, 0x00, 0x04]), Buffer.from("QEMU")]);
    const naa = Buffer.concat([Buffer.from([0x01, 0x03, 0x00, 0x08]), Buffer.from("5000c50015ea71ac", "hex")]);
    const body = Buffer.concat([t10, naa]);
    const page = Buffer.concat([Buffer.from([0, 0x83, 0, body.length]), body]);
    expect(naaIdsFromVpd83(page.toString("hex"))).toEqual(["5000c50015ea71ac"]);
    // A truncated designator is ignored rather than misread.
    expect(naaIdsFromVpd83(page.subarray(0, page.length - 2).toString("hex"))).toEqual([]);
  });
});

describe("observation line", () => {
  const wire = {
    schema: 1,
    kernelRelease: "6.1.0-56-amd64",
    cmdline: "console=ttyS0,115200 bootproof.role=rescue panic=-1",
    blockDevices: [
      {
        name: "vda",
        sectors: "2048",
        sysfsPath: VIRTIO,
        serial: "ROOT-1",
        wwid: null,
        vpd80: null,
        vpd83: null,
        vendor: "0x1af4",
        model: null,
        removable: "0",
        readOnly: "0",
      },
    ],
    nics: [
      {
        name: "eth0",
        mac: "52:54:00:12:34:56",
        sysfsPath: "/sys/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0",
        driver: "virtio_net",
      },
    ],
    mounts: [{ source: "rootfs", target: "/", fstype: "rootfs" }],
  };

  it("parses and derives identities from a console containing the line", () => {
    const console = `noise\r\nBOOTPROOF-OBSERVATION ${JSON.stringify(wire)}\r\nreboot: Power down\n`;
    const observation = parseObservationLine(console)!;
    expect(observation.role).toBe("rescue");
    expect(observation.blockDevices[0]).toMatchObject({
      name: "vda",
      sizeBytes: 1048576,
      pciBdf: "00:05.0",
      bus: "virtio",
      serial: "ROOT-1",
    });
    expect(observation.nics[0]).toMatchObject({ name: "eth0", pciBdf: "00:03.0" });
    expect(observation.rootSource).toBe("rootfs");
  });

  it("returns undefined without a line and rejects a malformed one with the reason", () => {
    expect(parseObservationLine("no probe here")).toBeUndefined();
    expect(() => parseObservationLine("BOOTPROOF-OBSERVATION {not json")).toThrow(/not valid JSON/);
    expect(() => parseObservationLine(`BOOTPROOF-OBSERVATION ${JSON.stringify({ ...wire, schema: 2 })}`)).toThrow(/schema 1/);
  });

  it("reads the role marker token exactly", () => {
    expect(roleFromCmdline("a bootproof.role=root b")).toBe("root");
    expect(roleFromCmdline("xbootproof.role=root")).toBeNull();
  });
});
