// What real Nova built for a server create → the boot the harness runs: every <disk> of
// Nova's domain gets the medium the scenario says backs it (a volume's contents, at the
// volume's size), libvirt defines the domain, and the artifacts record what Nova decided.
import type { MediaSpec } from "../../firmware/media/spec.js";
import { summarizeDomain } from "../../harness/libvirt/domain-xml.js";
import { defineDomainTopology, refusedDomainTopology } from "../../harness/libvirt/topology.js";
import type { NovaDomainDisk } from "../../harness/openstack/nova.js";
import type { NovaServerAnswer, NovaServerBuilt } from "../../harness/openstack/nova-server.js";
import type { BootPlan, DomainDiskMedium } from "../../harness/scenario.js";

/** The medium behind one of Nova's disks, and the volume size the guest must see. */
export interface DiskBacking {
  media: MediaSpec;
  sizeMiB?: number;
}

const MiB_PER_GiB = 1024;

export function gibToMiB(gib: number): number {
  return gib * MiB_PER_GiB;
}

/**
 * The boot of a server create. A refusal is a domain that never became a guest (the
 * scenario's properties say whether refusing was right); `backing` names the medium of each
 * disk from Nova's own account of it, and must know every disk Nova wrote.
 */
export async function novaServerBoot(
  name: string,
  answer: NovaServerAnswer,
  backing: (disk: NovaDomainDisk, firmware: "bios" | "efi", built: NovaServerBuilt) => DiskBacking,
  artifacts: Record<string, string> = {},
): Promise<BootPlan> {
  const record = { "nova-answer.json": `${JSON.stringify(withoutXml(answer), null, 2)}\n`, ...artifacts };
  if (answer.outcome === "refused")
    return {
      name,
      topology: refusedDomainTopology({
        by: "driver",
        type: answer.error.type,
        message: `${answer.stage}: ${answer.error.message}`,
      }),
      artifacts: () => record,
    };
  const summary = summarizeDomain(answer.domain.xml);
  const firmware = summary.firmware === "efi" ? "efi" : "bios";
  const media: DomainDiskMedium[] = summary.disks.map((xmlDisk) => {
    const disk = answer.disks.find((d) => d.dev === xmlDisk.targetDev);
    if (!disk)
      throw new Error(
        `the Nova worker did not describe disk ${xmlDisk.targetDev} of the domain it wrote (its disks list is incomplete)`,
      );
    const backed = backing(disk, firmware, answer);
    return {
      targetDev: xmlDisk.targetDev,
      media: backed.media,
      writable: !xmlDisk.readOnly && xmlDisk.device !== "cdrom",
      ...(backed.sizeMiB !== undefined ? { sizeMiB: backed.sizeMiB } : {}),
    };
  });
  return { name, topology: await defineDomainTopology(answer.domain.xml, media), artifacts: () => record };
}

/** The answer without the XML (the boot's driver.xml artifact holds it). */
function withoutXml(answer: NovaServerAnswer): unknown {
  if (answer.outcome !== "built") return answer;
  const { domain, ...rest } = answer;
  return { ...rest, diskMapping: domain.diskMapping };
}
