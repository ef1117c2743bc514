// El Torito ISO 9660 image booted by isolinux (BIOS, no emulation), with an isohybrid MBR
// so the same file also boots when attached as a hard disk. Files are grafted from their
// host paths, nothing is staged.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { contentAddressed } from "../cache.js";
import { type BootPayload, INITRD_FILE, KERNEL_FILE, payloadKey, syslinuxConfig } from "./payload.js";
import { requireBootFile, runTool } from "./tools.js";

const ISO_BUILDER_VERSION = 1;
const IMAGE_FILE = "boot.iso";

export async function buildIso(role: string, payload: BootPayload): Promise<string> {
  const key = { builder: ISO_BUILDER_VERSION, role, payload: await payloadKey(payload) };
  const isolinux = await requireBootFile("isolinuxBin");
  const ldlinux = await requireBootFile("ldlinuxC32");
  const hybridMbr = await requireBootFile("isohybridMbr");
  return contentAddressed("iso", key, async (workDir) => {
    const config = join(workDir, "isolinux.cfg");
    await writeFile(config, syslinuxConfig(payload, `/${KERNEL_FILE}`, `/${INITRD_FILE}`));
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
      `isolinux/isolinux.bin=${isolinux}`,
      `isolinux/ldlinux.c32=${ldlinux}`,
      `isolinux/isolinux.cfg=${config}`,
      `${KERNEL_FILE}=${payload.kernel.vmlinuz}`,
      `${INITRD_FILE}=${payload.initramfs}`,
    ]);
    return IMAGE_FILE;
  });
}
