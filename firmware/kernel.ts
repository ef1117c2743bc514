// The guest kernel: Debian's current generic amd64 kernel package, downloaded with apt and
// unpacked into the bootproof cache (never installed into the host's /boot). Its drivers
// are plain .ko modules without modules.dep; the probe initramfs loads what a machine needs.
import { mkdir, readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { cacheRoot, contentAddressed } from "./cache.js";
import { byCodePoint } from "./code-point-order.js";
import { MissingToolError, runTool, ToolFailedError } from "./media/tools.js";

/**
 * "debian": Debian's distribution kernel (this file); "fast": the small probe kernel built from
 * Debian's kernel source (firmware/kernel/build.ts). The probe runs the same on both.
 */
export type KernelFlavor = "debian" | "fast";

export interface GuestKernel {
  flavor: KernelFlavor;
  /** Kernel release, e.g. "6.1.0-56-amd64" (uname -r in the guest). */
  release: string;
  /** Debian package the kernel came from, e.g. "linux-image-6.1.0-56-amd64" (the fast kernel: its source package). */
  packageName: string;
  /** Debian package version, e.g. "6.1.192-2". */
  packageVersion: string;
  vmlinuz: string;
  /** .../lib/modules/<release> */
  modulesDir: string;
}

/** The Debian metapackage whose dependency names the current kernel package. */
export const GUEST_KERNEL_METAPACKAGE = "linux-image-amd64";
export const GUEST_KERNEL_PACKAGE_HINT =
  "the guest kernel comes from Debian's linux-image-amd64 package: run `bootproof doctor --fix` (or call fetchGuestKernel) " +
  "on a machine with apt and access to the Debian repositories; it is unpacked into the bootproof cache, not installed";

const CACHE_KIND = "kernel";
/** Bump when the unpacked layout changes. */
const KERNEL_BUILDER_VERSION = 1;
const UNPACKED_DIR = "root";

export interface KernelPackage {
  packageName: string;
  packageVersion: string;
  release: string;
}

/** Parses `apt-cache depends linux-image-amd64` output into the kernel package it points to. */
export function kernelPackageFromDepends(output: string): string | undefined {
  for (const line of output.split("\n")) {
    const match = line.match(/^\s*\|?Depends:\s*<?(linux-image-[0-9][^\s>]*)>?\s*$/);
    if (match?.[1]) return match[1];
  }
  return undefined;
}

export function releaseFromPackageName(packageName: string): string {
  const release = packageName.replace(/^linux-image-/, "").replace(/-unsigned$/, "");
  if (!/^\d+\.\d+/.test(release)) throw new Error(`'${packageName}' is not a Debian kernel image package name`);
  return release;
}

async function apt(tool: "apt-cache" | "apt-get", args: string[], cwd?: string): Promise<string> {
  try {
    return (await runTool(tool, args, { cwd, timeoutMs: 600_000 })).stdout;
  } catch (error) {
    if (error instanceof MissingToolError) {
      throw new Error(`${tool} is not available, so the guest kernel cannot be fetched: ${GUEST_KERNEL_PACKAGE_HINT}`);
    }
    throw error;
  }
}

let resolved: Promise<KernelPackage> | undefined;

/**
 * Asks apt (local package lists, no network) which kernel package and version are current.
 * apt-cache takes ~0.7 s per call, so the answer is remembered for the process's lifetime.
 */
export function resolveKernelPackage(): Promise<KernelPackage> {
  resolved ??= askApt();
  resolved.catch(() => {
    resolved = undefined;
  });
  return resolved;
}

async function askApt(): Promise<KernelPackage> {
  const depends = await apt("apt-cache", ["depends", GUEST_KERNEL_METAPACKAGE]);
  const packageName = kernelPackageFromDepends(depends);
  if (!packageName) {
    throw new Error(
      `apt-cache does not know ${GUEST_KERNEL_METAPACKAGE} (run apt-get update; the host must use Debian repositories): ${depends.trim()}`,
    );
  }
  const show = await apt("apt-cache", ["show", "--no-all-versions", packageName]);
  const packageVersion = show.match(/^Version:\s*(\S+)/m)?.[1];
  if (!packageVersion) throw new Error(`apt-cache show ${packageName} printed no Version field; run apt-get update`);
  return { packageName, packageVersion, release: releaseFromPackageName(packageName) };
}

function kernelKey(pkg: KernelPackage): unknown {
  return { builder: KERNEL_BUILDER_VERSION, packageName: pkg.packageName, packageVersion: pkg.packageVersion };
}

async function describeUnpacked(root: string, pkg: KernelPackage): Promise<GuestKernel> {
  const kernel: GuestKernel = {
    flavor: "debian",
    release: pkg.release,
    packageName: pkg.packageName,
    packageVersion: pkg.packageVersion,
    vmlinuz: join(root, "boot", `vmlinuz-${pkg.release}`),
    modulesDir: join(root, "lib", "modules", pkg.release),
  };
  for (const path of [kernel.vmlinuz, kernel.modulesDir]) {
    if (!(await stat(path).catch(() => undefined))) {
      throw new Error(`the unpacked kernel ${pkg.packageName} has no ${path}; delete ${root} from the cache and fetch again`);
    }
  }
  return kernel;
}

/**
 * The cached guest kernel, without touching the network: the only one cached; among
 * several, the one apt currently points to, else the most recently unpacked one;
 * undefined when none is cached.
 */
export async function findGuestKernel(): Promise<GuestKernel | undefined> {
  const kindDir = join(cacheRoot(), CACHE_KIND);
  const entries: Array<{ pkg: KernelPackage; root: string; builtAt: string }> = [];
  for (const name of await readdir(kindDir).catch(() => [] as string[])) {
    if (name.startsWith(".")) continue;
    try {
      const manifest = JSON.parse(await readFile(join(kindDir, name, ".entry.json"), "utf8")) as {
        file: string;
        key: { packageName: string; packageVersion: string };
        builtAt: string;
      };
      const pkg = {
        packageName: manifest.key.packageName,
        packageVersion: manifest.key.packageVersion,
        release: releaseFromPackageName(manifest.key.packageName),
      };
      entries.push({ pkg, root: join(kindDir, name, manifest.file), builtAt: manifest.builtAt });
    } catch {
      // Not a finished kernel entry (or from another cache format): ignore it.
    }
  }
  if (entries.length === 0) return undefined;
  // With one cached kernel there is nothing to choose, and apt need not be asked.
  const current = entries.length > 1 ? await resolveKernelPackage().catch(() => undefined) : undefined;
  const preferred =
    entries.find(
      (e) => current && e.pkg.packageName === current.packageName && e.pkg.packageVersion === current.packageVersion,
    ) ?? entries.sort((a, b) => byCodePoint(b.builtAt, a.builtAt))[0]!;
  return describeUnpacked(preferred.root, preferred.pkg);
}

/** Downloads and unpacks the current Debian kernel package into the cache (idempotent). */
export async function fetchGuestKernel(): Promise<GuestKernel> {
  const pkg = await resolveKernelPackage();
  const root = await contentAddressed(CACHE_KIND, kernelKey(pkg), async (workDir) => {
    const downloadDir = join(workDir, "download");
    await mkdir(downloadDir);
    // As root, apt drops privileges to _apt for downloads, which cannot write to our
    // private temp directory; downloading as the current user is fine for one .deb.
    const sandbox = process.getuid?.() === 0 ? ["-o", "APT::Sandbox::User=root"] : [];
    try {
      await apt("apt-get", [...sandbox, "download", `${pkg.packageName}=${pkg.packageVersion}`], downloadDir);
    } catch (error) {
      if (error instanceof ToolFailedError) {
        throw new Error(
          `could not download ${pkg.packageName} ${pkg.packageVersion} (offline, or stale package lists: try apt-get update): ${error.output.trim()}`,
        );
      }
      throw error;
    }
    const debs = (await readdir(downloadDir)).filter((n) => n.endsWith(".deb"));
    if (debs.length !== 1) throw new Error(`apt-get download left ${debs.length} .deb files in ${downloadDir}, expected 1`);
    const unpacked = join(workDir, UNPACKED_DIR);
    await runTool("dpkg-deb", ["-x", join(downloadDir, debs[0]!), unpacked]);
    // Only the kernel image and its modules are needed; documentation is dropped.
    await rm(join(unpacked, "usr"), { recursive: true, force: true });
    return UNPACKED_DIR;
  });
  return describeUnpacked(root, pkg);
}
