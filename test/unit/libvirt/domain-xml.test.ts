import { DOMParser, XMLSerializer, type Element as XmlElement } from "@xmldom/xmldom";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../harness/errors.js";
import {
  addressOf,
  type DomainSummary,
  formatAddress,
  pointDomainAtBootproof,
  summarizeDomain,
  type WorldPlan,
  withoutInterfaces,
} from "../../../harness/libvirt/domain-xml.js";
import { editDomain, removeDevice } from "../../fixtures/libvirt/edit.js";
import { guestDumpxml, realXml } from "../../fixtures/libvirt/load.js";

const where = (domain: DomainSummary) => Object.fromEntries(domain.devices.map((d) => [d.label, formatAddress(d.address)]));

/** A world with a medium for every disk: overlays for writable disks, the base for cdroms. */
const world: WorldPlan = {
  placeDisk: (disk) =>
    disk.device === "cdrom"
      ? { file: `/w/${disk.targetDev}.iso`, format: "raw" }
      : { file: `/w/${disk.targetDev}.qcow2`, format: "qcow2", backing: { file: `/base/${disk.targetDev}.img`, format: "raw" } },
  serialFile: "/w/serial.out",
};

describe("summarizeDomain on libvirt's dumpxml", () => {
  it("reads every device of a pc domain at the address libvirt assigned, libvirt's own additions included", () => {
    const domain = summarizeDomain(realXml("virtio-nic-virtio-rescue", "normal", "defined"));
    expect(domain).toMatchObject({ name: "instance-00000001", type: "qemu", machine: "pc-i440fx-7.2", firmware: "bios" });
    expect(domain.osBootDevices).toEqual(["hd"]);
    expect(where(domain)).toEqual({
      emulator: "no address",
      "disk vda (disk on virtio)": "PCI 00:05.0",
      "disk vdb (disk on virtio)": "PCI 00:06.0",
      "controller scsi 0 (virtio-scsi)": "PCI 00:04.0",
      "controller usb 0 (piix3-uhci)": "PCI 00:01.2",
      "controller pci 0 (pci-root)": "no address",
      "interface fa:16:3e:00:00:01 (virtio)": "PCI 00:03.0",
      "serial isa-serial 0": "no address",
      "console serial 0": "no address",
      "input tablet usb": "USB 0-1",
      "input mouse ps2": "no address",
      "input keyboard ps2": "no address",
      graphics: "no address",
      audio: "no address",
      "video virtio": "PCI 00:02.0",
      "memballoon virtio": "PCI 00:07.0",
      "rng virtio": "PCI 00:08.0",
    });
    expect(domain.controllers).toContainEqual({
      type: "usb",
      index: 0,
      model: "piix3-uhci",
      address: { type: "pci", domain: 0, bus: 0, slot: 1, function: 2 },
    });
    expect(domain.interfaces).toEqual([
      {
        index: 0,
        type: "user",
        mac: "fa:16:3e:00:00:01",
        model: "virtio",
        address: { type: "pci", domain: 0, bus: 0, slot: 3, function: 0 },
        bootOrder: null,
        romFile: null,
      },
    ]);
  });

  it("reads the disks: target, bus, source, format, boot order, read-only", () => {
    const domain = summarizeDomain(realXml("virtio-nic-virtio-rescue", "rescue", "defined"));
    expect(domain.osBootDevices).toEqual([]);
    expect(domain.disks.map((d) => [d.index, d.targetDev, d.bus, d.sourceFile, d.driverType, d.bootOrder])).toEqual([
      [0, "vda", "virtio", "/bootproof/overlay/vda.qcow2", "qcow2", null],
      [1, "vdb", "virtio", "/bootproof/overlay/vdb.qcow2", "qcow2", null],
      [2, "vdc", "virtio", "/bootproof/overlay/vdc.qcow2", "qcow2", 1],
    ]);
    const cdrom = summarizeDomain(realXml("q35-sata-cdrom-rescue-sata", "rescue", "defined")).disks.find(
      (d) => d.targetDev === "sdb",
    );
    expect(cdrom).toMatchObject({
      device: "cdrom",
      bus: "sata",
      readOnly: true,
      bootOrder: 1,
      sourceFile: "/bootproof/media/sdb.iso",
    });
    expect(formatAddress(cdrom!.address)).toBe("drive 0:0:0:1");
  });

  it("reads a volume's serial and its drive address on the SCSI controller", () => {
    const domain = summarizeDomain(realXml("scsi-volume-scsi-rescue", "normal", "defined"));
    const sda = domain.disks.find((d) => d.targetDev === "sda")!;
    expect(sda).toMatchObject({ bus: "scsi", serial: "a0000001-5eed-4000-8000-000000000000", wwn: null });
    expect(sda.address).toEqual({ type: "drive", controller: 0, bus: 0, target: 0, unit: 0 });
    // Nova's own XML carries only controller and unit: the missing fields read as 0.
    const written = summarizeDomain(realXml("scsi-volume-scsi-rescue", "normal", "driver"));
    expect(written.disks.find((d) => d.targetDev === "sda")?.address).toEqual(sda.address);
  });

  it("reads a q35 domain: PCIe root ports, the PCIe-to-PCI bridge and devices behind them", () => {
    const domain = summarizeDomain(realXml("q35-sata-cdrom-rescue-sata", "normal", "defined"));
    expect(domain.machine).toBe("pc-q35-7.2");
    expect(where(domain)).toMatchObject({
      "disk vda (disk on virtio)": "PCI 04:00.0",
      "disk sda (disk on sata)": "drive 0:0:0:0",
      "controller sata 0": "PCI 00:1f.2",
      "controller pci 1 (pcie-root-port)": "PCI 00:02.0",
      "controller pci 3 (pcie-to-pci-bridge)": "PCI 01:00.0",
      "controller usb 0 (piix3-uhci)": "PCI 03:01.0",
      "memballoon virtio": "PCI 05:00.0",
      "rng virtio": "PCI 06:00.0",
    });
  });

  it("reads the domain a real guest ran: libvirt's piix3-uhci at 00:01.2, balloon and RNG after the disks", () => {
    const normal = summarizeDomain(guestDumpxml("normal"));
    expect(where(normal)).toMatchObject({
      "controller usb 0 (piix3-uhci)": "PCI 00:01.2",
      "memballoon virtio": "PCI 00:06.0",
      "rng virtio": "PCI 00:07.0",
    });
    expect(normal.disks[0]?.sourceFile).toMatch(/^\/tmp\/bootproof-.+\/disk0\.qcow2$/);
    expect(where(summarizeDomain(guestDumpxml("rescue")))).toMatchObject({
      "disk vdc (disk on virtio)": "PCI 00:06.0",
      "memballoon virtio": "PCI 00:07.0",
      "rng virtio": "PCI 00:08.0",
    });
  });

  it("tells UEFI domains from BIOS ones by firmware='efi' or an OVMF loader", () => {
    const xml = realXml("usb-rescue", "normal", "defined");
    const withOs = (os: string) => xml.replace(/<os>[\s\S]*?<\/os>/, os);
    expect(summarizeDomain(withOs("<os firmware='efi'><type machine='pc'>hvm</type></os>")).firmware).toBe("efi");
    expect(
      summarizeDomain(withOs("<os><type>hvm</type><loader type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader></os>")).firmware,
    ).toBe("efi");
    expect(summarizeDomain(xml).firmware).toBe("bios");
  });

  it("rejects documents that are not a libvirt domain, naming what it found", () => {
    expect(() => summarizeDomain("<network><name>x</name></network>")).toThrow(InputError);
    expect(() => summarizeDomain("<network><name>x</name></network>")).toThrow(
      "domain XML is not a libvirt <domain> document: root element is <network>",
    );
    expect(() => summarizeDomain("<domain><devices></domain>")).toThrow(
      /^domain XML is not a libvirt <domain> document: Opening and ending tag mismatch/,
    );
  });

  // xmldom 0.9 throws its own ParseError on a fatal error; parseDomainXml names the input.
  it("reports malformed XML as an InputError naming the domain XML", () => {
    for (const xml of ["", "not xml at all", "<domain><devices></domain>", "<domain"])
      expect(() => summarizeDomain(xml)).toThrow(InputError);
  });
});

describe("addressOf and formatAddress", () => {
  const element = (xml: string) => new DOMParser().parseFromString(xml, "text/xml").documentElement as XmlElement;

  it("reads PCI (hex), drive, USB and other addresses", () => {
    expect(
      addressOf(element("<disk><address type='pci' domain='0x0001' bus='0x02' slot='0x1f' function='0x7'/></disk>")),
    ).toEqual({
      type: "pci",
      domain: 1,
      bus: 2,
      slot: 31,
      function: 7,
    });
    expect(addressOf(element("<disk><address type='drive' controller='1' bus='0' target='2' unit='3'/></disk>"))).toEqual({
      type: "drive",
      controller: 1,
      bus: 0,
      target: 2,
      unit: 3,
    });
    expect(addressOf(element("<input><address type='usb' bus='0' port='1.2'/></input>"))).toEqual({
      type: "usb",
      bus: 0,
      port: "1.2",
    });
    expect(addressOf(element("<serial><address type='isa' iobase='0x3f8'/></serial>"))).toEqual({
      type: "isa",
      raw: { type: "isa", iobase: "0x3f8" },
    });
    expect(addressOf(element("<rng model='virtio'/>"))).toBeNull();
  });

  it("formats each kind the way reports and the guest probe write it", () => {
    expect(formatAddress({ type: "pci", domain: 0, bus: 0, slot: 0x1f, function: 2 })).toBe("PCI 00:1f.2");
    expect(formatAddress({ type: "pci", domain: 1, bus: 3, slot: 1, function: 0 })).toBe("PCI 0001:03:01.0");
    expect(formatAddress({ type: "drive", controller: 0, bus: 1, target: 0, unit: 1 })).toBe("drive 0:1:0:1");
    expect(formatAddress({ type: "usb", bus: 0, port: "2" })).toBe("USB 0-2");
    expect(formatAddress({ type: "isa", raw: { iobase: "0x3f8" } })).toBe('isa {"iobase":"0x3f8"}');
    expect(formatAddress(null)).toBe("no address");
  });
});

/**
 * The domain with every part pointDomainAtBootproof may change taken out: disk sources,
 * backing stores and driver format, interface type and host plumbing, serial ports and
 * consoles, domain type, on_reboot/on_crash and the SeaBIOS reboot timeout. What is left
 * must be identical before and after.
 */
function guestVisible(xml: string): string {
  const out = editDomain(xml, (root) => {
    root.removeAttribute("type");
    const strip = (parent: XmlElement, tags: string[]) => {
      for (const tag of tags)
        for (const e of Array.from(parent.getElementsByTagName(tag)).filter((c) => c.parentNode === parent))
          parent.removeChild(e);
    };
    strip(root, ["on_reboot", "on_crash"]);
    const os = root.getElementsByTagName("os")[0];
    if (os) strip(os, ["bios"]);
    const devices = root.getElementsByTagName("devices")[0]!;
    strip(devices, ["serial", "console"]);
    for (const disk of Array.from(devices.getElementsByTagName("disk"))) {
      disk.removeAttribute("type");
      strip(disk, ["source", "backingStore"]);
      disk.getElementsByTagName("driver")[0]?.removeAttribute("type");
    }
    for (const nic of Array.from(devices.getElementsByTagName("interface"))) {
      nic.removeAttribute("type");
      strip(nic, ["source", "target", "driver"]);
    }
  });
  // Whitespace between elements is not part of the domain.
  return new XMLSerializer()
    .serializeToString(new DOMParser().parseFromString(out.replace(/>\s+</g, "><"), "text/xml"))
    .replaceAll('"', "'");
}

describe("pointDomainAtBootproof", () => {
  it("rewrites Nova's XML into bootproof's world and changes nothing else (NIC, serial, on_reboot)", () => {
    const xml = realXml("virtio-nic-virtio-rescue", "rescue", "driver");
    const { xml: pointed, changes } = pointDomainAtBootproof(xml, world);
    expect(guestVisible(pointed)).toBe(guestVisible(xml));
    const before = summarizeDomain(xml);
    const after = summarizeDomain(pointed);
    const guestSide = (d: DomainSummary) => ({
      disks: d.disks.map(({ sourceFile: _s, driverType: _t, ...rest }) => rest),
      interfaces: d.interfaces.map(({ type: _t, ...rest }) => rest),
      osBootDevices: d.osBootDevices,
      machine: d.machine,
    });
    expect(guestSide(after)).toEqual(guestSide(before));
    expect(after.disks.map((d) => [d.sourceFile, d.driverType])).toEqual([
      ["/w/vda.qcow2", "qcow2"],
      ["/w/vdb.qcow2", "qcow2"],
      ["/w/vdc.qcow2", "qcow2"],
    ]);
    expect(after.disks[2]?.bootOrder).toBe(1);
    expect(after.interfaces[0]).toMatchObject({ type: "user", mac: "fa:16:3e:00:00:01", model: "virtio" });
    expect(pointed).not.toMatch(/br-bootproof|tapb4744e9b|console\.log/);
    expect(pointed).toMatch(/<serial type="file"><source path="\/w\/serial.out"\/>/);
    expect(pointed).toMatch(/<on_reboot>destroy<\/on_reboot>/);
    expect(pointed).toContain('<bios rebootTimeout="1000"/>');
    expect(pointed).toContain(
      '<source file="/w/vdc.qcow2"/><backingStore type="file"><format type="raw"/><source file="/base/vdc.img"/><backingStore/></backingStore><target dev="vdc" bus="virtio"/>',
    );
    expect(changes).toEqual([
      "<on_reboot> (unset) → destroy (a guest reboot or crash ends the boot)",
      "<on_crash> (unset) → destroy (a guest reboot or crash ends the boot)",
      "<os><bios rebootTimeout='1000'/> (SeaBIOS gives up on no bootable device instead of waiting forever)",
      "disk vda: source /var/lib/nova/instances/5e1f00aa-7c1d-4b8e-9a55-0c0ffee00001/disk → /w/vda.qcow2 (overlay over /base/vda.img)",
      "disk vdb: source /var/lib/nova/instances/5e1f00aa-7c1d-4b8e-9a55-0c0ffee00001/disk.eph0 → /w/vdb.qcow2 (overlay over /base/vdb.img)",
      "disk vdc: source /var/lib/nova/instances/5e1f00aa-7c1d-4b8e-9a55-0c0ffee00001/disk.rescue → /w/vdc.qcow2 (overlay over /base/vdc.img)",
      "interface fa:16:3e:00:00:01: type bridge → user (QEMU user-mode networking)",
      "serial 0 → file /w/serial.out",
    ]);
  });

  it("keeps every address, serial, target and boot order of libvirt's own XML (unrescue restores it)", () => {
    for (const xml of [
      realXml("scsi-volume-scsi-rescue", "rescue", "defined"),
      realXml("q35-sata-cdrom-rescue-sata", "rescue", "defined"),
      realXml("virtio-nic-virtio-rescue", "normal", "defined"),
    ]) {
      const pointed = pointDomainAtBootproof(xml, world);
      expect(guestVisible(pointed.xml)).toBe(guestVisible(xml));
      const devices = (d: DomainSummary) => d.devices.filter((e) => e.element !== "console");
      expect(devices(summarizeDomain(pointed.xml))).toEqual(devices(summarizeDomain(xml)));
      // Already type qemu, destroy on reboot and crash, and a reboot timeout: nothing to say about those.
      expect(pointed.changes.some((c) => /on_reboot|on_crash|domain type|rebootTimeout/.test(c))).toBe(false);
    }
    const sda = summarizeDomain(pointDomainAtBootproof(realXml("scsi-volume-scsi-rescue", "rescue", "defined"), world).xml)
      .disks[1];
    expect(sda).toMatchObject({ targetDev: "sda", serial: "a0000001-5eed-4000-8000-000000000000", sourceFile: "/w/sda.qcow2" });
  });

  it("places a read-only medium without a backing store and switches a block device to a file", () => {
    const xml = realXml("scsi-volume-scsi-rescue", "normal", "driver");
    expect(xml).toContain('<disk type="block" device="disk">');
    const pointed = pointDomainAtBootproof(xml, {
      placeDisk: (d) => ({ file: `/ro/${d.targetDev}.img`, format: "raw" }),
      serialFile: "/s",
    });
    expect(pointed.xml).not.toContain('type="block"');
    expect(pointed.xml).not.toContain("backingStore");
    expect(summarizeDomain(pointed.xml).disks.map((d) => [d.targetDev, d.sourceFile, d.driverType])).toEqual([
      ["vda", "/ro/vda.img", "raw"],
      ["sda", "/ro/sda.img", "raw"],
    ]);
    expect(pointed.changes).toContain(
      "disk sda: source /dev/disk/by-id/bootproof-volume-a0000001-5eed-4000-8000-000000000000 → /ro/sda.img",
    );
  });

  it("turns a kvm domain into a qemu (TCG) one and says so", () => {
    const xml = realXml("usb-rescue", "normal", "driver").replace('<domain type="qemu">', '<domain type="kvm">');
    const pointed = pointDomainAtBootproof(xml, world);
    expect(summarizeDomain(pointed.xml).type).toBe("qemu");
    expect(pointed.changes[0]).toBe("domain type kvm → qemu (TCG: KVM is not usable here)");
  });

  it("refuses a disk bootproof has no medium for, naming the disk", () => {
    const xml = realXml("virtio-nic-virtio-rescue", "rescue", "driver");
    const partial: WorldPlan = { ...world, placeDisk: (d) => (d.targetDev === "vdc" ? undefined : world.placeDisk(d)) };
    expect(() => pointDomainAtBootproof(xml, partial)).toThrow(InputError);
    expect(() => pointDomainAtBootproof(xml, partial)).toThrow(
      "disk vdc (disk on virtio, source /var/lib/nova/instances/5e1f00aa-7c1d-4b8e-9a55-0c0ffee00001/disk.rescue) has no medium in bootproof's world",
    );
  });

  it("rejects XML that is not a domain, and a domain without devices", () => {
    expect(() => pointDomainAtBootproof("<network/>", world)).toThrow(
      /not a libvirt <domain> document: root element is <network>/,
    );
    expect(() => pointDomainAtBootproof("not xml at all", world)).toThrow("missing root element");
    expect(() => pointDomainAtBootproof("<domain type='qemu'><name>x</name></domain>", world)).toThrow(
      "the domain XML has no <devices> element",
    );
  });
});

describe("withoutInterfaces", () => {
  it("removes every interface and nothing else", () => {
    const xml = realXml("virtio-nic-virtio-rescue", "rescue", "defined");
    const stripped = withoutInterfaces(xml);
    const domain = summarizeDomain(stripped);
    expect(domain.interfaces).toEqual([]);
    expect(stripped).not.toContain("fa:16:3e:00:00:01");
    expect(domain.devices).toEqual(summarizeDomain(removeDevice(xml, "interface")).devices);
    expect(domain.disks).toEqual(summarizeDomain(xml).disks);
  });

  it("leaves a domain without interfaces as it was", () => {
    const xml = realXml("usb-rescue", "rescue", "defined");
    expect(summarizeDomain(withoutInterfaces(xml))).toEqual(summarizeDomain(xml));
  });
});
