// The fast probe kernel: built by `bootproof kernel build` (build.ts) from Debian's
// linux-source-6.1 package with the fragment probe.config, cached content-addressed by the
// source package version, the fragment's digest and the builder version. This file knows the
// key and finds a finished build; it never builds.
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { cachedEntry } from "../cache.js";
import type { GuestKernel } from "../kernel.js";
import { MissingToolError, runTool, ToolFailedError } from "../media/tools.js";
import { packageFile } from "../package-file.js";

export const KERNEL_SOURCE_PACKAGE = "linux-source-6.1";
export const KERNEL_SOURCE_TARBALL = `/usr/src/${KERNEL_SOURCE_PACKAGE}.tar.xz`;
export const PROBE_KERNEL_CACHE_KIND = "probe-kernel";
/** Bump when the build steps change what they produce for the same source and fragment. */
export const PROBE_KERNEL_BUILDER_VERSION = 1;
/** The entry's directory: vmlinuz, config, kernel.json and lib/modules/<release>. */
export const PROBE_KERNEL_DIR = "kernel";
export const PROBE_KERNEL_BUILD_HINT =
  "run `bootproof kernel build` (or `bootproof doctor --fix`): it builds the probe kernel from Debian's linux-source-6.1 into the cache";

export interface ProbeKernelKey {
  builder: number;
  source: { packageName: string; packageVersion: string };
  /** sha256 of probe.config as it is in this checkout. */
  fragment: string;
}

export function probeKernelKey(sourceVersion: string, fragmentText: string): ProbeKernelKey {
  return {
    builder: PROBE_KERNEL_BUILDER_VERSION,
    source: { packageName: KERNEL_SOURCE_PACKAGE, packageVersion: sourceVersion },
    fragment: createHash("sha256").update(fragmentText).digest("hex"),
  };
}

/**
 * The GuestKernel's packageVersion names the source version and the fragment: the probe
 * initramfs cache keys on it, so a changed fragment gets initramfs images of its own.
 */
export function probeKernelPackageVersion(key: ProbeKernelKey): string {
  return `${key.source.packageVersion}+probe.${key.fragment.slice(0, 12)}.b${key.builder}`;
}

/** The fragment shipped in the package's firmware/kernel folder. */
export function probeConfigPath(): Promise<string> {
  return packageFile("firmware/kernel/probe.config", import.meta.url);
}

let sourceVersion: Promise<string | undefined> | undefined;

/** The installed linux-source-6.1 version (dpkg-query, once per process); undefined when not installed. */
export function installedSourceVersion(): Promise<string | undefined> {
  // dpkg-query's own ${field} syntax, not a template.
  const format = ["-f=$", "{Status}|$", "{Version}"].join("");
  sourceVersion ??= runTool("dpkg-query", ["-W", format, KERNEL_SOURCE_PACKAGE])
    .then(({ stdout }) => {
      const [status, version] = stdout.split("|");
      return status?.endsWith(" installed") && version ? version.trim() : undefined;
    })
    .catch((error: unknown) => {
      if (error instanceof ToolFailedError || error instanceof MissingToolError) return undefined;
      throw error;
    });
  return sourceVersion;
}

/** Forget the remembered source version (after installing the package). */
export function forgetSourceVersion(): void {
  sourceVersion = undefined;
}

export interface ProbeKernelBuildInfo {
  release: string;
  sourceVersion: string;
}

export async function describeProbeKernel(dir: string, key: ProbeKernelKey): Promise<GuestKernel> {
  const info = JSON.parse(await readFile(join(dir, "kernel.json"), "utf8")) as ProbeKernelBuildInfo;
  const kernel: GuestKernel = {
    flavor: "fast",
    release: info.release,
    packageName: KERNEL_SOURCE_PACKAGE,
    packageVersion: probeKernelPackageVersion(key),
    vmlinuz: join(dir, "vmlinuz"),
    modulesDir: join(dir, "lib", "modules", info.release),
  };
  for (const path of [kernel.vmlinuz, kernel.modulesDir]) {
    if (!(await stat(path).catch(() => undefined)))
      throw new Error(`the cached probe kernel has no ${path}; delete ${dir} and ${PROBE_KERNEL_BUILD_HINT}`);
  }
  return kernel;
}

/** The current key: undefined when linux-source-6.1 is not installed (nothing can match). */
export async function currentProbeKernelKey(): Promise<ProbeKernelKey | undefined> {
  const version = await installedSourceVersion();
  if (!version) return undefined;
  const path = await probeConfigPath();
  const fragment = await readFile(path, "utf8").catch((error: Error) => {
    throw new Error(`the probe kernel's config fragment ${path} is unreadable (${error.message}); reinstall bootproof`);
  });
  return probeKernelKey(version, fragment);
}

/** The fast kernel for the installed source and this checkout's fragment, if it was built. */
export async function findProbeKernel(): Promise<GuestKernel | undefined> {
  const key = await currentProbeKernelKey();
  if (!key) return undefined;
  const dir = await cachedEntry(PROBE_KERNEL_CACHE_KIND, key);
  return dir ? describeProbeKernel(dir, key) : undefined;
}
