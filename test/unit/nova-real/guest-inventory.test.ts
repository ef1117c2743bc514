import { describe, expect, it } from "vitest";
import {
  inventoryDifferences,
  nicDifferences,
  pciDifferences,
  usbDifferences,
} from "../../../scenarios/nova/real/guest-inventory.js";
import { guestObservation } from "../../fixtures/libvirt/load.js";
import { goodRescueObservation, guestObservationCopy, movePci } from "../../fixtures/libvirt/synthetic-observations.js";

const normal = guestObservation("normal");

describe("inventoryDifferences on the real guests", () => {
  it("finds nothing between the normal and unrescue guests", () => {
    expect(inventoryDifferences(normal, guestObservation("unrescue"), "unrescue")).toEqual({ problems: [], added: [] });
  });

  it("names the balloon and the RNG the real rescue guest saw one slot later, and the rescue disk as added", () => {
    expect(inventoryDifferences(normal, guestObservation("rescue"), "rescue")).toEqual({
      problems: [
        "virtio-balloon (1af4:1002) moved from PCI 00:06.0 to PCI 00:07.0 in the rescue boot",
        "virtio-rng (1af4:1005) moved from PCI 00:07.0 to PCI 00:08.0 in the rescue boot",
      ],
      added: ["virtio-blk (1af4:1001) at PCI 00:06.0"],
    });
  });

  it("finds only the added rescue disk in the good synthetic rescue guest", () => {
    expect(inventoryDifferences(normal, goodRescueObservation(), "rescue")).toEqual({
      problems: [],
      added: ["virtio-blk (1af4:1001) at PCI 00:08.0"],
    });
  });
});

describe("pci, usb and nic differences", () => {
  it("name a device that vanished, with unknown ids in hex", () => {
    const after = guestObservationCopy("normal");
    after.pciFunctions = after.pciFunctions.filter((f) => f.bdf !== "00:01.3");
    after.pciFunctions.push({
      ...after.pciFunctions[0]!,
      bdf: "00:0c.0",
      path: "00:0c.0",
      vendorId: "0x1234",
      deviceId: "0xabcd",
    });
    expect(pciDifferences(normal, after, "rescue")).toEqual({
      problems: ["PIIX4 ACPI (8086:7113) at PCI 00:01.3 is missing in the rescue boot"],
      added: ["(1234:abcd) at PCI 00:0c.0"],
    });
  });

  it("match USB devices by ids and compare their ports, root hubs included", () => {
    const after = guestObservationCopy("normal");
    after.usbDevices = after.usbDevices.map((d) => (d.isRootHub ? { ...d, portPath: "2-0" } : d));
    expect(usbDifferences(normal, after, "rescue").problems).toEqual([
      "root hub (1d6b:0001) moved from USB 1-0 to USB 2-0 in the rescue boot",
    ]);
  });

  it("match NICs by MAC and compare their PCI function", () => {
    const nic = { name: "eth0", mac: "fa:16:3e:00:00:01", pciBdf: "00:03.0", driver: "virtio_net" };
    const before = { ...guestObservationCopy("normal"), nics: [nic] };
    const moved = movePci(before, "00:03.0", "00:0b.0");
    expect(nicDifferences(before, moved, "rescue").problems).toEqual([
      "NIC fa:16:3e:00:00:01 moved from PCI 00:03.0 to PCI 00:0b.0 in the rescue boot",
    ]);
    expect(nicDifferences(before, { ...before, nics: [] }, "unrescue").problems).toEqual([
      "NIC fa:16:3e:00:00:01 at PCI 00:03.0 is missing in the unrescue boot",
    ]);
  });
});
