import { describe, expect, it } from "vitest";
import {
  busFromSysfs,
  compareUsbPortPaths,
  domainlessBdf,
  hctlFromSysfs,
  naaIdsFromVpd83,
  parseObservationLine,
  pciBdfFromSysfs,
  pciChainFromSysfs,
  pciPathFromSysfs,
  roleFromCmdline,
  serialFromVpd80,
  usbDeviceName,
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

describe("hardware inventory derivations", () => {
  it("names a PCI function by its chain of BDFs from the root, through bridges", () => {
    const own = "/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/0000:02:03.0";
    expect(pciChainFromSysfs(own)).toEqual(["00:1c.0", "01:00.0", "02:03.0"]);
    expect(pciPathFromSysfs(own)).toBe("00:1c.0/01:00.0/02:03.0");
    expect(pciBdfFromSysfs(own)).toBe("02:03.0");
    expect(pciPathFromSysfs("/sys/devices/pci0000:00/0000:00:05.0")).toBe("00:05.0");
    expect(pciPathFromSysfs(BRIDGED)).toBe("00:1c.0/01:00.0");
    expect(pciPathFromSysfs("/sys/devices/pci0000:00/0000:00:05.01x")).toBeNull();
    expect(pciPathFromSysfs("/sys/devices/platform/floppy.0")).toBeNull();
  });

  it("drops the PCI domain only from a full address", () => {
    expect(domainlessBdf("0000:01:00.0")).toBe("01:00.0");
    expect(domainlessBdf("10000:00:02.0")).toBe("00:02.0");
    expect(domainlessBdf("01:00.0")).toBe("01:00.0");
  });

  it("reads USB device names: devices, root hubs, never interfaces", () => {
    expect(usbDeviceName("2-1.3")).toEqual({ busNumber: 2, portPath: "2-1.3", isRootHub: false });
    expect(usbDeviceName("usb12")).toEqual({ busNumber: 12, portPath: "12-0", isRootHub: true });
    expect(usbDeviceName("2-1:1.0")).toBeNull();
    expect(usbDeviceName("usb")).toBeNull();
  });

  it("orders USB port paths numerically, bus first, parents before children", () => {
    const paths = ["2-0", "1-10", "1-2.1", "10-1", "1-2", "1-0", "2-1"];
    expect(paths.sort(compareUsbPortPaths)).toEqual(["1-0", "1-2", "1-2.1", "1-10", "2-0", "2-1", "10-1"]);
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

  it("derives the PCI and USB inventory, and reads observations without one as empty", () => {
    expect(parseObservationLine(`BOOTPROOF-OBSERVATION ${JSON.stringify(wire)}`)).toMatchObject({
      pciFunctions: [],
      usbDevices: [],
    });
    const inventory = {
      ...wire,
      pciFunctions: [
        {
          name: "0000:00:07.0",
          sysfsPath: "/sys/devices/pci0000:00/0000:00:07.0",
          vendor: "0x1b36",
          device: "0x000d",
          class: "0x0c0330",
          driver: "xhci_hcd",
        },
        {
          name: "0000:00:00.0",
          sysfsPath: "/sys/devices/pci0000:00/0000:00:00.0",
          vendor: "0x8086",
          device: "0x29c0",
          class: "0x060000",
          subsystemVendor: "0x1af4",
          subsystemDevice: "0x1100",
          driver: null,
        },
      ],
      usbDevices: [
        {
          name: "1-1",
          sysfsPath: "/sys/devices/pci0000:00/0000:00:07.0/usb1/1-1",
          idVendor: "0627",
          idProduct: "0001",
          product: "QEMU USB Tablet",
          speed: "480",
        },
        {
          name: "usb1",
          sysfsPath: "/sys/devices/pci0000:00/0000:00:07.0/usb1",
          idVendor: "1d6b",
          idProduct: "0002",
          product: " ",
          speed: "480",
        },
        { name: "1-1:1.0", sysfsPath: "/sys/devices/pci0000:00/0000:00:07.0/usb1/1-1/1-1:1.0" },
      ],
    };
    const observation = parseObservationLine(`BOOTPROOF-OBSERVATION ${JSON.stringify(inventory)}`)!;
    expect(observation.pciFunctions).toEqual([
      {
        bdf: "00:00.0",
        path: "00:00.0",
        vendorId: "0x8086",
        deviceId: "0x29c0",
        classCode: "0x060000",
        subsystemVendorId: "0x1af4",
        subsystemDeviceId: "0x1100",
        driver: null,
      },
      {
        bdf: "00:07.0",
        path: "00:07.0",
        vendorId: "0x1b36",
        deviceId: "0x000d",
        classCode: "0x0c0330",
        subsystemVendorId: null,
        subsystemDeviceId: null,
        driver: "xhci_hcd",
      },
    ]);
    expect(observation.usbDevices).toEqual([
      {
        portPath: "1-0",
        busNumber: 1,
        vendorId: "1d6b",
        productId: "0002",
        product: null,
        speed: "480",
        controllerBdf: "00:07.0",
        isRootHub: true,
      },
      {
        portPath: "1-1",
        busNumber: 1,
        vendorId: "0627",
        productId: "0001",
        product: "QEMU USB Tablet",
        speed: "480",
        controllerBdf: "00:07.0",
        isRootHub: false,
      },
    ]);
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
