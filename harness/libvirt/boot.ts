// One boot of a libvirt domain: build the media, point the driver's domain at bootproof's
// world, let libvirt define it (addresses) and write QEMU's command line, then run that
// command under bootproof's supervision. Nothing is left behind: the domain is undefined,
// the overlays live in the boot's temp dir, QEMU is gone when this returns.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { shellQuote } from "../../emulator/argv.js";
import { buildMedia } from "../../firmware/media/build.js";
import { buildProbeInitramfs } from "../../firmware/probe/initramfs.js";
import { guestCmdline, requireGuestKernel } from "../boot/prepare.js";
import { type BootOptions, type CommandBootResult, superviseBoot, withBootTempDir } from "../boot/run-boot.js";
import { describeError, InfraError } from "../errors.js";
import type { DomainDiskMedium, DomainTopology } from "../scenario.js";
import { supervisedCommand } from "./argv.js";
import {
  type DiskPlacement,
  type DomainSummary,
  pointDomainAtBootproof,
  summarizeDomain,
  withoutInterfaces,
} from "./domain-xml.js";
import { embeddedLibvirt } from "./embedded.js";
import { firstAddressChange } from "./inventory.js";
import { probeModulesForDomain } from "./probe-modules.js";

const run = promisify(execFile);
const DEFAULT_OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd";

export type DomainBootResult = CommandBootResult & {
  domain: DomainSummary;
  /** Milliseconds spent in libvirt for this boot (define, command line, undefine). */
  libvirtMs: number;
};

/** Placeholder world for defining a domain without booting it (static checks). */
export function placeholderPlacement(topology: Pick<DomainTopology, "media">, targetDev: string): DiskPlacement | undefined {
  const medium = topology.media.find((m) => m.targetDev === targetDev);
  if (!medium) return undefined;
  const base = `/bootproof/media/${targetDev}.${medium.media.kind === "iso" ? "iso" : "img"}`;
  return medium.writable
    ? { file: `/bootproof/overlay/${targetDev}.qcow2`, format: "qcow2", backing: { file: base, format: "raw" } }
    : { file: base, format: "raw" };
}

export async function bootDomain(topology: DomainTopology, options: BootOptions): Promise<DomainBootResult> {
  if (!topology.defined || topology.definedXml === null)
    throw new InfraError(`the domain was refused (${topology.refusal?.message ?? "no definition"}); it cannot boot`);
  const planned = topology.defined;
  return withBootTempDir(options.artifactDir, async (tempDir) => {
    const libvirt = embeddedLibvirt();
    const kernel = await requireGuestKernel(options.kernel);
    const modules = [...new Set([...probeModulesForDomain(planned), ...(topology.extraProbeModules ?? [])])];
    const initramfs = await buildProbeInitramfs(kernel, modules).catch((error: unknown) => {
      throw new InfraError(`building the probe initramfs failed: ${describeError(error)}`, { cause: error });
    });
    const placements = new Map<string, DiskPlacement>();
    for (const medium of topology.media) {
      const spec = medium.media;
      const base = await buildMedia(
        spec,
        spec.kind === "blank" ? undefined : { kernel, initramfs, cmdline: guestCmdline(spec.role) },
      ).catch((error: unknown) => {
        throw new InfraError(`building ${spec.kind} media for disk ${medium.targetDev} failed: ${describeError(error)}`);
      });
      if (!medium.writable) {
        placements.set(medium.targetDev, { file: base, format: "raw" });
        continue;
      }
      // Copy-on-write: the cached base is never written; the overlay dies with the temp dir.
      const overlay = join(tempDir, `${medium.targetDev}.qcow2`);
      const size = await overlaySize(base, medium);
      await run("qemu-img", ["create", "-q", "-f", "qcow2", "-F", "raw", "-b", base, overlay, ...size]).catch(
        (error: unknown) => {
          throw new InfraError(`qemu-img could not create the overlay for disk ${medium.targetDev}: ${describeError(error)}`);
        },
      );
      placements.set(medium.targetDev, { file: overlay, format: "qcow2", backing: { file: base, format: "raw" } });
    }
    const paths = {
      qmpSocket: join(tempDir, "qmp.sock"),
      serialFile: join(tempDir, "serial.out"),
      masterKeyFile: join(tempDir, "master-key.aes"),
      nvramFile: planned.firmware === "efi" ? join(tempDir, "VARS.fd") : undefined,
      // SeaBIOS's debug port is the only place it says what it booted or why nothing booted.
      firmwareLog: planned.firmware === "bios" || topology.firmwareLog ? join(options.artifactDir, "firmware.log") : undefined,
    };
    const pointed = pointDomainAtBootproof(topology.driverXml, {
      placeDisk: (d) => placements.get(d.targetDev),
      serialFile: paths.serialFile,
    });
    let libvirtMs = 0;
    const timed = async <T>(call: Promise<T>): Promise<T> => {
      const t = performance.now();
      try {
        return await call;
      } finally {
        libvirtMs += performance.now() - t;
      }
    };
    const defined = await timed(libvirt.define(pointed.xml));
    if (defined.outcome === "refused")
      throw new InfraError(`libvirt refused the domain it accepted in the static check: ${defined.error.message}`);
    try {
      const domain = summarizeDomain(defined.xml);
      // The static checks judged the addresses of the placeholder world; the guest must get the same.
      const moved = firstAddressChange(planned, domain);
      if (moved) throw new InfraError(`libvirt assigned different addresses for the boot than for the static check: ${moved}`);
      const native = await timed(libvirt.native(withoutInterfaces(defined.xml)));
      if (native.outcome === "refused") throw new InfraError(`libvirt could not write the command line: ${native.error.message}`);
      const supervised = supervisedCommand(native, domain.interfaces, /q35/.test(domain.machine ?? "") ? "q35" : "pc", paths);
      const argv = [...supervised.command.argv];
      if (paths.firmwareLog) {
        // SeaBIOS's debug port: an ISA port the guest cannot enumerate; the only proof of a floppy boot.
        argv.push(
          "-chardev",
          `file,id=firmware-log,path=${paths.firmwareLog}`,
          "-device",
          "isa-debugcon,iobase=0x402,chardev=firmware-log",
        );
        supervised.changes.push("SeaBIOS debug port (isa-debugcon 0x402) → firmware.log");
      }
      await writeFile(paths.masterKeyFile, randomBytes(32), { mode: 0o600 });
      if (paths.nvramFile) await copyFile(nvramTemplateOf(defined.xml), paths.nvramFile);
      const command = { binary: supervised.command.binary, argv };
      const result = await superviseBoot(
        {
          command,
          paths,
          artifacts: {
            "command.sh": `${shellQuote([command.binary, ...command.argv])}\n`,
            "driver.xml": topology.driverXml,
            "domain-bootproof.xml": pointed.xml,
            "libvirt-dumpxml.xml": defined.xml,
            "libvirt-argv.txt": `${native.argv.join("\n")}\n`,
            "changes.txt": `${[...pointed.changes, ...supervised.changes].map((c) => `- ${c}`).join("\n")}\n`,
          },
        },
        options,
      );
      const undefineStarted = performance.now();
      await libvirt.undefine(defined.name).catch(() => undefined);
      return { ...explained(result), domain, libvirtMs: Math.round(libvirtMs + performance.now() - undefineStarted) };
    } catch (error) {
      await libvirt.undefine(defined.name).catch(() => undefined);
      throw error;
    }
  });
}

/** qemu-img's size argument for a volume larger than its medium (none: the medium's size). */
async function overlaySize(base: string, medium: DomainDiskMedium): Promise<string[]> {
  if (medium.sizeMiB === undefined) return [];
  const baseBytes = (await stat(base)).size;
  const bytes = medium.sizeMiB * 1024 * 1024;
  if (bytes < baseBytes)
    throw new InfraError(
      `disk ${medium.targetDev}: a ${medium.sizeMiB} MiB volume cannot hold its ${Math.ceil(baseBytes / 1048576)} MiB medium`,
    );
  return [String(bytes)];
}

/** A boot that ended without an observation, with what SeaBIOS said it tried. */
function explained(result: CommandBootResult): CommandBootResult {
  if (result.status !== "no-observation") return result;
  const said = result.firmwareLog.filter((l) => /Booting from|No bootable device|Boot failed|could not read/i.test(l));
  if (said.length === 0) return result;
  return { ...result, reason: `${result.reason}; SeaBIOS: ${[...new Set(said)].slice(0, 4).join(" / ")}` };
}

function nvramTemplateOf(xml: string): string {
  const match = xml.match(/<nvram[^>]*template=['"]([^'"]+)['"]/);
  return match?.[1] ?? DEFAULT_OVMF_VARS;
}
