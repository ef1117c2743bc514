// The real Nova libvirt driver (Debian's python3-nova) through the nova worker: one worker
// start (~2 s) serves every case of this file.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InputError } from "../../../harness/errors.js";
import {
  type NovaBuiltDomains,
  type NovaDomainDisk,
  type NovaDomains,
  novaDomains,
  novaVersions,
  novaWorkerSpec,
} from "../../../harness/openstack/nova.js";
import { stopAllWorkers, WorkerError } from "../../../harness/openstack/worker.js";
import { ROOT_VOLUME_ID, volumeIdFor } from "../../../scenarios/nova/arbitraries.js";
import { baseInstance, novaExamples } from "../../../scenarios/nova/index.js";
import type { NovaRescueCase } from "../../../scenarios/nova/model.js";

const DEBIAN_NOVA = "/usr/lib/python3/dist-packages/nova";
const scratch = mkdtempSync(join(tmpdir(), "bootproof-nova-worker-"));

afterAll(async () => {
  await stopAllWorkers();
  rmSync(scratch, { recursive: true, force: true });
});

const example = (name: string): NovaRescueCase => {
  const found = novaExamples.find((e) => e.name === name);
  if (!found) throw new Error(`no Nova example ${name}`);
  return found.input;
};

function built(result: NovaDomains): NovaBuiltDomains {
  if (result.outcome !== "built") throw new Error(`Nova refused: ${JSON.stringify(result)}`);
  return result;
}

const disksOf = (result: NovaBuiltDomains, domain: "normal" | "rescue"): NovaDomainDisk[] =>
  result.disks.filter((d) => d.domain === domain);
const withoutBoot = ({ domain: _domain, bootOrder: _boot, ...rest }: NovaDomainDisk) => rest;
/** Elements with content (<disk>, <interface>: Nova never writes them empty). */
const elements = (xml: string, name: string): string[] => xml.match(new RegExp(`<${name}[ >][\\s\\S]*?</${name}>`, "g")) ?? [];
const diskElements = (xml: string): string[] => elements(xml, "disk");

/** The stable device rescue: every normal disk, unchanged and in order, then disk.rescue booted first. */
function expectStableRescue(result: NovaBuiltDomains): NovaDomainDisk {
  expect(result.stableRescue).toBe(true);
  const normal = disksOf(result, "normal");
  const rescue = disksOf(result, "rescue");
  expect(rescue.slice(0, -1).map(withoutBoot)).toEqual(normal.map(withoutBoot));
  expect(diskElements(result.rescue.xml).slice(0, -1)).toEqual(diskElements(result.normal.xml));
  const last = rescue.at(-1)!;
  expect(last).toMatchObject({ mappingName: "disk.rescue", role: "rescue", bootOrder: 1, root: false });
  expect(diskElements(result.rescue.xml).at(-1)).toContain(`<boot order="1"/>`);
  expect(normal.every((d) => d.bootOrder === undefined)).toBe(true);
  // The normal domain boots by <os><boot dev>; the rescue domain only by the rescue disk's order.
  expect(result.normal.xml).toMatch(/<boot dev="hd"\/>/);
  expect(result.rescue.xml).not.toMatch(/<boot dev=/);
  return last;
}

/** Nova writes no PCI (or USB, IDE...) addresses; only drive units of SCSI disks under virtio-scsi. */
function expectOnlyScsiDriveAddresses(xml: string): void {
  for (const disk of diskElements(xml)) {
    if (disk.includes('bus="scsi"') && disk.includes("<address"))
      expect(disk).toMatch(/<address type="drive" controller="0" unit="\d+"\/>/);
    else expect(disk).not.toContain("<address");
  }
  const outsideDisks = diskElements(xml).reduce((rest, disk) => rest.replace(disk, ""), xml);
  expect(outsideDisks).not.toContain("<address");
}

describe("the real Nova libvirt driver", () => {
  it("reports its version and that Debian's tree answered", async () => {
    const versions = await novaVersions();
    expect(versions.nova).toMatch(/^26\./);
    expect(versions.nova_path).toBe(`${DEBIAN_NOVA}/__init__.py`);
    expect(versions.python).toMatch(/^3\./);
  });

  it("virtio root + virtio rescue: the rescue disk is appended last and booted first", async () => {
    const input = example("virtio-root-virtio-rescue-seabios-pc");
    const result = built(await novaDomains(input));
    expect(disksOf(result, "normal").map((d) => [d.mappingName, d.role, d.dev, d.bus, d.root])).toEqual([
      ["disk", "root-image", "vda", "virtio", true],
      ["disk.eph0", "ephemeral", "vdb", "virtio", false],
    ]);
    const rescue = expectStableRescue(result);
    expect(rescue).toMatchObject({ dev: "vdc", bus: "virtio", device: "disk" });
    expect(rescue.source).toBe(`/var/lib/nova/instances/${input.instance.uuid}/disk.rescue`);
    expect(result.rescue.diskMapping["disk.rescue"]).toEqual({ bus: "virtio", dev: "vdc", type: "disk" });
    expect(result.normal.diskMapping.root).toEqual(result.normal.diskMapping.disk);
    expect(result.normal.xml).not.toContain("<address");
    expect(result.rescue.xml).not.toContain("<address");
  });

  it("scsi volume + ide cdrom rescue: the volume's serial is its id; SCSI units only under virtio-scsi", async () => {
    const input = example("scsi-volume-ide-cdrom-rescue");
    const result = built(await novaDomains(input));
    const volume = disksOf(result, "normal").find((d) => d.role === "volume")!;
    const volumeId = input.instance.volumes[0]!.id;
    expect(volume).toMatchObject({ mappingName: "/dev/sda", dev: "sda", bus: "scsi", volumeId, serial: volumeId });
    expect(volume.source).toContain(volumeId);
    expect(disksOf(result, "normal").find((d) => d.role === "config-drive")).toMatchObject({
      mappingName: "disk.config",
      device: "cdrom",
      bus: "ide",
      dev: "hda",
    });
    expect(expectStableRescue(result)).toMatchObject({ device: "cdrom", bus: "ide", dev: "hdb" });
    expect(result.normal.xml).toContain('<controller type="scsi" index="0" model="virtio-scsi"/>');
    expectOnlyScsiDriveAddresses(result.normal.xml);
    expectOnlyScsiDriveAddresses(result.rescue.xml);

    // No hw_scsi_model: Nova writes no controller and no address (libvirt adds its default LSI).
    const lsi = built(await novaDomains({ ...input, instance: { ...input.instance, scsiModel: undefined } }));
    expect(lsi.normal.xml).not.toContain('<controller type="scsi"');
    expect(lsi.normal.xml).not.toContain("<address");
    expect(lsi.rescue.xml).not.toContain("<address");
  });

  it("usb rescue of a boot-from-volume instance: the root volume keeps its id as serial", async () => {
    const result = built(await novaDomains(example("usb-rescue-boot-from-volume")));
    expect(disksOf(result, "normal").map((d) => [d.mappingName, d.role, d.dev, d.root, d.serial])).toEqual([
      ["disk.swap", "swap", "vdb", false, undefined],
      ["/dev/vda", "volume", "vda", true, ROOT_VOLUME_ID],
    ]);
    expect(result.normal.diskMapping).not.toHaveProperty("disk");
    expect(expectStableRescue(result)).toMatchObject({ bus: "usb", dev: "sda", device: "disk" });
    expect(result.normal.xml).not.toContain('<nova:root type="image"');
  });

  it("q35 with OVMF: machine q35, a pflash loader, a SATA volume", async () => {
    const input = example("ovmf-q35-virtio");
    const result = built(await novaDomains(input));
    for (const xml of [result.normal.xml, result.rescue.xml]) {
      expect(xml).toContain('<type arch="x86_64" machine="q35">hvm</type>');
      expect(xml).toMatch(/<loader type="pflash" readonly="yes" secure="no">[^<]+<\/loader>/);
    }
    expect(disksOf(result, "normal").find((d) => d.role === "volume")).toMatchObject({ bus: "sata", dev: "sda" });
    expect(expectStableRescue(result)).toMatchObject({ bus: "virtio", dev: "vdb" });
  });

  it("takes the rescue cdrom's default bus from the rescue image alone: ide even on q35", async () => {
    const result = built(
      await novaDomains({
        instance: baseInstance({ machineType: "q35", configDrive: { format: "iso9660" } }),
        rescue: { hw_rescue_device: "cdrom" },
      }),
    );
    // The config drive follows the instance image's machine type (sata), the rescue cdrom does not.
    expect(disksOf(result, "normal").find((d) => d.role === "config-drive")).toMatchObject({ bus: "sata" });
    expect(expectStableRescue(result)).toMatchObject({ device: "cdrom", bus: "ide", dev: "hda" });
  });

  it("passes NICs, memory and the image's hw_vif_model / hw_cdrom_bus to Nova", async () => {
    const result = built(
      await novaDomains({
        instance: baseInstance({
          memoryMiB: 256,
          configDrive: { format: "iso9660" },
          cdromBus: "scsi",
          vifModel: "e1000",
          nics: [{ mac: "52:54:00:00:00:01" }, { mac: "52:54:00:00:00:02", type: "tap" }],
        }),
        rescue: { hw_rescue_bus: "virtio" },
      }),
    );
    const xml = result.normal.xml;
    expect(xml).toContain("<memory>262144</memory>");
    const nics = elements(xml, "interface");
    expect(nics).toHaveLength(2);
    expect(nics[0]).toMatch(/^<interface type="bridge">[\s\S]*52:54:00:00:00:01[\s\S]*<model type="e1000"\/>/);
    expect(nics[1]).toMatch(/^<interface type="ethernet">[\s\S]*52:54:00:00:00:02[\s\S]*<model type="e1000"\/>/);
    expect(disksOf(result, "normal").find((d) => d.role === "config-drive")).toMatchObject({ bus: "scsi", device: "cdrom" });
    expect(elements(result.rescue.xml, "interface")).toEqual(nics);
  });

  it("comes out as Nova's refusal when Nova raises for the input", async () => {
    const ide = { bus: "ide" as const, sizeMiB: 1 };
    const tooMany = await novaDomains({
      instance: baseInstance({ rootDisk: { source: "image", bus: "ide", sizeMiB: 32 }, ephemerals: [ide, ide, ide, ide] }),
      rescue: { hw_rescue_bus: "virtio" },
    });
    expect(tooMany).toMatchObject({ outcome: "refused", stage: "normal", error: { type: "nova.exception.TooManyDiskDevices" } });
    // Four IDE devices boot; the fifth, the IDE rescue disk, is refused when rescuing.
    const rescue = await novaDomains({
      instance: baseInstance({ rootDisk: { source: "image", bus: "ide", sizeMiB: 32 }, ephemerals: [ide, ide, ide] }),
      rescue: { hw_rescue_bus: "ide" },
    });
    expect(rescue).toMatchObject({ outcome: "refused", stage: "rescue", error: { type: "nova.exception.TooManyDiskDevices" } });
    expect(rescue.outcome === "refused" && rescue.error.message).toMatch(/maximum allowed number of disk devices \(4\)/);
  });

  it("a malformed case is a worker failure (infra-error), not Nova's answer", async () => {
    const broken = { instance: { uuid: "5e1f00aa" }, rescue: {} } as unknown as NovaRescueCase;
    const error = await novaDomains(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerError);
    expect((error as WorkerError).message).toMatch(/nova worker \(request 'domains'\) raised an unexpected exception/);
    expect((error as WorkerError).pythonError?.type).toBe("builtins.KeyError");
    // The worker survives its own failure.
    expect(built(await novaDomains(example("virtio-root-virtio-rescue-seabios-pc"))).outcome).toBe("built");
  });

  it("rejects a --nova-src that is not a Nova tree, naming the path and the fix", () => {
    const missing = join(scratch, "missing");
    expect(() => novaWorkerSpec({ novaSrc: missing })).toThrow(InputError);
    expect(() => novaWorkerSpec({ novaSrc: missing })).toThrow(`--nova-src '${missing}' is not a directory`);
    const empty = join(scratch, "empty");
    mkdirSync(empty);
    expect(() => novaWorkerSpec({ novaSrc: empty })).toThrow(`--nova-src '${empty}' has no nova/__init__.py`);
    const pkg = join(scratch, "pkg", "nova");
    mkdirSync(pkg, { recursive: true });
    writeFileSync(join(pkg, "__init__.py"), "");
    expect(() => novaWorkerSpec({ novaSrc: pkg })).toThrow(`pass its parent '${join(scratch, "pkg")}'`);
    const saved = process.env.BOOTPROOF_NOVA_SRC;
    process.env.BOOTPROOF_NOVA_SRC = empty;
    try {
      expect(() => novaWorkerSpec()).toThrow(`$BOOTPROOF_NOVA_SRC '${empty}' has no nova/__init__.py`);
    } finally {
      if (saved === undefined) delete process.env.BOOTPROOF_NOVA_SRC;
      else process.env.BOOTPROOF_NOVA_SRC = saved;
    }
  });

  it("puts a --nova-src tree first: a copy of Nova answers", async () => {
    const tree = join(scratch, "nova-src");
    mkdirSync(tree);
    execFileSync("cp", ["-r", DEBIAN_NOVA, join(tree, "nova")]);
    const versions = await novaVersions({ novaSrc: tree });
    expect(versions.nova_path).toBe(join(tree, "nova", "__init__.py"));
    const input = example("usb-rescue-boot-from-volume");
    const fromCopy = built(await novaDomains(input, { novaSrc: tree }));
    const fromDebian = built(await novaDomains(input));
    // Only <nova:creationTime> (wall clock, to the second) may differ between two workers.
    const clockless = (xml: string) => xml.replace(/<nova:creationTime>[^<]*<\/nova:creationTime>/, "");
    expect(clockless(fromCopy.rescue.xml)).toBe(clockless(fromDebian.rescue.xml));
    expect(fromCopy.disks).toEqual(fromDebian.disks);
  });

  it("names volumes by id in every domain", async () => {
    const ids = [volumeIdFor(0), volumeIdFor(1)];
    const result = built(
      await novaDomains({
        instance: baseInstance({ volumes: ids.map((id, i) => ({ id, bus: i === 0 ? "virtio" : "scsi", sizeMiB: 4 })) }),
        rescue: { hw_rescue_device: "disk" },
      }),
    );
    for (const domain of ["normal", "rescue"] as const) {
      const volumes = disksOf(result, domain).filter((d) => d.role === "volume");
      expect(volumes.map((d) => [d.volumeId, d.serial])).toEqual(ids.map((id) => [id, id]));
      for (const v of volumes) expect(v.source).toBe(`/dev/disk/by-id/bootproof-volume-${v.volumeId}`);
    }
  });
});
