import { describe, expect, it } from "vitest";
import { summarizeDomain } from "../../../harness/libvirt/domain-xml.js";
import {
  addressKey,
  compareDomainDevices,
  describeMove,
  domainDeviceEntries,
  firstAddressChange,
  sameAddress,
} from "../../../harness/libvirt/inventory.js";
import { duplicateDevice, removeDevice, setAddress } from "../../fixtures/libvirt/edit.js";
import { guestDumpxml, realXml } from "../../fixtures/libvirt/load.js";

const normalXml = guestDumpxml("normal");
const normal = summarizeDomain(normalXml);

describe("domainDeviceEntries", () => {
  it("names each device by what survives a redefinition: target dev, MAC, controller index, else label and ordinal", () => {
    const entries = domainDeviceEntries(summarizeDomain(realXml("virtio-nic-virtio-rescue", "normal", "defined")));
    expect(entries.map((e) => e.key)).toEqual([
      "emulator #0",
      "disk vda",
      "disk vdb",
      "controller scsi 0",
      "controller usb 0",
      "controller pci 0",
      "interface fa:16:3e:00:00:01",
      "serial isa-serial 0 #0",
      "console serial 0 #0",
      "input tablet usb #0",
      "input mouse ps2 #0",
      "input keyboard ps2 #0",
      "graphics #0",
      "audio #0",
      "video virtio #0",
      "memballoon virtio #0",
      "rng virtio #0",
    ]);
  });

  it("puts drive addresses in the numbering of their disk's bus", () => {
    const entries = domainDeviceEntries(summarizeDomain(realXml("q35-sata-cdrom-rescue-sata", "rescue", "defined")));
    const space = (key: string) => entries.find((e) => e.key === key)?.space;
    expect(space("disk sda")).toBe("drive/sata");
    expect(space("disk vda")).toBe("pci");
    expect(space("input tablet usb #0")).toBe("usb");
    expect(space("graphics #0")).toBe("none");
    const sdb = entries.find((e) => e.key === "disk sdb")!;
    expect(addressKey(sdb)).toBe('drive/sata|{"type":"drive","controller":0,"bus":0,"target":0,"unit":1}');
    // The same drive numbers on another bus are another address.
    expect(addressKey({ ...sdb, space: "drive/scsi" })).not.toBe(addressKey(sdb));
  });

  it("numbers devices without an identity of their own in order", () => {
    const twoRngs = summarizeDomain(duplicateDevice(normalXml, "rng", { slot: "0x09" }));
    const rngs = domainDeviceEntries(twoRngs).filter((e) => e.label === "rng virtio");
    expect(rngs.map((e) => e.key)).toEqual(["rng virtio #0", "rng virtio #1"]);
  });
});

describe("compareDomainDevices and firstAddressChange", () => {
  it("report nothing for identical domains, and for the same domain defined again in another world", () => {
    expect(compareDomainDevices(normal, normal)).toEqual({ moved: [], missing: [], added: [] });
    expect(firstAddressChange(normal, summarizeDomain(guestDumpxml("unrescue")))).toBeNull();
    // The placeholder world of the static check and the boot's world: the same addresses.
    const placeholder = summarizeDomain(realXml("virtio-nic-virtio-rescue", "normal", "defined"));
    expect(firstAddressChange(placeholder, placeholder)).toBeNull();
  });

  it("report the balloon and RNG libvirt moved in the real rescue domain, and the rescue disk as new", () => {
    const rescue = summarizeDomain(guestDumpxml("rescue"));
    const comparison = compareDomainDevices(normal, rescue);
    expect(comparison.moved.map(describeMove)).toEqual([
      "memballoon virtio moved from PCI 00:06.0 to PCI 00:07.0",
      "rng virtio moved from PCI 00:07.0 to PCI 00:08.0",
    ]);
    expect(comparison.missing).toEqual([]);
    expect(comparison.added.map((a) => a.key)).toEqual(["disk vdc"]);
    expect(firstAddressChange(normal, rescue)).toBe("memballoon virtio moved from PCI 00:06.0 to PCI 00:07.0");
  });

  it("report the USB tablet a USB rescue disk pushes to the next port", () => {
    const moved = compareDomainDevices(
      summarizeDomain(realXml("usb-rescue", "normal", "defined")),
      summarizeDomain(realXml("usb-rescue", "rescue", "defined")),
    ).moved;
    expect(moved.map(describeMove)).toEqual(["input tablet usb moved from USB 0-1 to USB 0-2"]);
  });

  it("report a device that is gone, then one that is new, when nothing moved", () => {
    expect(firstAddressChange(normal, summarizeDomain(removeDevice(normalXml, "rng")))).toBe("rng virtio (PCI 00:07.0) is gone");
    expect(firstAddressChange(normal, summarizeDomain(duplicateDevice(normalXml, "rng", { slot: "0x09" })))).toBe(
      "rng virtio (PCI 00:09.0) is new",
    );
    // A move is reported before anything that went missing.
    const both = summarizeDomain(removeDevice(setAddress(normalXml, "disk vdb", { slot: "0x0a" }), "rng"));
    expect(firstAddressChange(normal, both)).toBe("disk vdb (disk on virtio) moved from PCI 00:05.0 to PCI 00:0a.0");
  });

  it("compare drive addresses field by field", () => {
    const xml = realXml("scsi-volume-scsi-rescue", "normal", "defined");
    const moved = summarizeDomain(setAddress(xml, "disk sda", { unit: "2" }));
    expect(firstAddressChange(summarizeDomain(xml), moved)).toBe(
      "disk sda (disk on scsi) moved from drive 0:0:0:0 to drive 0:0:0:2",
    );
    expect(sameAddress(null, null)).toBe(true);
    expect(sameAddress({ type: "usb", bus: 0, port: "1" }, { type: "usb", bus: 0, port: "2" })).toBe(false);
  });
});
