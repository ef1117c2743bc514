import { describe, expect, it } from "vitest";
import type { Observation } from "../../../firmware/observation.js";
import { summarizeDomain } from "../../../harness/libvirt/domain-xml.js";
import type { DomainBootRecord, PropertyOutcome } from "../../../harness/scenario.js";
import type { NovaRescueCase } from "../../../scenarios/nova/model.js";
import {
  everyOtherDeviceKept,
  guestClass,
  normalBootsRoot,
  pciFunctionOf,
  realNovaBootProperties,
  rescueBootsRescueMedia,
  rescueDeviceAsRequested,
  rescueFirstInBootOrder,
  rescueKeepsStorage,
  unrescueRestoresNormal,
} from "../../../scenarios/nova/real/properties.js";
import { guestBoots, guestInput, realXml } from "../../fixtures/libvirt/load.js";
import {
  addPciFunction,
  editBlockDevice,
  goodGuestBoots,
  goodRescueObservation,
  guestObservationCopy,
  movePci,
} from "../../fixtures/libvirt/synthetic-observations.js";

const input = guestInput();
type Boots = Record<string, DomainBootRecord>;
const check = (property: { check(i: NovaRescueCase, b: Boots): PropertyOutcome }, boots: Boots, i = input) =>
  property.check(i, boots);
const failing = (boots: Boots) =>
  realNovaBootProperties.map((p) => ({ name: p.name, ...p.check(input, boots) })).filter((o) => !o.ok);

const real = guestBoots();
const good = goodGuestBoots();
/** The good boots with the rescue guest's observation replaced. */
const rescueSaw = (observation: Observation | null) => goodGuestBoots({ rescue: observation });

describe("the real-driver boot properties on the real run and on its good synthetic twin", () => {
  it("the real run passes P1-P6 and fails only P7, naming the balloon and the RNG libvirt moved", () => {
    expect(failing(real).map((f) => f.name)).toEqual(["P7-every-device-kept"]);
    expect(check(everyOtherDeviceKept, real)).toEqual({
      ok: false,
      proofLevel: "guest",
      message:
        "virtio-balloon (1af4:1002) moved from PCI 00:06.0 to PCI 00:07.0 in the rescue boot (and 2 more: virtio-rng (1af4:1005) moved from PCI 00:07.0 to PCI 00:08.0 in the rescue boot; virtio-blk (1af4:1001) at PCI 00:06.0 in the rescue boot, where the normal boot had another device)",
    });
    // The disks themselves did not move: the storage property holds on the same run.
    expect(check(rescueKeepsStorage, real)).toEqual({ ok: true, proofLevel: "guest" });
    expect(check(rescueDeviceAsRequested, real)).toEqual({ ok: true, proofLevel: "guest" });
  });

  it("the synthetic good triple (rescue disk at a free slot) passes every property", () => {
    expect(failing(good)).toEqual([]);
    expect(good.rescue!.domain.disks.find((d) => d.targetDev === "vdc")?.address).toMatchObject({ slot: 8 });
  });
});

describe("P3: rescue keeps storage", () => {
  it("fails when a normal disk appears at another PCI function in the rescue guest", () => {
    const moved = movePci(goodRescueObservation(), "00:05.0", "00:0a.0");
    expect(check(rescueKeepsStorage, rescueSaw(moved)).message).toBe(
      "vdb (virtio, PCI 00:05.0) changed in the rescue boot: PCI BDF 00:05.0 -> 00:0a.0",
    );
  });

  it("fails when a disk's kernel name or WWN changes", () => {
    const renamed = editBlockDevice(goodRescueObservation(), "vdb", (d) => {
      d.name = "vdd";
    });
    expect(check(rescueKeepsStorage, rescueSaw(renamed)).message).toBe(
      "vdb (virtio, PCI 00:05.0) changed in the rescue boot: kernel name vdb -> vdd",
    );
    const wwn = editBlockDevice(goodRescueObservation(), "vdb", (d) => {
      d.naaIds = ["6001405aabbccdd0"];
    });
    expect(check(rescueKeepsStorage, rescueSaw(wwn)).message).toBe(
      "vdb (virtio, PCI 00:05.0) changed in the rescue boot: WWN none -> 6001405aabbccdd0",
    );
  });

  it("refuses a vacuous comparison and a boot without observation", () => {
    const blind = guestObservationCopy("normal");
    blind.blockDevices = blind.blockDevices.slice(0, 1);
    expect(check(rescueKeepsStorage, goodGuestBoots({ normal: blind })).message).toBe(
      "the normal boot's guest saw 1 block devices but the domain has 2 disks; the comparison would be vacuous",
    );
    expect(check(rescueKeepsStorage, rescueSaw(null)).message).toBe(
      "the rescue boot never reached the probe: the guest panicked (synthetic)",
    );
  });
});

describe("P6: rescue device as requested", () => {
  it("fails when the rescue guest sees the rescue device as another kind or on another transport", () => {
    const asCdrom = editBlockDevice(goodRescueObservation(), "vdc", (d) => {
      d.name = "sr0";
      d.bus = "scsi";
      d.pciBdf = "00:03.0";
      d.hctl = "2:0:0:0";
    });
    expect(check(rescueDeviceAsRequested, rescueSaw(asCdrom)).message).toBe(
      "the rescue guest sees the rescue device as a cdrom on scsi (sr0 (scsi, PCI 00:03.0, H:C:T:L 2:0:0:0)); the rescue image asked for a disk on virtio",
    );
    const usb: NovaRescueCase = { ...input, rescue: { hw_rescue_device: "disk", hw_rescue_bus: "usb" } };
    expect(check(rescueDeviceAsRequested, good, usb).message).toBe(
      "the rescue guest sees the rescue device as a disk on virtio (vdc (virtio, PCI 00:08.0)); the rescue image asked for a disk on usb",
    );
  });

  it("fails when the rescue guest sees no extra device, or more than one", () => {
    const none = guestObservationCopy("normal");
    expect(check(rescueDeviceAsRequested, rescueSaw(none)).message).toBe(
      "the rescue guest sees 0 block devices the normal guest did not (none); expected exactly the rescue device",
    );
    const two = goodRescueObservation();
    two.blockDevices.push({ ...two.blockDevices[2]!, name: "vdd", sizeBytes: 1 << 20, pciBdf: "00:09.0" });
    expect(check(rescueDeviceAsRequested, rescueSaw(two)).message).toBe(
      "the rescue guest sees 2 block devices the normal guest did not (vdc (virtio, PCI 00:08.0), vdd (virtio, PCI 00:09.0)); expected exactly the rescue device",
    );
  });

  it("classifies an ATA device by its controller's PCI class: AHCI is sata, anything else ide", () => {
    const ahci = addPciFunction(guestObservationCopy("rescue"), {
      bdf: "00:1f.2",
      vendorId: "0x8086",
      deviceId: "0x2922",
      classCode: "0x010601",
    });
    const cd = { ...ahci.blockDevices[0]!, name: "sr0", bus: "ata" as const, pciBdf: "00:1f.2" };
    expect(guestClass(cd, ahci)).toEqual({ device: "cdrom", transport: "sata" });
    expect(guestClass({ ...cd, pciBdf: "00:01.1" }, ahci)).toEqual({ device: "cdrom", transport: "ide" });
    expect(guestClass({ ...cd, name: "fd0", bus: "floppy" }, ahci)).toEqual({ device: "floppy", transport: "fdc" });
  });
});

describe("P7: every other device kept", () => {
  it("fails when a USB device changes port in the rescue guest", () => {
    const o = goodRescueObservation();
    o.usbDevices = o.usbDevices.map((d) => (d.isRootHub ? d : { ...d, portPath: "1-2" }));
    expect(check(everyOtherDeviceKept, rescueSaw(o)).message).toBe(
      "USB tablet (0627:0001) moved from USB 1-1 to USB 1-2 in the rescue boot",
    );
  });

  it("fails when a NIC changes PCI function in the rescue guest", () => {
    const nic = { name: "eth0", mac: "fa:16:3e:00:00:01", pciBdf: "00:03.0", driver: "virtio_net" };
    const normal = guestObservationCopy("normal");
    normal.nics = [nic];
    const unrescue = structuredClone(normal);
    const rescue = goodRescueObservation();
    rescue.nics = [{ ...nic, pciBdf: "00:09.0" }];
    expect(check(everyOtherDeviceKept, goodGuestBoots({ normal, rescue, unrescue })).message).toBe(
      "NIC fa:16:3e:00:00:01 moved from PCI 00:03.0 to PCI 00:09.0 in the rescue boot",
    );
  });

  it("fails when the rescue guest adds more than the rescue device and one controller", () => {
    const o = addPciFunction(addPciFunction(goodRescueObservation(), { bdf: "00:09.0" }), { bdf: "00:0a.0" });
    expect(check(everyOtherDeviceKept, rescueSaw(o)).message).toBe(
      "the rescue boot adds 3 PCI functions: virtio-blk (1af4:1001) at PCI 00:08.0, virtio-rng (1af4:1005) at PCI 00:09.0, virtio-rng (1af4:1005) at PCI 00:0a.0",
    );
    // One controller next to the rescue device is what a rescue on a new bus needs.
    expect(check(everyOtherDeviceKept, rescueSaw(addPciFunction(goodRescueObservation(), { bdf: "00:09.0" })))).toEqual({
      ok: true,
      proofLevel: "guest",
    });
  });

  it("fails when the unrescue guest differs from the normal one", () => {
    const gone = guestObservationCopy("unrescue");
    gone.pciFunctions = gone.pciFunctions.filter((f) => f.bdf !== "00:07.0");
    expect(check(everyOtherDeviceKept, goodGuestBoots({ unrescue: gone })).message).toBe(
      "virtio-rng (1af4:1005) at PCI 00:07.0 is missing in the unrescue boot",
    );
    const extra = addPciFunction(guestObservationCopy("unrescue"), { bdf: "00:09.0" });
    expect(check(everyOtherDeviceKept, goodGuestBoots({ unrescue: extra })).message).toBe(
      "virtio-rng (1af4:1005) at PCI 00:09.0 is new in the unrescue boot",
    );
  });
});

describe("P1, P2, P4, P5 on the synthetic triple", () => {
  it("P1 fails when the normal boot started something else or nothing", () => {
    const rescued = guestObservationCopy("normal");
    rescued.role = "rescue";
    expect(check(normalBootsRoot, goodGuestBoots({ normal: rescued })).message).toBe(
      "the normal boot started 'rescue', expected 'root'",
    );
    expect(check(normalBootsRoot, goodGuestBoots({ normal: null })).message).toBe(
      "the normal boot should start the root disk but never reached the probe: the guest panicked (synthetic)",
    );
  });

  it("P2 fails when the rescue boot started the root disk", () => {
    const root = goodRescueObservation();
    root.role = "root";
    expect(check(rescueBootsRescueMedia, rescueSaw(root)).message).toBe(
      "the rescue boot started 'root', expected 'rescue' (the disk vdc on virtio)",
    );
  });

  it("P4 fails when the rescue disk is still there after unrescue", () => {
    const leftover = goodRescueObservation();
    leftover.role = "root";
    expect(check(unrescueRestoresNormal, goodGuestBoots({ unrescue: leftover })).message).toBe(
      "the unrescue boot has devices the normal boot did not: vdc (virtio, PCI 00:08.0)",
    );
  });

  it("P5 fails when fw_cfg's bootorder starts elsewhere or is unreadable, and finds the disk's PCI function", () => {
    const o = goodRescueObservation();
    o.bootOrder = ["/pci@i0cf8/scsi@4/disk@0,0", "HALT"];
    expect(check(rescueFirstInBootOrder, rescueSaw(o)).message).toBe(
      "fw_cfg bootorder starts with /pci@i0cf8/scsi@4/disk@0,0; the rescue disk vdc on virtio hangs off PCI 00:08.0 (expected ^\\/pci@i0cf8\\/[^/@]+@8(\\/|$); bootorder: /pci@i0cf8/scsi@4/disk@0,0 | HALT)",
    );
    o.bootOrder = null;
    expect(check(rescueFirstInBootOrder, rescueSaw(o)).message).toBe(
      "the guest could not read fw_cfg bootorder (qemu_fw_cfg missing from the probe?)",
    );
    const rescue = good.rescue!.domain;
    expect(pciFunctionOf(rescue, rescue.disks.find((d) => d.targetDev === "vdc")!)).toMatchObject({
      bus: 0,
      slot: 8,
      function: 0,
    });
  });

  // P5 matches the whole PCI path: behind q35's PCIe root ports every device is at slot 0, so
  // only the root port tells the rescue disk from the root disk.
  it("P5 fails on q35 when bootorder starts with the root disk behind another root port", () => {
    const q35 = realXml("q35-sata-cdrom-rescue-sata", "normal", "defined")
      .replace("<boot dev='hd'/>", "")
      .replace(
        "<controller type='scsi'",
        "<disk type='file' device='disk'><source file='/r.qcow2'/><target dev='vdc' bus='virtio'/><boot order='1'/><address type='pci' domain='0x0000' bus='0x07' slot='0x00' function='0x0'/></disk>$&",
      );
    const domain = summarizeDomain(q35);
    const boots = goodGuestBoots();
    const rescue = boots.rescue!;
    const media = [
      { targetDev: "vda", media: { kind: "bios-disk", role: "root" }, writable: true },
      { targetDev: "vdc", media: { kind: "bios-disk", role: "rescue" }, writable: true },
    ] as const;
    boots.rescue = {
      ...rescue,
      domain,
      topology: { ...rescue.topology, defined: domain, media: [...media] },
      // vda, the root disk, is at 04:00.0 behind root port pci.4 (00:02.2); vdc behind pci.7 (00:02.5).
      observation: { ...rescue.observation!, bootOrder: ["/pci@i0cf8/pci-bridge@2,2/scsi@0/disk@0,0", "HALT"] },
    };
    expect(check(rescueFirstInBootOrder, boots).ok).toBe(false);
  });
});
