import { describe, expect, it } from "vitest";
import type { DomainTopology, PropertyOutcome, StaticProperty } from "../../../harness/scenario.js";
import type { NovaRescueCase } from "../../../scenarios/nova/model.js";
import {
  driverAndLibvirtAccept,
  firstBootDisk,
  realNovaStaticProperties,
  rescueDiskOf,
  rootDiskOf,
  xmlDevicesKept,
  xmlNormalBootsRoot,
  xmlRescueDevice,
  xmlStorageKept,
} from "../../../scenarios/nova/real/static-properties.js";
import {
  duplicateDevice,
  moveDeviceFirst,
  removeDevice,
  setAddress,
  setBootOrder,
  setChildText,
} from "../../fixtures/libvirt/edit.js";
import { REAL_CASES, realTriple, refusedRescueTriple, type Triple } from "../../fixtures/libvirt/load.js";
import { goodUsbTriple, goodVirtioTriple, withXml } from "../../fixtures/libvirt/triples.js";

type Check = StaticProperty<NovaRescueCase, DomainTopology>;
const run = (property: Check, input: NovaRescueCase, topologies: Triple): PropertyOutcome => property.check(input, topologies);
const failures = (input: NovaRescueCase, topologies: Triple) =>
  realNovaStaticProperties.map((p) => ({ name: p.name, ...p.check(input, topologies) })).filter((o) => !o.ok);

const good = goodVirtioTriple();
/** The good virtio triple with one boot's XML edited. */
const edited = (boot: keyof Triple, stage: "driver" | "defined", edit: (xml: string) => string) =>
  withXml(good.topologies, boot, stage, edit);
/** The message of `property` on the good virtio triple with one boot's XML edited. */
const messageAfter = (property: Check, boot: keyof Triple, stage: "driver" | "defined", edit: (xml: string) => string) =>
  run(property, good.input, edited(boot, stage, edit)).message;

describe("the real-driver static properties on the hand-made good triples", () => {
  it("all pass on the virtio and USB rescues as the spec promises them", () => {
    expect(realNovaStaticProperties.map((p) => p.name)).toEqual([
      "S0-nova-and-libvirt-accept",
      "S1-normal-and-unrescue-boot-root",
      "S3-storage-kept-in-libvirt",
      "S6-rescue-device-as-requested",
      "S7-every-device-kept-in-libvirt",
    ]);
    expect(failures(good.input, good.topologies)).toEqual([]);
    const usb = goodUsbTriple();
    expect(failures(usb.input, usb.topologies)).toEqual([]);
  });

  it("all pass on the real SCSI and q35 SATA cdrom rescues: libvirt moved nothing there", () => {
    for (const name of ["scsi-volume-scsi-rescue", "q35-sata-cdrom-rescue-sata"] as const) {
      const { input, topologies } = realTriple(name);
      expect(failures(input, topologies), name).toEqual([]);
    }
  });

  it("find the rescue disk and the root disk by their media, and the first boot disk libvirt sets up", () => {
    const { topologies } = realTriple("q35-sata-cdrom-rescue-sata");
    expect(rescueDiskOf(topologies.rescue)).toMatchObject({ targetDev: "sdb", device: "cdrom", bus: "sata" });
    expect(rootDiskOf(topologies.normal)?.targetDev).toBe("vda");
    expect(firstBootDisk(topologies.normal.defined!)?.targetDev).toBe("vda");
    expect(firstBootDisk(topologies.rescue.defined!)?.targetDev).toBe("sdb");
  });
});

describe("the real-driver static properties on the real captured triples", () => {
  it("S7 fails on the real virtio rescue: libvirt moved the balloon and the RNG for the rescue disk", () => {
    const { input, topologies } = realTriple("virtio-nic-virtio-rescue");
    expect(failures(input, topologies).map((f) => f.name)).toEqual(["S7-every-device-kept-in-libvirt"]);
    expect(run(xmlDevicesKept, input, topologies).message).toBe(
      "memballoon virtio moved from PCI 00:07.0 to PCI 00:08.0 in the rescue domain (and 2 more: rng virtio moved from PCI 00:08.0 to PCI 00:09.0 in the rescue domain; disk vdc (disk on virtio), new in rescue, takes PCI 00:07.0, which a normal device had)",
    );
  });

  it("S7 fails on the real USB rescue: the rescue disk takes the tablet's port", () => {
    const { input, topologies } = realTriple("usb-rescue");
    expect(failures(input, topologies).map((f) => f.name)).toEqual(["S7-every-device-kept-in-libvirt"]);
    expect(run(xmlDevicesKept, input, topologies).message).toBe(
      "input tablet usb moved from USB 0-1 to USB 0-2 in the rescue domain (and 1 more: disk sda (disk on usb), new in rescue, takes USB 0-1, which a normal device had)",
    );
  });

  it("every captured case has a triple the properties can read", () => {
    for (const name of REAL_CASES) expect(Object.keys(realTriple(name).topologies)).toEqual(["normal", "rescue", "unrescue"]);
  });
});

describe("S0: Nova and libvirt accept", () => {
  it("fails when libvirt refuses the rescue domain Nova wrote (real: an IDE cdrom on q35)", () => {
    const { input, topologies } = refusedRescueTriple();
    expect(run(driverAndLibvirtAccept, input, topologies)).toEqual({
      ok: false,
      message:
        "libvirt refused the rescue domain Nova wrote (Nova accepted an input libvirt cannot run): unsupported configuration: IDE controllers are unsupported for this QEMU binary or machine type",
    });
    expect(topologies.rescue.driverXml).toContain('<target dev="hda" bus="ide"/>');
  });

  it("fails when Nova refuses, naming the exception", () => {
    const refused: DomainTopology = {
      kind: "libvirt-domain",
      driverXml: "",
      definedXml: null,
      defined: null,
      refusal: {
        by: "driver",
        type: "nova.exception.TooManyDiskDevices",
        message: "normal: The maximum allowed number of disk devices (26) to attach to a single instance has been exceeded.",
      },
      media: [],
    };
    expect(run(driverAndLibvirtAccept, good.input, { normal: refused, rescue: refused, unrescue: refused }).message).toBe(
      "Nova refused the normal domain: nova.exception.TooManyDiskDevices: normal: The maximum allowed number of disk devices (26) to attach to a single instance has been exceeded.",
    );
  });

  it("the XML-level properties say which domain was refused instead of judging it", () => {
    const { input, topologies } = refusedRescueTriple();
    const refused = failures(input, topologies);
    expect(refused.map((f) => f.name)).toEqual(realNovaStaticProperties.map((p) => p.name));
    for (const property of [xmlNormalBootsRoot, xmlStorageKept, xmlRescueDevice, xmlDevicesKept])
      expect(run(property, input, topologies).message).toBe(
        "the rescue domain was refused by libvirt: unsupported configuration: IDE controllers are unsupported for this QEMU binary or machine type",
      );
    const { rescue: _, ...withoutRescue } = good.topologies;
    expect(run(xmlStorageKept, good.input, withoutRescue as Triple).message).toBe("the scenario produced no 'rescue' domain");
  });
});

describe("S1: the normal and unrescue domains boot the root disk", () => {
  it("fails when another disk has the first boot order", () => {
    expect(
      messageAfter(xmlNormalBootsRoot, "normal", "defined", (xml) =>
        setBootOrder(xml.replace("<boot dev='hd'/>", ""), "disk vdb", 1),
      ),
    ).toBe("the normal domain boots disk vdb (disk on virtio) first, not the root disk vda (virtio)");
  });

  it("fails on unrescue when libvirt's first disk for <boot dev='hd'/> is not the root, and says why", () => {
    expect(messageAfter(xmlNormalBootsRoot, "unrescue", "defined", (xml) => moveDeviceFirst(xml, "disk vdb"))).toBe(
      "the unrescue domain boots disk vdb (disk on virtio) first, not the root disk vda (virtio): <os><boot dev='hd'/> gives libvirt's first disk bootindex 1, and libvirt sorts disks by bus",
    );
  });
});

describe("S3: storage kept in libvirt", () => {
  it("fails when a disk moved in the rescue domain", () => {
    expect(messageAfter(xmlStorageKept, "rescue", "defined", (xml) => setAddress(xml, "disk vdb", { slot: "0x0a" }))).toBe(
      "disk vdb (disk on virtio) changed in the rescue domain: address PCI 00:06.0 -> PCI 00:0a.0",
    );
  });

  it("fails when the controller the disks hang off moved", () => {
    expect(messageAfter(xmlStorageKept, "rescue", "defined", (xml) => setAddress(xml, "controller 0", { slot: "0x0a" }))).toBe(
      "the scsi controller 0 its disks hang off moved in the rescue domain: PCI 00:04.0 -> PCI 00:0a.0",
    );
  });

  it("fails when a volume's serial or SCSI unit differs, or a disk is missing after unrescue", () => {
    const { input, topologies } = realTriple("scsi-volume-scsi-rescue");
    const serial = withXml(topologies, "rescue", "defined", (xml) => setChildText(xml, "disk sda", "serial", "other-serial"));
    expect(run(xmlStorageKept, input, serial).message).toBe(
      "disk sda (disk on scsi) changed in the rescue domain: serial a0000001-5eed-4000-8000-000000000000 -> other-serial",
    );
    const unit = withXml(topologies, "rescue", "defined", (xml) => setAddress(xml, "disk sda", { unit: "3" }));
    expect(run(xmlStorageKept, input, unit).message).toBe(
      "disk sda (disk on scsi) changed in the rescue domain: address drive 0:0:0:0 -> drive 0:0:0:3",
    );
    const gone = withXml(topologies, "unrescue", "defined", (xml) => removeDevice(xml, "disk sda"));
    expect(run(xmlStorageKept, input, gone).message).toBe(
      "disk sda (disk on scsi) of the normal domain is missing in the unrescue domain",
    );
  });
});

describe("S6: the rescue device as requested", () => {
  it("fails when the rescue disk is on another bus than the image asked for", () => {
    const input: NovaRescueCase = { ...good.input, rescue: { hw_rescue_device: "disk", hw_rescue_bus: "usb" } };
    expect(run(xmlRescueDevice, input, good.topologies).message).toBe(
      "the rescue disk vdc is a disk on virtio; the rescue image asked for a disk on usb",
    );
    const cdrom: NovaRescueCase = { ...good.input, rescue: { hw_rescue_device: "cdrom" } };
    expect(run(xmlRescueDevice, cdrom, good.topologies).message).toBe(
      "the rescue disk vdc is a disk on virtio; the rescue image asked for a cdrom on ide",
    );
  });

  it("fails when Nova did not write the rescue disk last", () => {
    expect(messageAfter(xmlRescueDevice, "rescue", "driver", (xml) => moveDeviceFirst(xml, "disk vdc"))).toBe(
      "Nova wrote the rescue disk vdc as disk 1 of 3; it must be attached last",
    );
  });

  it("fails when another device has a boot order too, or the rescue disk's is not 1", () => {
    expect(messageAfter(xmlRescueDevice, "rescue", "defined", (xml) => setBootOrder(xml, "disk vda", 2))).toBe(
      "another device (vda) also has a boot order: 2",
    );
    expect(messageAfter(xmlRescueDevice, "rescue", "defined", (xml) => setBootOrder(xml, "interface", 2))).toBe(
      "another device (fa:16:3e:00:00:01) also has a boot order: 2",
    );
    expect(messageAfter(xmlRescueDevice, "rescue", "defined", (xml) => setBootOrder(xml, "disk vdc", 2))).toBe(
      "the rescue disk vdc has boot order 2, expected 1",
    );
  });

  it("fails when the rescue domain keeps <os><boot dev>, or has no rescue medium", () => {
    expect(
      messageAfter(xmlRescueDevice, "rescue", "defined", (xml) =>
        xml.replace(/<smbios mode=["']sysinfo["']\/>/, "<boot dev='hd'/>$&"),
      ),
    ).toBe("the rescue domain keeps <os><boot dev='hd'/>");
    const rescue = good.topologies.rescue;
    const noRescueMedium: Triple = {
      ...good.topologies,
      rescue: { ...rescue, media: rescue.media.filter((m) => m.targetDev !== "vdc") },
    };
    expect(run(xmlRescueDevice, good.input, noRescueMedium).message).toBe(
      "the rescue domain has no disk backed by the rescue image",
    );
  });
});

describe("S7: every device kept in libvirt", () => {
  it("fails when the unrescue domain differs from the normal one", () => {
    expect(messageAfter(xmlDevicesKept, "unrescue", "defined", (xml) => setAddress(xml, "memballoon", { slot: "0x0a" }))).toBe(
      "memballoon virtio moved from PCI 00:07.0 to PCI 00:0a.0 after unrescue",
    );
    expect(messageAfter(xmlDevicesKept, "unrescue", "defined", (xml) => duplicateDevice(xml, "rng", { slot: "0x0a" }))).toBe(
      "rng virtio is new after unrescue",
    );
    expect(messageAfter(xmlDevicesKept, "unrescue", "defined", (xml) => removeDevice(xml, "interface"))).toBe(
      "interface fa:16:3e:00:00:01 (virtio) is missing after unrescue",
    );
  });

  it("fails when the rescue domain loses a device or adds one that is not the rescue disk", () => {
    expect(messageAfter(xmlDevicesKept, "rescue", "defined", (xml) => removeDevice(xml, "rng"))).toBe(
      "rng virtio (PCI 00:08.0) is missing in the rescue domain",
    );
    expect(messageAfter(xmlDevicesKept, "rescue", "defined", (xml) => duplicateDevice(xml, "rng", { slot: "0x0a" }))).toBe(
      "rescue adds rng virtio (PCI 00:0a.0), which is neither the rescue disk nor its controller",
    );
  });

  it("accepts one controller the rescue disk needs at a free address, not two", () => {
    const scsi = (index: string, slot: string) => (xml: string) =>
      xml.replace(
        /<controller type=["']usb["']/,
        `<controller type='scsi' index='${index}' model='virtio-scsi'><address type='pci' domain='0x0000' bus='0x00' slot='${slot}' function='0x0'/></controller>$&`,
      );
    expect(run(xmlDevicesKept, good.input, edited("rescue", "defined", scsi("1", "0x0a")))).toEqual({ ok: true });
    expect(messageAfter(xmlDevicesKept, "rescue", "defined", (xml) => scsi("2", "0x0b")(scsi("1", "0x0a")(xml)))).toBe(
      "rescue adds 2 controllers: controller scsi 1 (virtio-scsi), controller scsi 2 (virtio-scsi)",
    );
    expect(messageAfter(xmlDevicesKept, "rescue", "defined", scsi("1", "0x03"))).toBe(
      "controller scsi 1 (virtio-scsi), new in rescue, takes PCI 00:03.0, which a normal device had",
    );
  });
});
