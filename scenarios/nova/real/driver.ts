// The real Nova libvirt driver in the loop: a case → Nova's own domain XML for the normal boot
// and the stable-device rescue (the Nova worker) → libvirt's own definition of each (the
// embedded driver assigns every address) → DomainTopology values the harness boots. bootproof
// decides nothing here but which medium backs each disk Nova wrote.
import type { MediaSpec } from "../../../firmware/media/spec.js";
import { summarizeDomain } from "../../../harness/libvirt/domain-xml.js";
import { embeddedLibvirt } from "../../../harness/libvirt/embedded.js";
import { defineDomainTopology, refusedDomainTopology } from "../../../harness/libvirt/topology.js";
import { type NovaDomainDisk, type NovaWorkerOptions, novaDomains } from "../../../harness/openstack/nova.js";
import type { BootPlan, DomainDiskMedium } from "../../../harness/scenario.js";
import type { NovaInstance, NovaRescueCase } from "../model.js";

/** A vfat config drive: Nova makes it 64 MiB. */
const VFAT_CONFIG_DRIVE_MIB = 64;

export const REAL_BOOT_NAMES = ["normal", "rescue", "unrescue"] as const;

/** The medium for one disk Nova wrote, from Nova's own account of what the disk is. */
export function mediumFor(instance: NovaInstance, disk: NovaDomainDisk, efi: boolean): MediaSpec {
  const bootDisk = efi ? "uefi-disk" : "bios-disk";
  if (disk.root && disk.role !== "rescue") return { kind: bootDisk, role: "root" };
  switch (disk.role) {
    case "rescue":
      if (disk.device === "cdrom") return { kind: "iso", role: "rescue" };
      if (disk.device === "floppy") return { kind: "floppy", role: "rescue" };
      return { kind: bootDisk, role: "rescue" };
    case "config-drive":
      return disk.device === "cdrom" ? { kind: "iso", role: "config-drive" } : { kind: "blank", sizeMiB: VFAT_CONFIG_DRIVE_MIB };
    case "swap":
      return { kind: "blank", sizeMiB: instance.swap?.sizeMiB ?? 1 };
    case "ephemeral": {
      const index = Number(/^disk\.eph(\d+)$/.exec(disk.mappingName)?.[1] ?? 0);
      return { kind: "blank", sizeMiB: instance.ephemerals[index]?.sizeMiB ?? 1 };
    }
    case "volume": {
      const volume = instance.volumes.find((v) => v.id === disk.volumeId);
      return { kind: "blank", sizeMiB: volume?.sizeMiB ?? 1 };
    }
    default:
      return { kind: "blank", sizeMiB: 1 };
  }
}

function mediaOf(instance: NovaInstance, disks: NovaDomainDisk[], driverXml: string): DomainDiskMedium[] {
  const summary = summarizeDomain(driverXml);
  return summary.disks.map((xmlDisk) => {
    const disk = disks.find((d) => d.dev === xmlDisk.targetDev);
    if (!disk)
      throw new Error(
        `the Nova worker did not describe disk ${xmlDisk.targetDev} of the domain it wrote (its disks list is incomplete)`,
      );
    return {
      targetDev: xmlDisk.targetDev,
      media: mediumFor(instance, disk, summary.firmware === "efi"),
      writable: !xmlDisk.readOnly && xmlDisk.device !== "cdrom",
    };
  });
}

/** The three boots of a case as the real Nova driver and libvirt decide them. */
export async function realNovaBoots(input: NovaRescueCase, options: NovaWorkerOptions = {}): Promise<BootPlan[]> {
  // Both workers start on the first case: the libvirt worker's start overlaps Nova's imports.
  const libvirtReady = embeddedLibvirt()
    .versions()
    .catch(() => undefined); // a failure surfaces, with its message, at the first define below
  const answer = await novaDomains(input, options);
  await libvirtReady;
  if (answer.outcome === "refused") {
    const refusal = refusedDomainTopology({
      by: "driver",
      type: answer.error.type,
      message: `${answer.stage}: ${answer.error.message}`,
    });
    return REAL_BOOT_NAMES.map((name) => ({ name, topology: refusal }));
  }
  const disksOf = (domain: "normal" | "rescue") => answer.disks.filter((d) => d.domain === domain);
  const normalMedia = mediaOf(input.instance, disksOf("normal"), answer.normal.xml);
  const rescueMedia = mediaOf(input.instance, disksOf("rescue"), answer.rescue.xml);
  const floppyRescue = disksOf("rescue").some((d) => d.role === "rescue" && d.device === "floppy");
  const normal = await defineDomainTopology(answer.normal.xml, normalMedia);
  const rescue = await defineDomainTopology(answer.rescue.xml, rescueMedia, { firmwareLog: floppyRescue });
  // Nova's unrescue restores unrescue.xml, which rescue() saved from the running normal
  // domain: libvirt's own XML of it, addresses included.
  const unrescue = normal.definedXml
    ? await defineDomainTopology(normal.definedXml, normalMedia)
    : refusedDomainTopology(normal.refusal ?? { by: "libvirt", type: "none", message: "the normal domain was refused" });
  return [
    { name: "normal", topology: normal },
    { name: "rescue", topology: rescue },
    { name: "unrescue", topology: unrescue },
  ];
}
