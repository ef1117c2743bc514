// The real Nova libvirt driver as a function: a bootproof Nova case in, the normal and the
// stable-device rescue domain XML Nova writes out (or Nova's refusal). The Python side is
// harness/openstack/python/nova_worker.py, run by one long-lived worker per Nova tree
// (harness/openstack/worker.ts). A user's own Nova tree (--nova-src, BOOTPROOF_NOVA_SRC) is
// put first on the worker's PYTHONPATH, so a patched driver answers instead of Debian's.
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import * as z from "zod/mini";
import "../../emulator/zod-english.js";
import type { NovaRescueCase } from "../../scenarios/nova/model.js";
import { InfraError, InputError } from "../errors.js";
import { NOVA_SRC_ENV } from "./nova-src.js";
import { workerPythonDir, workerPythonFile } from "./python-dir.js";
import { type WorkerSpec, workerFor } from "./worker.js";

export { NOVA_SRC_ENV };

export interface NovaWorkerOptions {
  /**
   * A Nova source tree (the directory holding `nova/__init__.py`) to use instead of Debian's
   * python3-nova; defaults to $BOOTPROOF_NOVA_SRC. It must suit the installed (Zed-era)
   * dependencies.
   */
  novaSrc?: string;
}

/** One entry of Nova's `disk_info['mapping']` (nova.virt.libvirt.blockinfo). */
const NovaDiskInfoSchema = z.object({
  bus: z.string(),
  dev: z.string(),
  type: z.string(),
  /** libvirt boot order as a string ("1"), on the root and bootable devices. */
  boot_index: z.optional(z.string()),
  /** guest_format of the BDM ("none", "swap", ...). */
  format: z.optional(z.string()),
});
export type NovaDiskInfo = z.infer<typeof NovaDiskInfoSchema>;

export const NovaDomainSchema = z.object({
  /** The domain XML exactly as LibvirtDriver._get_guest_xml returned it. */
  xml: z.string(),
  /**
   * disk_info['mapping'] as blockinfo.get_disk_info returned it, keyed by Nova's names:
   * "root" (an alias of the root device's entry), "disk", "disk.local", "disk.eph<N>",
   * "disk.swap", "disk.config", "disk.rescue", and "/dev/<dev>" for volumes.
   */
  diskMapping: z.record(z.string(), NovaDiskInfoSchema),
});
export type NovaDomain = z.infer<typeof NovaDomainSchema>;

/** One <disk> of a Nova domain, in XML order, named from Nova's own data. */
export const NovaDomainDiskSchema = z.object({
  domain: z.enum(["normal", "rescue"]),
  /** The disk_info mapping key whose entry has this disk's target dev. */
  mappingName: z.string(),
  role: z.enum(["root-image", "ephemeral", "swap", "config-drive", "rescue", "volume"]),
  /** The device of mapping "root": the instance's root (disk.rescue only in a legacy rescue). */
  root: z.boolean(),
  /** The file (local disks) or block device (volumes) path Nova wrote as <source>. */
  source: z.nullable(z.string()),
  dev: z.string(),
  bus: z.string(),
  device: z.enum(["disk", "cdrom", "floppy", "lun"]),
  /** The Cinder volume id of the BDM mounted on this dev (volumes only). */
  volumeId: z.optional(z.string()),
  /** <serial> as Nova wrote it: the volume id for volumes, absent for local disks. */
  serial: z.optional(z.string()),
  /** <boot order='N'/>: Nova writes it only on the stable rescue device. */
  bootOrder: z.optional(z.number()),
});
export type NovaDomainDisk = z.infer<typeof NovaDomainDiskSchema>;

const NovaErrorSchema = z.object({
  /** The exception's qualified name, e.g. "nova.exception.TooManyDiskDevices". */
  type: z.string(),
  message: z.string(),
});

const NovaDomainsSchema = z.discriminatedUnion("outcome", [
  z.object({
    outcome: z.literal("built"),
    /** hardware.check_hw_rescue_props on the rescue image: false means Nova did a legacy rescue. */
    stableRescue: z.boolean(),
    normal: NovaDomainSchema,
    rescue: NovaDomainSchema,
    disks: z.array(NovaDomainDiskSchema),
  }),
  z.object({
    outcome: z.literal("refused"),
    /** Which boot Nova refused: naming and XML of the normal boot, or of the rescue. */
    stage: z.enum(["normal", "rescue"]),
    error: NovaErrorSchema,
  }),
]);
/** What the real Nova libvirt driver made of a case. */
export type NovaDomains = z.infer<typeof NovaDomainsSchema>;
export type NovaBuiltDomains = Extract<NovaDomains, { outcome: "built" }>;
export type NovaRefusal = Extract<NovaDomains, { outcome: "refused" }>;

const NovaVersionsSchema = z.object({
  nova: z.string(),
  /** nova.__file__ of the tree that answered (proves a --nova-src tree was used). */
  nova_path: z.string(),
  python: z.string(),
  /** The libvirt and QEMU versions Nova's fakelibvirt reports (they gate Nova's features). */
  fakelibvirt_libvirt: z.string(),
  fakelibvirt_qemu: z.string(),
});
export type NovaVersions = z.infer<typeof NovaVersionsSchema>;

function checkNovaSrc(dir: string, origin: string): string {
  const path = resolve(dir);
  if (!existsSync(path) || !statSync(path).isDirectory())
    throw new InputError(
      `${origin} '${path}' is not a directory; pass the directory of a Nova source tree (a git clone of openstack/nova), the one that holds nova/__init__.py`,
    );
  if (!existsSync(join(path, "nova", "__init__.py"))) {
    const hint = existsSync(join(path, "__init__.py"))
      ? ` it looks like the nova package itself; pass its parent '${resolve(path, "..")}'`
      : " pass the top of a Nova source tree (a git clone of openstack/nova)";
    throw new InputError(`${origin} '${path}' has no nova/__init__.py:${hint}`);
  }
  return path;
}

/** The worker spec for Debian's Nova, or for a user's Nova tree put first on PYTHONPATH. */
export function novaWorkerSpec(options: NovaWorkerOptions = {}): WorkerSpec {
  const fromEnv = process.env[NOVA_SRC_ENV];
  const novaSrc =
    options.novaSrc !== undefined
      ? checkNovaSrc(options.novaSrc, "--nova-src")
      : fromEnv
        ? checkNovaSrc(fromEnv, `$${NOVA_SRC_ENV}`)
        : undefined;
  return {
    project: "nova",
    script: workerPythonFile("nova_worker.py"),
    pythonPath: [...(novaSrc ? [novaSrc] : []), workerPythonDir()],
  };
}

/**
 * The domain XML the real Nova libvirt driver writes for the case's normal boot and for its
 * stable-device rescue, or Nova's refusal. A worker failure (not Nova's answer) rejects with
 * a WorkerError (an infra-error).
 */
export function novaDomains(input: NovaRescueCase, options: NovaWorkerOptions = {}): Promise<NovaDomains> {
  return workerFor(novaWorkerSpec(options)).request("domains", input, NovaDomainsSchema);
}

/** Nova's version and where it was imported from (starts the worker if needed). */
export async function novaVersions(options: NovaWorkerOptions = {}): Promise<NovaVersions> {
  const worker = workerFor(novaWorkerSpec(options));
  await worker.start();
  const parsed = NovaVersionsSchema.safeParse(worker.versions);
  if (!parsed.success)
    throw new InfraError(`the nova worker reported versions that do not match the protocol: ${JSON.stringify(worker.versions)}`);
  return parsed.data;
}
