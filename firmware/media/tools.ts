// External tools the firmware layer runs (partitioners, FAT/ISO builders, boot loader
// installers, apt). A missing tool or data file becomes an error that names the Debian
// package providing it, so `bootproof doctor --fix` and humans know what to install.
import { access } from "node:fs/promises";

/** Command → Debian package that provides it. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  sfdisk: "fdisk",
  "mkfs.vfat": "dosfstools",
  mcopy: "mtools",
  mmd: "mtools",
  minfo: "mtools",
  mdir: "mtools",
  syslinux: "syslinux",
  xorriso: "xorriso",
  "grub-mkstandalone": "grub-common",
  "apt-cache": "apt",
  "apt-get": "apt",
  "dpkg-deb": "dpkg",
  busybox: "busybox-static",
};

/** Data files the media builders copy into images, with their Debian packages. */
export const BOOT_FILES = {
  mbr: { path: "/usr/lib/syslinux/mbr/mbr.bin", package: "syslinux-common" },
  ldlinuxC32: { path: "/usr/lib/syslinux/modules/bios/ldlinux.c32", package: "syslinux-common" },
  syslinuxEfi: { path: "/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi", package: "syslinux-efi" },
  ldlinuxE64: { path: "/usr/lib/syslinux/modules/efi64/ldlinux.e64", package: "syslinux-common" },
  isolinuxBin: { path: "/usr/lib/ISOLINUX/isolinux.bin", package: "isolinux" },
  isohybridMbr: { path: "/usr/lib/ISOLINUX/isohdpfx.bin", package: "isolinux" },
  grubEfiModules: { path: "/usr/lib/grub/x86_64-efi", package: "grub-efi-amd64-bin" },
  busybox: { path: "/bin/busybox", package: "busybox-static" },
} as const;

/** Every Debian package the firmware layer needs on the host (for `bootproof doctor`). */
export const FIRMWARE_DEBIAN_PACKAGES: readonly string[] = [
  ...new Set([...Object.values(TOOL_PACKAGES), ...Object.values(BOOT_FILES).map((f) => f.package)]),
].sort();

export class MissingToolError extends Error {
  constructor(
    readonly tool: string,
    readonly debianPackage: string,
  ) {
    super(`'${tool}' is not installed; install the Debian package '${debianPackage}' (apt-get install -y ${debianPackage})`);
    this.name = "MissingToolError";
  }
}

export class ToolFailedError extends Error {
  constructor(
    readonly tool: string,
    readonly args: readonly string[],
    readonly exitCode: number | undefined,
    readonly output: string,
  ) {
    super(`${tool} ${args.join(" ")} failed${exitCode === undefined ? "" : ` with exit code ${exitCode}`}:\n${output.trim()}`);
    this.name = "ToolFailedError";
  }
}

export interface ToolResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs a tool to completion and returns its output. Exit codes other than 0 become a
 * ToolFailedError carrying stderr (and stdout, which some tools use for errors).
 */
export async function runTool(
  tool: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number; input?: string } = {},
): Promise<ToolResult> {
  // Loaded on first use: a run whose media are all cached never spawns a tool.
  const { execa } = await import("execa");
  const result = await execa(tool, args, {
    cwd: options.cwd,
    env: { LC_ALL: "C", ...options.env },
    reject: false,
    ...(options.input === undefined ? { stdin: "ignore" as const } : { input: options.input }),
    timeout: options.timeoutMs ?? 300_000,
  });
  // execa reports a command that could not be spawned with the errno code on the result.
  if ((result as { code?: string }).code === "ENOENT") {
    throw new MissingToolError(tool, TOOL_PACKAGES[tool] ?? "(unknown package: install the tool that provides this command)");
  }
  if (result.timedOut) {
    throw new ToolFailedError(tool, args, undefined, `timed out after ${options.timeoutMs ?? 300_000} ms`);
  }
  if (result.exitCode !== 0) {
    throw new ToolFailedError(tool, args, result.exitCode, `${String(result.stderr)}\n${String(result.stdout)}`);
  }
  return { stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Resolves a well-known boot file, or fails naming the package that installs it. */
export async function requireBootFile(file: keyof typeof BOOT_FILES): Promise<string> {
  const { path, package: debianPackage } = BOOT_FILES[file];
  try {
    await access(path);
  } catch {
    throw new Error(`${path} is missing; install the Debian package '${debianPackage}' (apt-get install -y ${debianPackage})`);
  }
  return path;
}
