// A self-contained GRUB EFI loader (grub-mkstandalone: core + modules + grub.cfg in one
// BOOTX64.EFI) for El Torito EFI boot, where syslinux.efi crashes (FINDINGS). Its config
// finds the medium it belongs to by a marker file unique to that medium, so several
// attached media carrying the same kernel can never be confused.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { copyIntoFat } from "./fat.js";
import { type BootPayload, INITRD_FILE, KERNEL_FILE, kernelCommandLine } from "./payload.js";
import { requireBootFile, runTool } from "./tools.js";

/** Modules the embedded config needs: finding the medium, loading Linux. */
const GRUB_MODULES = [
  "part_gpt",
  "part_msdos",
  "iso9660",
  "fat",
  "search",
  "search_fs_file",
  "linux",
  "boot",
  "normal",
  "echo",
  "test",
];
const EFI_BOOT_IMAGE_KIB = 2048;

export function grubConfig(payload: BootPayload, markerPath: string): string {
  return [
    "set timeout=0",
    // No video on the harness's machines: keep the console text-only, no mode search.
    "set gfxpayload=text",
    `search --no-floppy --file --set=root ${markerPath}`,
    `linux /${KERNEL_FILE} ${kernelCommandLine(payload)}`,
    `initrd /${INITRD_FILE}`,
    "boot",
    "",
  ].join("\n");
}

/** Writes grub.cfg, BOOTX64.EFI and a FAT El Torito image holding it into workDir; returns the image path. */
export async function buildGrubEfiBootImage(workDir: string, payload: BootPayload, markerPath: string): Promise<string> {
  await requireBootFile("grubEfiModules");
  const config = join(workDir, "grub.cfg");
  await writeFile(config, grubConfig(payload, markerPath));
  const loader = join(workDir, "BOOTX64.EFI");
  await runTool("grub-mkstandalone", [
    "-O",
    "x86_64-efi",
    "-o",
    loader,
    `--install-modules=${GRUB_MODULES.join(" ")}`,
    `--modules=${GRUB_MODULES.join(" ")}`,
    "--locales=",
    "--fonts=",
    "--themes=",
    `boot/grub/grub.cfg=${config}`,
  ]);
  const image = join(workDir, "efiboot.img");
  await runTool("mkfs.vfat", ["-C", "-n", "EFIBOOT", image, String(EFI_BOOT_IMAGE_KIB)]);
  await copyIntoFat(image, 0, [{ dest: "EFI/BOOT/BOOTX64.EFI", source: loader }], workDir);
  return image;
}
