import { describe, expect, it } from "vitest";
import { type DomainSummary, summarizeDomain } from "../../../harness/libvirt/domain-xml.js";
import { probeModulesForDomain } from "../../../harness/libvirt/probe-modules.js";
import { setAddress } from "../../fixtures/libvirt/edit.js";
import { guestDumpxml, realXml } from "../../fixtures/libvirt/load.js";

const modules = (xml: string) => probeModulesForDomain(summarizeDomain(xml));
const loadsBefore = (list: string[], a: string, b: string) => list.indexOf(a) >= 0 && list.indexOf(a) < list.indexOf(b);

describe("probeModulesForDomain on libvirt's domains", () => {
  it("loads fw_cfg and the chipset first, host adapters in PCI order, sd/sr last (pc)", () => {
    expect(modules(realXml("virtio-nic-virtio-rescue", "normal", "defined"))).toEqual([
      "qemu_fw_cfg",
      "ata_piix",
      "virtio_pci",
      "uhci_hcd", // piix3-uhci at 00:01.2
      "virtio_scsi", // 00:04.0
      "virtio_blk", // first virtio disk at 00:05.0
      "virtio_net",
      "sd_mod",
      "sr_mod",
    ]);
  });

  it("uses AHCI as the chipset of q35 and ranks devices behind root ports by bus", () => {
    expect(modules(realXml("q35-sata-cdrom-rescue-sata", "rescue", "defined"))).toEqual([
      "qemu_fw_cfg",
      "ahci",
      "virtio_pci",
      "virtio_scsi", // 02:00.0
      "uhci_hcd", // 03:01.0, behind the PCIe-to-PCI bridge
      "virtio_blk", // 04:00.0
      "sd_mod",
      "sr_mod",
    ]);
  });

  it("ranks usb-storage with its USB controller, before a SCSI controller at a later address", () => {
    const list = modules(realXml("usb-rescue", "rescue", "defined"));
    expect(list.slice(0, 6)).toEqual(["qemu_fw_cfg", "ata_piix", "virtio_pci", "uhci_hcd", "usb_storage", "virtio_scsi"]);
    expect(list.slice(-2)).toEqual(["sd_mod", "sr_mod"]);
    expect(modules(realXml("usb-rescue", "normal", "defined"))).not.toContain("usb_storage");
  });

  it("orders virtio_scsi by the SCSI controller's PCI slot, not by kind", () => {
    const xml = guestDumpxml("rescue");
    expect(loadsBefore(modules(xml), "virtio_scsi", "virtio_blk")).toBe(true);
    const late = setAddress(xml, "controller 0", { slot: "0x0b" });
    expect(summarizeDomain(late).controllers[0]).toMatchObject({ type: "scsi", model: "virtio-scsi" });
    expect(loadsBefore(modules(late), "virtio_blk", "virtio_scsi")).toBe(true);
    // The whole list keeps the same modules, only their order changes.
    expect([...modules(late)].sort()).toEqual([...modules(xml)].sort());
  });

  describe("on hand-made summaries", () => {
    const base = summarizeDomain(guestDumpxml("normal"));
    const domain = (overrides: Partial<DomainSummary>): DomainSummary => ({ ...base, ...overrides });

    it("maps SCSI models (LSI is libvirt's x86 default), SATA, IDE and USB controllers", () => {
      const pci = (slot: number) => ({ type: "pci", domain: 0, bus: 0, slot, function: 0 }) as const;
      const list = probeModulesForDomain(
        domain({
          disks: [],
          interfaces: [],
          devices: [],
          controllers: [
            { type: "scsi", index: 0, model: null, address: pci(9) },
            { type: "scsi", index: 1, model: "lsilogic", address: pci(10) },
            { type: "sata", index: 0, model: null, address: pci(11) },
            { type: "ide", index: 0, model: null, address: null },
            { type: "usb", index: 0, model: "qemu-xhci", address: pci(4) },
            { type: "usb", index: 1, model: "none", address: null },
          ],
        }),
      );
      expect(list).toEqual(["qemu_fw_cfg", "ata_piix", "xhci_pci", "sym53c8xx", "ahci", "sd_mod", "sr_mod"]);
    });

    it("adds the floppy driver for an fdc disk, e1000 for an e1000 NIC and virtio_pci for a balloon alone", () => {
      const floppy = { ...base.disks[0]!, bus: "fdc", device: "floppy", targetDev: "fda", address: null };
      const list = probeModulesForDomain(
        domain({
          disks: [floppy],
          controllers: [],
          interfaces: [{ index: 0, type: "user", mac: null, model: "e1000", address: null, bootOrder: null, romFile: null }],
          devices: [{ label: "memballoon virtio", element: "memballoon", address: null }],
        }),
      );
      expect(list).toEqual(["qemu_fw_cfg", "ata_piix", "virtio_pci", "e1000", "floppy", "sd_mod", "sr_mod"]);
    });
  });
});
