import { describe, expect, it } from "vitest";
import type { BootRecord, Topology } from "../../../harness/scenario.js";
import { libvirtDriver, type NovaDriver } from "../../../scenarios/nova/driver.js";
import { bootPathPattern, seabiosBootAttempts } from "../../../scenarios/nova/firmware-evidence.js";
import type { NovaInstance, NovaRescueCase, NovaRescueProperties } from "../../../scenarios/nova/model.js";
import {
  controllerShiftsSlotsDriver,
  rescueFirstUnpinnedDriver,
  rescueWithoutBootIndexDriver,
} from "../../../scenarios/nova/mutants.js";
import {
  normalBootsRoot,
  novaBootProperties,
  rescueBootsRescueMedia,
  rescueFirstInBootOrder,
  rescueKeepsNormalDevices,
  unrescueRestoresNormal,
} from "../../../scenarios/nova/properties.js";
import { parseTopology, type SyntheticOptions, syntheticBoot } from "../../fixtures/nova/synthetic-guest.js";

const instance = (overrides: Partial<NovaInstance> = {}): NovaInstance => ({
  uuid: "5e1f00aa-0000-4000-8000-000000000001",
  machineType: "pc",
  firmware: "seabios",
  scsiModel: "virtio-scsi",
  rootDisk: { source: "image", bus: "virtio", sizeMiB: 32 },
  ephemerals: [{ bus: "virtio", sizeMiB: 4 }],
  volumes: [{ id: "a0000001-5eed-4000-8000-000000000000", bus: "scsi", sizeMiB: 8 }],
  configDrive: { format: "iso9660" },
  ...overrides,
});

interface Overrides {
  normal?: Partial<SyntheticOptions>;
  rescue?: Partial<SyntheticOptions> & { firmwareLog?: string[] };
  unrescue?: Partial<SyntheticOptions>;
}

/** Three synthetic boots of one case; each guest booted the role the topology makes bootIndex-first unless overridden. */
function boots(driver: NovaDriver, input: NovaRescueCase, overrides: Overrides = {}): Record<string, BootRecord> {
  const topologies: Record<string, Topology> = {
    normal: driver.boot(input.instance),
    rescue: driver.rescue(input.instance, input.rescue),
    unrescue: driver.boot(input.instance),
  };
  return Object.fromEntries(
    Object.entries(topologies).map(([name, topology]) => {
      const defaults = { role: name === "rescue" ? "rescue" : "root" };
      return [name, syntheticBoot(name, topology, { ...defaults, ...overrides[name as keyof Overrides] })];
    }),
  );
}

const check = (input: NovaRescueCase, records: Record<string, BootRecord>) =>
  Object.fromEntries(novaBootProperties.map((p) => [p.name, p.check(input, records)]));

const caseWith = (rescue: NovaRescueProperties, overrides: Partial<NovaInstance> = {}): NovaRescueCase => ({
  instance: instance(overrides),
  rescue,
});

describe("boot properties on synthetic guests", () => {
  it("pass for the correct driver's topologies and a guest that saw exactly them", () => {
    for (const rescue of [
      { hw_rescue_bus: "virtio" },
      { hw_rescue_bus: "usb" },
      { hw_rescue_device: "cdrom" },
      { hw_rescue_bus: "scsi" },
    ] as const) {
      const input = caseWith(rescue);
      const outcomes = check(input, boots(libvirtDriver, input));
      for (const [name, outcome] of Object.entries(outcomes))
        expect(outcome, `${JSON.stringify(rescue)} ${name}: ${outcome.message}`).toMatchObject({ ok: true });
    }
  });

  it("P3 fails when one disk's PCI path shifts, naming the device, its serial and both addresses", () => {
    const input = caseWith({ hw_rescue_bus: "virtio" });
    const records = boots(libvirtDriver, input, {
      rescue: { mutateSysfs: (name, path) => (name === "vdb" ? path.replace("0000:00:05.0", "0000:00:07.0") : path) },
    });
    const outcome = rescueKeepsNormalDevices.check(input, records);
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toBe(
      "vdb (virtio, serial 5e1f00aa-disk.eph0, PCI 00:05.0) changed in the rescue boot: PCI BDF 00:05.0 -> 00:07.0",
    );
  });

  it("P3 catches mutant M3 by PCI path although every kernel name stays", () => {
    const input = caseWith({ hw_rescue_bus: "usb" });
    const outcome = rescueKeepsNormalDevices.check(input, boots(controllerShiftsSlotsDriver, input));
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(
      /^vda \(virtio, serial 5e1f00aa-disk, PCI 00:04\.0\) changed in the rescue boot: PCI BDF 00:04\.0 -> 00:05\.0 \(and \d+ more devices? differ\)$/,
    );
  });

  it("P3 catches mutant M1 by kernel name: the rescue disk became vda", () => {
    const input = caseWith({ hw_rescue_bus: "virtio" });
    const outcome = rescueKeepsNormalDevices.check(input, boots(rescueFirstUnpinnedDriver, input));
    expect(outcome.message).toMatch(
      /^vda \(virtio, serial 5e1f00aa-disk, PCI 00:03\.0\) changed in the rescue boot: kernel name vda -> vdb/,
    );
  });

  it("P3 refuses a vacuous comparison when the guest saw fewer disks than were attached", () => {
    const input = caseWith({ hw_rescue_bus: "virtio" });
    const records = boots(libvirtDriver, input);
    const normal = records.normal!;
    records.normal = {
      ...normal,
      observation: { ...normal.observation!, blockDevices: normal.observation!.blockDevices.slice(1) },
    };
    expect(rescueKeepsNormalDevices.check(input, records).message).toMatch(/saw 3 block devices but the machine has 4/);
  });

  it("P3 and P5 report a boot that never reached the probe instead of throwing", () => {
    const input = caseWith({ hw_rescue_bus: "virtio" });
    const records = boots(libvirtDriver, input);
    records.rescue = { ...records.rescue!, observation: null, failure: "SeaBIOS: No bootable device" };
    expect(rescueKeepsNormalDevices.check(input, records).message).toBe(
      "the rescue boot never reached the probe: SeaBIOS: No bootable device",
    );
    expect(rescueFirstInBootOrder.check(input, records).ok).toBe(false);
    expect(rescueBootsRescueMedia.check(input, records).message).toMatch(
      /started 'nothing the probe could report', expected 'rescue'/,
    );
  });

  it("P2 and P5 fail for mutant M2: the root disk boots and leads the bootorder", () => {
    const input = caseWith({ hw_rescue_bus: "virtio" });
    const records = boots(rescueWithoutBootIndexDriver, input, { rescue: { role: "root" } });
    expect(rescueBootsRescueMedia.check(input, records)).toMatchObject({
      ok: false,
      message: "the rescue boot started 'root', expected 'rescue'; the rescue device is 'disk-rescue' (virtio-blk)",
    });
    const p5 = rescueFirstInBootOrder.check(input, records);
    expect(p5.ok).toBe(false);
    expect(p5.message).toMatch(
      /^fw_cfg bootorder starts with \/pci@i0cf8\/scsi@4\/disk@0,0; the rescue device 'disk-rescue' .* is not listed at all$/,
    );
  });

  it("P2 blames the driver's choice with the measured reason when OVMF skips an LSI rescue disk", () => {
    const input = caseWith({ hw_rescue_bus: "scsi" }, { firmware: "ovmf", scsiModel: undefined, volumes: [] });
    const records = boots(libvirtDriver, input, { rescue: { role: "root" } });
    const outcome = rescueBootsRescueMedia.check(input, records);
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(/OVMF has no LSI 53C895A driver \(measured\)/);
  });

  it("P1 and P4 fail when the guest booted the config drive instead of the root disk", () => {
    const input = caseWith({ hw_rescue_bus: "virtio" });
    const records = boots(libvirtDriver, input, { normal: { role: "config-drive" }, unrescue: { role: "config-drive" } });
    expect(normalBootsRoot.check(input, records).message).toBe(
      "the normal boot started 'config-drive', expected 'root'; the root device is 'disk' (virtio-blk)",
    );
    expect(unrescueRestoresNormal.check(input, records).ok).toBe(false);
  });

  it("P4 fails when the rescue device is still attached after unrescue", () => {
    const input = caseWith({ hw_rescue_bus: "usb" });
    const records = boots(libvirtDriver, input);
    const leftover = syntheticBoot("unrescue", libvirtDriver.rescue(input.instance, input.rescue), { role: "root" });
    records.unrescue = leftover;
    const outcome = unrescueRestoresNormal.check(input, records);
    expect(outcome.ok).toBe(false);
    expect(outcome.message).toMatch(
      /^the unrescue boot has devices the normal boot did not: sd. \(usb, serial 5e1f00aa-disk.rescue, PCI 00:06.0, H:C:T:L \d+:0:0:0, USB 1-1\)$/,
    );
  });

  describe("floppy rescue: the proof stops at the firmware", () => {
    const input = caseWith({ hw_rescue_device: "floppy" });

    it("passes at proofLevel 'firmware' when SeaBIOS booted the floppy first", () => {
      const records = boots(libvirtDriver, input, {
        rescue: {
          role: "root",
          firmwareLog: [
            "Searching bootorder for: /pci@i0cf8/isa@1/fdc@03f0/floppy@0",
            "Booting from Floppy...",
            "Booting from Hard Disk...",
          ],
        },
      });
      expect(rescueBootsRescueMedia.check(input, records)).toEqual({ ok: true, proofLevel: "firmware" });
      // The floppy chain-loads the root disk, whose guest still proves P3 and P5.
      expect(rescueKeepsNormalDevices.check(input, records).ok).toBe(true);
      expect(rescueFirstInBootOrder.check(input, records).ok).toBe(true);
    });

    it("fails when SeaBIOS tried the hard disk first, listing the attempts", () => {
      const records = boots(libvirtDriver, input, { rescue: { role: "root", firmwareLog: ["Booting from Hard Disk..."] } });
      expect(rescueBootsRescueMedia.check(input, records)).toEqual({
        ok: false,
        proofLevel: "firmware",
        message: "SeaBIOS booted 'Hard Disk' first, not the rescue floppy (attempts in order: Hard Disk)",
      });
    });

    it("fails without a firmware log, and under OVMF with the measured reason", () => {
      expect(rescueBootsRescueMedia.check(input, boots(libvirtDriver, input, { rescue: { role: "root" } })).message).toMatch(
        /no SeaBIOS debug log/,
      );
      const ovmf = caseWith({ hw_rescue_device: "floppy" }, { firmware: "ovmf" });
      expect(rescueBootsRescueMedia.check(ovmf, boots(libvirtDriver, ovmf, { rescue: { role: "root" } })).message).toMatch(
        /OVMF does not boot floppies \(measured\)/,
      );
    });
  });
});

describe("firmware evidence", () => {
  it("matches the bootorder line from FINDINGS.md to a virtio disk on slot 5", () => {
    const topology = libvirtDriver.boot(instance({ scsiModel: undefined, ephemerals: [], volumes: [], configDrive: undefined }));
    const machine = parseTopology(topology);
    const root = { ...machine.disks[0]!, pciSlot: 5 } as (typeof machine.disks)[number];
    const patched = { ...machine, disks: [root] };
    expect(bootPathPattern(patched, root).test("/pci@i0cf8/scsi@5/disk@0,0")).toBe(true);
    expect(bootPathPattern(patched, root).test("/pci@i0cf8/scsi@6/disk@0,0")).toBe(false);
  });

  it("reads SeaBIOS boot attempts in order", () => {
    expect(seabiosBootAttempts(["foo", "Booting from DVD/CD...", "Booting from Hard Disk..."])).toEqual(["DVD/CD", "Hard Disk"]);
  });
});
