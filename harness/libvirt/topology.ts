// A driver's domain XML → the DomainTopology the harness boots: libvirt's embedded driver
// defines it in a placeholder world (no file is opened) so every address is libvirt's own,
// then forgets it. Shared by every scenario whose real driver writes libvirt domains.
import type { DomainDiskMedium, DomainRefusal, DomainTopology } from "../scenario.js";
import { placeholderPlacement } from "./boot.js";
import { pointDomainAtBootproof, summarizeDomain } from "./domain-xml.js";
import { embeddedLibvirt } from "./embedded.js";

/** Kernel module the probe needs to read fw_cfg's bootorder. */
const FW_CFG_MODULE = "qemu_fw_cfg";
/**
 * Boot deadline for a domain with a USB disk. SeaBIOS reads a USB root through the UHCI
 * controller Nova's domains get at USB 1.1 speed: under TCG the loader alone took 107 s for
 * a 10 MB kernel and initramfs (measured, q35), past the default 120 s.
 */
const USB_DISK_DEADLINE_MS = 360_000;

/** A domain that never became a guest: the driver or libvirt refused it. */
export function refusedDomainTopology(refusal: DomainRefusal, driverXml = ""): DomainTopology {
  return { kind: "libvirt-domain", driverXml, definedXml: null, defined: null, refusal, media: [] };
}

export interface DefineOptions {
  /** Capture SeaBIOS's debug port (a floppy boot is only provable there). */
  firmwareLog?: boolean;
}

/** libvirt's definition of a domain in a placeholder world. */
export async function defineDomainTopology(
  driverXml: string,
  media: DomainDiskMedium[],
  options: DefineOptions = {},
): Promise<DomainTopology> {
  const pointed = pointDomainAtBootproof(driverXml, {
    placeDisk: (disk) => placeholderPlacement({ media }, disk.targetDev),
    serialFile: "/bootproof/serial.out",
  });
  const libvirt = embeddedLibvirt();
  const defined = await libvirt.define(pointed.xml);
  if (defined.outcome === "refused")
    return refusedDomainTopology({ by: "libvirt", type: defined.error.type, message: defined.error.message }, driverXml);
  await libvirt.undefine(defined.name);
  const summary = summarizeDomain(defined.xml);
  return {
    kind: "libvirt-domain",
    driverXml,
    definedXml: defined.xml,
    defined: summary,
    media,
    extraProbeModules: [FW_CFG_MODULE],
    firmwareLog: options.firmwareLog ?? false,
    ...(summary.disks.some((d) => d.bus === "usb") ? { deadlineMs: USB_DISK_DEADLINE_MS } : {}),
  };
}
