// El Torito ISO 9660 image with two boot entries: isolinux for BIOS (no emulation) and a
// GRUB standalone EFI image for UEFI (OVMF), plus an isohybrid MBR so the same file also
// boots under BIOS when attached as a hard disk. Files are grafted from their host paths.

import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { contentAddressed, stableJson } from "../cache.js";
import { buildGrubEfiBootImage } from "./grub-efi.js";
import { type BootPayload, INITRD_FILE, KERNEL_FILE, payloadKey, syslinuxConfig } from "./payload.js";
import { requireBootFile, runTool } from "./tools.js";

const ISO_BUILDER_VERSION = 2;
const IMAGE_FILE = "boot.iso";

export async function buildIso(role: string, payload: BootPayload): Promise<string> {
  const key = { builder: ISO_BUILDER_VERSION, role, payload: await payloadKey(payload) };
  const isolinux = await requireBootFile("isolinuxBin");
  const ldlinux = await requireBootFile("ldlinuxC32");
  const hybridMbr = await requireBootFile("isohybridMbr");
  return contentAddressed("iso", key, async (workDir) => {
    const config = join(workDir, "isolinux.cfg");
    await writeFile(config, syslinuxConfig(payload, `/${KERNEL_FILE}`, `/${INITRD_FILE}`));
    // GRUB finds this very ISO by a file only it carries.
    const marker = `/bootproof-id/${createHash("sha256").update(stableJson(key)).digest("hex").slice(0, 16)}`;
    const markerFile = join(workDir, "marker");
    await writeFile(markerFile, `${role}\n`);
    const efiBootImage = await buildGrubEfiBootImage(workDir, payload, marker);
    await runTool("xorriso", [
      "-as",
      "mkisofs",
      "-quiet",
      "-o",
      join(workDir, IMAGE_FILE),
      "-V",
      "BOOTPROOF",
      "-R",
      "-J",
      "-graft-points",
      "-b",
      "isolinux/isolinux.bin",
      "-c",
      "isolinux/boot.cat",
      "-no-emul-boot",
      "-boot-load-size",
      "4",
      "-boot-info-table",
      "-isohybrid-mbr",
      hybridMbr,
      "-eltorito-alt-boot",
      "-e",
      "efi/efiboot.img",
      "-no-emul-boot",
      `isolinux/isolinux.bin=${isolinux}`,
      `isolinux/ldlinux.c32=${ldlinux}`,
      `isolinux/isolinux.cfg=${config}`,
      `efi/efiboot.img=${efiBootImage}`,
      `${marker.slice(1)}=${markerFile}`,
      `${KERNEL_FILE}=${payload.kernel.vmlinuz}`,
      `${INITRD_FILE}=${payload.initramfs}`,
    ]);
    return IMAGE_FILE;
  });
}
