// What a bootable medium carries: the guest kernel, the probe initramfs and the kernel
// command line (which includes bootproof.role=<role>, so the guest can tell which medium
// booted). Shared by every loader configuration the builders write.
import { stat } from "node:fs/promises";
import { fileDigest } from "../file-digest.js";
import type { GuestKernel } from "../kernel.js";

export interface BootPayload {
  kernel: GuestKernel;
  initramfs: string;
  /** Caller's part of the command line, e.g. "bootproof.role=rescue panic=-1". */
  cmdline: string;
}

/** The serial console always comes first: the harness reads the guest on ttyS0. */
export const CONSOLE_ARGUMENT = "console=ttyS0,115200";
/** File names of the payload on every medium (8.3-safe for FAT and ISO 9660 level 1). */
export const KERNEL_FILE = "vmlinuz";
export const INITRD_FILE = "initrd.gz";

export function kernelCommandLine(payload: BootPayload): string {
  if (/[\r\n\0]/.test(payload.cmdline)) {
    throw new Error(`kernel command line ${JSON.stringify(payload.cmdline)} contains a line break or NUL; loaders read one line`);
  }
  const full = `${CONSOLE_ARGUMENT} ${payload.cmdline.trim()}`.trim();
  // Linux on x86 accepts 2048 bytes; syslinux and GRUB are fine with that too.
  if (full.length > 2000) throw new Error(`kernel command line is ${full.length} bytes; keep it under 2000`);
  return full;
}

/** The cache key part describing a payload: content digests, not paths. */
export async function payloadKey(payload: BootPayload): Promise<unknown> {
  return {
    kernel: await fileDigest(payload.kernel.vmlinuz),
    initramfs: await fileDigest(payload.initramfs),
    cmdline: kernelCommandLine(payload),
  };
}

export async function payloadBytes(payload: BootPayload): Promise<number> {
  const [kernel, initrd] = await Promise.all([stat(payload.kernel.vmlinuz), stat(payload.initramfs)]);
  return kernel.size + initrd.size;
}

/**
 * syslinux/isolinux configuration that boots the payload at once: no prompt, no menu, no
 * timeout (every second here is a second added to every case). SERIAL makes the loader's
 * own messages visible on the console, so a boot that stops in the loader says so.
 */
export function syslinuxConfig(payload: BootPayload, kernelPath: string, initrdPath: string): string {
  return [
    "SERIAL 0 115200",
    "DEFAULT bootproof",
    "PROMPT 0",
    "TIMEOUT 0",
    "NOESCAPE 1",
    "LABEL bootproof",
    `  LINUX ${kernelPath}`,
    `  INITRD ${initrdPath}`,
    `  APPEND ${kernelCommandLine(payload)}`,
    "",
  ].join("\n");
}
