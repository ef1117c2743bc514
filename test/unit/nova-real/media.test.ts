import { describe, expect, it } from "vitest";
import type { NovaDomainDisk } from "../../../harness/openstack/nova.js";
import { baseInstance } from "../../../scenarios/nova/index.js";
import { mediumFor } from "../../../scenarios/nova/real/driver.js";
import { REAL_CASES, realTriple } from "../../fixtures/libvirt/load.js";

const instance = baseInstance({
  ephemerals: [
    { bus: "virtio", sizeMiB: 4 },
    { bus: "virtio", sizeMiB: 6 },
  ],
  swap: { bus: "virtio", sizeMiB: 2 },
  volumes: [{ id: "a0000001-5eed-4000-8000-000000000000", bus: "scsi", sizeMiB: 8 }],
});

const disk = (overrides: Partial<NovaDomainDisk>): NovaDomainDisk => ({
  domain: "normal",
  mappingName: "disk",
  role: "root-image",
  root: false,
  source: null,
  dev: "vda",
  bus: "virtio",
  device: "disk",
  ...overrides,
});

describe("mediumFor: the medium behind each disk Nova wrote", () => {
  it("boots the root from a BIOS or UEFI disk", () => {
    expect(mediumFor(instance, disk({ root: true }), false)).toEqual({ kind: "bios-disk", role: "root" });
    expect(mediumFor(instance, disk({ root: true }), true)).toEqual({ kind: "uefi-disk", role: "root" });
  });

  it("builds the rescue image as the device Nova attaches: disk, cdrom (ISO) or floppy", () => {
    const rescue = (device: NovaDomainDisk["device"]) =>
      disk({ domain: "rescue", mappingName: "disk.rescue", role: "rescue", device });
    expect(mediumFor(instance, rescue("disk"), false)).toEqual({ kind: "bios-disk", role: "rescue" });
    expect(mediumFor(instance, rescue("disk"), true)).toEqual({ kind: "uefi-disk", role: "rescue" });
    expect(mediumFor(instance, rescue("cdrom"), false)).toEqual({ kind: "iso", role: "rescue" });
    expect(mediumFor(instance, rescue("floppy"), false)).toEqual({ kind: "floppy", role: "rescue" });
    // A legacy rescue makes disk.rescue the root: it is still the rescue image.
    expect(mediumFor(instance, { ...rescue("disk"), root: true }, false)).toEqual({ kind: "bios-disk", role: "rescue" });
  });

  it("gives the config drive an ISO as a cdrom and a 64 MiB blank as a vfat disk", () => {
    expect(mediumFor(instance, disk({ role: "config-drive", device: "cdrom" }), false)).toEqual({
      kind: "iso",
      role: "config-drive",
    });
    expect(mediumFor(instance, disk({ role: "config-drive" }), false)).toEqual({ kind: "blank", sizeMiB: 64 });
  });

  it("sizes swap, each ephemeral by its index and each volume by its id", () => {
    expect(mediumFor(instance, disk({ role: "swap" }), false)).toEqual({ kind: "blank", sizeMiB: 2 });
    expect(mediumFor(instance, disk({ role: "ephemeral", mappingName: "disk.eph0" }), false)).toEqual({
      kind: "blank",
      sizeMiB: 4,
    });
    expect(mediumFor(instance, disk({ role: "ephemeral", mappingName: "disk.eph1" }), false)).toEqual({
      kind: "blank",
      sizeMiB: 6,
    });
    const volume = disk({ role: "volume", volumeId: "a0000001-5eed-4000-8000-000000000000" });
    expect(mediumFor(instance, volume, false)).toEqual({ kind: "blank", sizeMiB: 8 });
    // Unknown sizes fall back to 1 MiB rather than failing the case.
    expect(mediumFor(instance, { ...volume, volumeId: "unknown" }, false)).toEqual({ kind: "blank", sizeMiB: 1 });
    expect(mediumFor(baseInstance(), disk({ role: "swap" }), false)).toEqual({ kind: "blank", sizeMiB: 1 });
  });

  it("agrees with the media realNovaBoots recorded for the captured cases", () => {
    for (const name of REAL_CASES) {
      const { input, topologies } = realTriple(name);
      const roles = topologies.rescue.media.map((m) => ("role" in m.media ? m.media.role : m.media.kind));
      expect(
        roles.filter((r) => r === "rescue"),
        name,
      ).toHaveLength(1);
      expect(
        roles.filter((r) => r === "root"),
        name,
      ).toHaveLength(1);
      if (input.instance.volumes.length > 0)
        expect(topologies.normal.media.find((m) => m.media.kind === "blank")?.media).toEqual({
          kind: "blank",
          sizeMiB: input.instance.volumes[0]!.sizeMiB,
        });
    }
    const cdrom = realTriple("q35-sata-cdrom-rescue-sata").topologies.rescue.media.find((m) => m.targetDev === "sdb");
    expect(cdrom).toEqual({ targetDev: "sdb", media: { kind: "iso", role: "rescue" }, writable: false });
  });
});
