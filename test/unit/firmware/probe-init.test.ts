// Runs the probe's real /init script (busybox sh, "collect" mode) on the host against a
// fake sysfs/proc tree, and checks that the host parser accepts what it prints.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OBSERVATION_MARKER, type Observation, parseObservationLine } from "../../../firmware/observation.js";
import { PROBE_START_MARKER } from "../../../firmware/probe/markers.js";

const initScript = fileURLToPath(new URL("../../../firmware/probe/init.sh", import.meta.url));
let root: string;
let observation: Observation;
let rawJson: string;

function file(path: string, content: string | Buffer): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
}
function link(path: string, target: string): void {
  const full = join(root, path);
  mkdirSync(dirname(full), { recursive: true });
  symlinkSync(relative(dirname(full), join(root, target)), full);
}

const VIRTIO_DISK = "sys/devices/pci0000:00/0000:00:05.0/virtio0/block/vda";
const SCSI_DEVICE = "sys/devices/pci0000:00/0000:00:06.0/virtio1/host0/target0:0:2/0:0:2:0";
const USB_DEVICE = "sys/devices/pci0000:00/0000:00:07.0/usb2/2-1";
const USB_SCSI = `${USB_DEVICE}/2-1:1.0/host3/target3:0:0/3:0:0:0`;
const NIC = "sys/devices/pci0000:00/0000:00:08.0/virtio2";
const ATAPI_PORT = "sys/devices/pci0000:00/0000:00:01.1/ata2";
const ATAPI_DEVICE = `${ATAPI_PORT}/host1/target1:0:0/1:0:0:0`;
const ROOT_PORT = "sys/devices/pci0000:00/0000:00:02.0";
const BRIDGED = `${ROOT_PORT}/0000:01:00.0`;
const USB_ROOT_HUB = "sys/devices/pci0000:00/0000:00:07.0/usb2";

/** libata's sysfs "id": 256 IDENTIFY words as 4 hex digits, 8 per line; serial in words 10-19. */
function identifyText(serial: string): string {
  const words = new Array<string>(256).fill("0000");
  const padded = serial.padEnd(20, " ");
  for (let i = 0; i < 10; i++) words[10 + i] = Buffer.from(padded.slice(2 * i, 2 * i + 2), "latin1").toString("hex");
  words[0] = "85c0";
  const lines: string[] = [];
  for (let i = 0; i < 256; i += 8) lines.push(words.slice(i, i + 8).join(" "));
  return `${lines.join("\n")}\n`;
}
const WEIRD_SERIAL = 'we"ird\\ser\tial\u0001';

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "bootproof-probe-"));
  // virtio-blk disk: serial directly on the disk (with characters JSON must escape)
  file(`${VIRTIO_DISK}/size`, "2048\n");
  file(`${VIRTIO_DISK}/serial`, `${WEIRD_SERIAL}\n`);
  file(`${VIRTIO_DISK}/removable`, "0\n");
  file(`${VIRTIO_DISK}/ro`, "0\n");
  link("sys/block/vda", VIRTIO_DISK);
  // SCSI disk: serial and WWN only in binary VPD pages
  file(`${SCSI_DEVICE}/block/sda/size`, "131072\n");
  file(`${SCSI_DEVICE}/block/sda/removable`, "0\n");
  file(`${SCSI_DEVICE}/block/sda/ro`, "1\n");
  link(`${SCSI_DEVICE}/block/sda/device`, SCSI_DEVICE);
  file(`${SCSI_DEVICE}/vpd_pg80`, Buffer.from("008000055343534931", "hex"));
  file(`${SCSI_DEVICE}/vpd_pg83`, Buffer.from("00830015020000055343534931010300085000c50015ea71ac", "hex"));
  file(`${SCSI_DEVICE}/wwid`, "naa.5000c50015ea71ac\n");
  file(`${SCSI_DEVICE}/vendor`, "QEMU    \n");
  file(`${SCSI_DEVICE}/model`, "QEMU HARDDISK   \n");
  link("sys/block/sda", `${SCSI_DEVICE}/block/sda`);
  // USB disk: the serial lives on the USB device above the SCSI device
  file(`${USB_DEVICE}/idVendor`, "46f4\n");
  file(`${USB_DEVICE}/serial`, "USB1\n");
  file(`${USB_SCSI}/block/sdc/size`, "4096\n");
  file(`${USB_SCSI}/model`, "QEMU HARDDISK   \n");
  file(`${USB_SCSI}/vendor`, "QEMU    \n");
  link(`${USB_SCSI}/block/sdc/device`, USB_SCSI);
  link("sys/block/sdc", `${USB_SCSI}/block/sdc`);
  // ATAPI CD: no VPD pages; the serial comes from libata's IDENTIFY data
  file(`${ATAPI_DEVICE}/block/sr0/size`, "8192\n");
  file(`${ATAPI_DEVICE}/block/sr0/removable`, "1\n");
  file(`${ATAPI_DEVICE}/block/sr0/ro`, "1\n");
  file(`${ATAPI_DEVICE}/model`, "QEMU DVD-ROM    \n");
  file(`${ATAPI_DEVICE}/vendor`, "QEMU    \n");
  link(`${ATAPI_DEVICE}/block/sr0/device`, ATAPI_DEVICE);
  link("sys/block/sr0", `${ATAPI_DEVICE}/block/sr0`);
  file(`${ATAPI_PORT}/link2/dev2.0/ata_device/dev2.0/id`, identifyText("CD-\\1~"));
  // NICs: lo is skipped
  file(`${NIC}/net/eth0/address`, "52:54:00:12:34:56\n");
  link(`${NIC}/net/eth0/device`, NIC);
  mkdirSync(join(root, "sys/bus/virtio/drivers/virtio_net"), { recursive: true });
  link(`${NIC}/driver`, "sys/bus/virtio/drivers/virtio_net");
  link("sys/class/net/eth0", `${NIC}/net/eth0`);
  file("sys/devices/virtual/net/lo/address", "00:00:00:00:00:00\n");
  link("sys/class/net/lo", "sys/devices/virtual/net/lo");
  // PCI functions: sysfs ids, bound drivers, a device behind a PCIe root port
  const pci = (dir: string, ids: Record<string, string>, driver?: string) => {
    for (const [attribute, value] of Object.entries(ids)) file(`${dir}/${attribute}`, `${value}\n`);
    if (driver) {
      mkdirSync(join(root, "sys/bus/pci/drivers", driver), { recursive: true });
      link(`${dir}/driver`, `sys/bus/pci/drivers/${driver}`);
    }
    link(`sys/bus/pci/devices/${dir.split("/").at(-1)}`, dir);
  };
  const virtio = { vendor: "0x1af4", subsystem_vendor: "0x1af4" };
  pci("sys/devices/pci0000:00/0000:00:00.0", { vendor: "0x8086", device: "0x1237", class: "0x060000" });
  pci(ROOT_PORT, { vendor: "0x1b36", device: "0x000c", class: "0x060400" }, "pcieport");
  pci(BRIDGED, { ...virtio, device: "0x1041", class: "0x020000", subsystem_device: "0x1100" }, "virtio-pci");
  pci(
    "sys/devices/pci0000:00/0000:00:05.0",
    { ...virtio, device: "0x1001", class: "0x010000", subsystem_device: "0x0002" },
    "virtio-pci",
  );
  pci("sys/devices/pci0000:00/0000:00:07.0", { vendor: "0x1b36", device: "0x000d", class: "0x0c0330" }, "xhci_hcd");
  // USB: a root hub, a device, a hub with a device behind it; interfaces are not devices
  const usb = (dir: string, ids: Record<string, string>) => {
    for (const [attribute, value] of Object.entries(ids)) file(`${dir}/${attribute}`, `${value}\n`);
    link(`sys/bus/usb/devices/${dir.split("/").at(-1)}`, dir);
  };
  usb(USB_ROOT_HUB, { idVendor: "1d6b", idProduct: "0002", product: "xHCI Host Controller", speed: "480" });
  usb(USB_DEVICE, { idProduct: "0001", product: "QEMU USB HARDDRIVE", speed: "5000" });
  usb(`${USB_ROOT_HUB}/2-10`, { idVendor: "0409", idProduct: "55aa", speed: "12" });
  usb(`${USB_ROOT_HUB}/2-10/2-10.1`, { idVendor: "0627", idProduct: "0001", product: "QEMU USB Tablet", speed: "12" });
  link("sys/bus/usb/devices/2-1:1.0", `${USB_DEVICE}/2-1:1.0`);
  link("sys/bus/usb/devices/2-0:1.0", `${USB_ROOT_HUB}/2-0:1.0`);
  mkdirSync(join(root, USB_ROOT_HUB, "2-0:1.0"), { recursive: true });
  // firmware tables
  file("sys/firmware/qemu_fw_cfg/by_name/bootorder/raw", "/pci@i0cf8/scsi@5/disk@0,0\n/pci@i0cf8/ide@1,1/drive@1/disk@0\0");
  file("sys/firmware/ibft/initiator/initiator-name", "iqn.2010-04.org.ipxe:test\n");
  file("sys/firmware/ibft/target0/target-name", "iqn.2024-01.test:disk\n");
  file("sys/firmware/ibft/target0/lun", "0100000000000000\n");
  file("sys/firmware/ibft/target0/chap-secret", "s3cret-value\n");
  // proc
  file("proc/cmdline", 'console=ttyS0,115200 bootproof.role=rescue x="q\\b"\n');
  file("proc/sys/kernel/osrelease", "6.1.0-56-amd64\n");
  file("proc/uptime", "12.34 5.67\n");
  file("proc/mounts", "rootfs / rootfs rw 0 0\nproc /proc proc rw,relatime 0 0\n");

  rawJson = execFileSync("busybox", ["sh", initScript], {
    encoding: "utf8",
    env: {
      BOOTPROOF_PROBE_MODE: "collect",
      BOOTPROOF_SYS: join(root, "sys"),
      BOOTPROOF_PROC: join(root, "proc"),
      PATH: process.env.PATH,
    },
  }).trim();
  const parsed = parseObservationLine(`${OBSERVATION_MARKER}${rawJson}`);
  if (!parsed) throw new Error("no observation parsed");
  observation = parsed;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("probe /init observation (host run on a fake sysfs)", () => {
  it("announces itself with PROBE_START_MARKER", () => {
    expect(readFileSync(initScript, "utf8")).toContain(`say "${PROBE_START_MARKER}"`);
  });

  it("prints one valid JSON object accepted by the schema", () => {
    expect(rawJson.split("\n")).toHaveLength(1);
    expect(() => JSON.parse(rawJson)).not.toThrow();
    expect(observation.kernelRelease).toBe("6.1.0-56-amd64");
    expect(observation.role).toBe("rescue");
    expect(observation.cmdline).toBe('console=ttyS0,115200 bootproof.role=rescue x="q\\b"');
    expect(observation.uptimeSeconds).toBe(12.34);
    expect(observation.mounts).toEqual([
      { source: "rootfs", target: "/", fstype: "rootfs" },
      { source: "proc", target: "/proc", fstype: "proc" },
    ]);
  });

  it("escapes quotes, backslashes and control characters", () => {
    expect(observation.blockDevices.find((d) => d.name === "vda")?.serial).toBe(WEIRD_SERIAL);
  });

  it("reports each disk with sysfs path, size, serial source and identities", () => {
    const byName = Object.fromEntries(observation.blockDevices.map((d) => [d.name, d]));
    expect(Object.keys(byName)).toEqual(["sda", "sdc", "sr0", "vda"]);
    expect(byName.vda).toMatchObject({ bus: "virtio", pciBdf: "00:05.0", sizeBytes: 2048 * 512, model: null, readOnly: false });
    expect(byName.vda?.sysfsPath.endsWith("/sys/devices/pci0000:00/0000:00:05.0/virtio0/block/vda")).toBe(true);
    expect(byName.sda).toMatchObject({
      bus: "scsi",
      pciBdf: "00:06.0",
      hctl: "0:0:2:0",
      serial: "SCSI1",
      wwid: "naa.5000c50015ea71ac",
      naaIds: ["5000c50015ea71ac"],
      vendor: "QEMU",
      model: "QEMU HARDDISK",
      readOnly: true,
    });
    expect(byName.sr0).toMatchObject({ bus: "ata", pciBdf: "00:01.1", hctl: "1:0:0:0", serial: "CD-\\1~", removable: true });
    expect(byName.sdc).toMatchObject({ bus: "usb", usbPath: "2-1", hctl: "3:0:0:0", serial: "USB1", pciBdf: "00:07.0" });
  });

  it("reports NICs with driver, skipping lo", () => {
    expect(observation.nics).toEqual([{ name: "eth0", mac: "52:54:00:12:34:56", pciBdf: "00:08.0", driver: "virtio_net" }]);
  });

  it("lists every PCI function with ids, driver and its path through bridges, sorted by path", () => {
    expect(observation.pciFunctions.map((f) => [f.path, f.bdf, f.driver])).toEqual([
      ["00:00.0", "00:00.0", null],
      ["00:02.0", "00:02.0", "pcieport"],
      ["00:02.0/01:00.0", "01:00.0", "virtio-pci"],
      ["00:05.0", "00:05.0", "virtio-pci"],
      ["00:07.0", "00:07.0", "xhci_hcd"],
    ]);
    expect(observation.pciFunctions.find((f) => f.bdf === "01:00.0")).toEqual({
      bdf: "01:00.0",
      path: "00:02.0/01:00.0",
      vendorId: "0x1af4",
      deviceId: "0x1041",
      classCode: "0x020000",
      subsystemVendorId: "0x1af4",
      subsystemDeviceId: "0x1100",
      driver: "virtio-pci",
    });
    expect(observation.pciFunctions[0]).toMatchObject({ subsystemVendorId: null, subsystemDeviceId: null });
  });

  it("lists USB devices and root hubs (not interfaces) with their host controller, in port order", () => {
    expect(observation.usbDevices).toEqual([
      {
        portPath: "2-0",
        busNumber: 2,
        vendorId: "1d6b",
        productId: "0002",
        product: "xHCI Host Controller",
        speed: "480",
        controllerBdf: "00:07.0",
        isRootHub: true,
      },
      {
        portPath: "2-1",
        busNumber: 2,
        vendorId: "46f4",
        productId: "0001",
        product: "QEMU USB HARDDRIVE",
        speed: "5000",
        controllerBdf: "00:07.0",
        isRootHub: false,
      },
      expect.objectContaining({ portPath: "2-10", product: null, speed: "12", isRootHub: false }),
      expect.objectContaining({ portPath: "2-10.1", vendorId: "0627", product: "QEMU USB Tablet", controllerBdf: "00:07.0" }),
    ]);
  });

  it("keeps the raw sysfs names on the wire", () => {
    const wire = JSON.parse(rawJson) as { pciFunctions: Array<{ name: string }>; usbDevices: Array<{ name: string }> };
    expect(wire.pciFunctions.map((f) => f.name)).toContain("0000:01:00.0");
    expect(wire.usbDevices.map((u) => u.name).sort()).toEqual(["2-1", "2-10", "2-10.1", "usb2"]);
  });

  it("reads the fw_cfg boot order and the iBFT, never printing CHAP secrets", () => {
    expect(observation.bootOrder).toEqual(["/pci@i0cf8/scsi@5/disk@0,0", "/pci@i0cf8/ide@1,1/drive@1/disk@0"]);
    expect(observation.ibft?.initiator?.["initiator-name"]).toBe("iqn.2010-04.org.ipxe:test");
    expect(observation.ibft?.target0?.lun).toBe("0100000000000000");
    expect(rawJson).not.toContain("s3cret-value");
    const sha = execFileSync("sha256sum", { input: "s3cret-value", encoding: "utf8" }).split(" ")[0];
    expect(observation.ibft?.target0?.["chap-secret"]).toBe(`sha256:${sha}`);
  });
});

describe("probe /init USB settle check", () => {
  const usbPending = (tree: string): boolean => {
    const out = execFileSync(
      "busybox",
      ["sh", "-c", `. "${initScript}"; if usb_pending; then echo pending; else echo settled; fi`],
      {
        encoding: "utf8",
        env: {
          BOOTPROOF_PROBE_MODE: "library",
          BOOTPROOF_SYS: join(tree, "sys"),
          BOOTPROOF_DEBUGFS: join(tree, "debug"),
          PATH: process.env.PATH,
        },
      },
    ).trim();
    return out === "pending";
  };

  it("waits for connected xhci ports to be enumerated and for usb-storage to add its SCSI target", () => {
    const tree = mkdtempSync(join(tmpdir(), "bootproof-usb-"));
    try {
      const put = (path: string, content: string) => {
        mkdirSync(dirname(join(tree, path)), { recursive: true });
        writeFileSync(join(tree, path), content);
      };
      const ports = "debug/usb/xhci/0000:00:07.0/ports";
      put(`${ports}/port01/portsc`, "Powered Connected Enabled Link:U0 PortSpeed:4 Change: Wake: \n");
      put(`${ports}/port02/portsc`, "Powered Not-connected Disabled Link:RxDetect PortSpeed:0 Change: Wake: \n");
      mkdirSync(join(tree, "sys/bus/usb/devices/usb2"), { recursive: true });
      mkdirSync(join(tree, "sys/bus/usb/devices/2-0:1.0"), { recursive: true });
      expect(usbPending(tree)).toBe(true); // one port connected, nothing enumerated
      mkdirSync(join(tree, "sys/bus/usb/devices/2-1"), { recursive: true });
      expect(usbPending(tree)).toBe(false);
      const iface = join(tree, "sys/devices/pci0000:00/0000:00:07.0/usb2/2-1/2-1:1.0");
      mkdirSync(iface, { recursive: true });
      mkdirSync(join(tree, "sys/bus/usb/drivers/usb-storage"), { recursive: true });
      symlinkSync(iface, join(tree, "sys/bus/usb/drivers/usb-storage/2-1:1.0"));
      expect(usbPending(tree)).toBe(true); // usb-storage bound, SCSI scan not done
      mkdirSync(join(iface, "host3/target3:0:0"), { recursive: true });
      expect(usbPending(tree)).toBe(false);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});

describe("probe /init ATA settle check", () => {
  const ataPending = (tree: string): boolean =>
    execFileSync("busybox", ["sh", "-c", `. "${initScript}"; if ata_pending; then echo pending; else echo settled; fi`], {
      encoding: "utf8",
      env: { BOOTPROOF_PROBE_MODE: "library", BOOTPROOF_PROC: join(tree, "proc"), PATH: process.env.PATH },
    }).trim() === "pending";

  it("waits while a SCSI error-handler thread (libata's port probing) is busy", () => {
    const tree = mkdtempSync(join(tmpdir(), "bootproof-ata-"));
    try {
      const thread = (pid: number, comm: string, state: string) => {
        mkdirSync(join(tree, "proc", String(pid)), { recursive: true });
        writeFileSync(join(tree, "proc", String(pid), "comm"), `${comm}\n`);
        writeFileSync(join(tree, "proc", String(pid), "stat"), `${pid} (${comm}) ${state} 2 0 0 0 -1\n`);
      };
      expect(ataPending(tree)).toBe(false); // no SCSI hosts at all
      thread(81, "scsi_eh_0", "S");
      thread(90, "kworker/0:1", "D");
      expect(ataPending(tree)).toBe(false); // idle error handler; other threads do not count
      thread(83, "scsi_eh_1", "D");
      expect(ataPending(tree)).toBe(true); // probing: waiting on the device
      thread(83, "scsi_eh_1", "S");
      expect(ataPending(tree)).toBe(false);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});
