// UEFI raw disk: GPT with one EFI system partition (FAT) holding the removable-media
// loader path EFI/BOOT/BOOTX64.EFI, which OVMF boots without any NVRAM boot entry.
// The loader is syslinux.efi (FINDINGS: it works from a FAT partition on a disk, unlike
// from an El Torito image); it reads EFI/BOOT/syslinux.cfg next to itself.
import { join } from "node:path";
import { contentAddressed } from "../cache.js";
import { checkDiskSize } from "./bios-disk.js";
import { copyIntoFat, formatFat, MiB, partitionImage, SECTOR } from "./fat.js";
import { type BootPayload, INITRD_FILE, KERNEL_FILE, payloadKey, syslinuxConfig } from "./payload.js";
import { requireBootFile } from "./tools.js";

const UEFI_DISK_BUILDER_VERSION = 1;
const IMAGE_FILE = "uefi-disk.img";
export const EFI_SYSTEM_PARTITION_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

export async function buildUefiDisk(role: string, sizeMiB: number | undefined, payload: BootPayload): Promise<string> {
  const size = await checkDiskSize("uefi-disk", sizeMiB, payload);
  const key = { builder: UEFI_DISK_BUILDER_VERSION, role, sizeMiB: size, payload: await payloadKey(payload) };
  const loader = await requireBootFile("syslinuxEfi");
  const ldlinux = await requireBootFile("ldlinuxE64");
  return contentAddressed("uefi-disk", key, async (workDir) => {
    const image = join(workDir, IMAGE_FILE);
    const partition = await partitionImage(
      image,
      size * MiB,
      `label: gpt\nunit: sectors\nfirst-lba: 2048\n\nstart=2048, type=${EFI_SYSTEM_PARTITION_TYPE}, name="EFI system partition"\n`,
    );
    await formatFat(image, partition, "BOOTPROOF");
    await copyIntoFat(
      image,
      partition.startSector * SECTOR,
      [
        { dest: "EFI/BOOT/BOOTX64.EFI", source: loader },
        { dest: "EFI/BOOT/ldlinux.e64", source: ldlinux },
        { dest: "EFI/BOOT/syslinux.cfg", source: { content: syslinuxConfig(payload, `/${KERNEL_FILE}`, `/${INITRD_FILE}`) } },
        { dest: KERNEL_FILE, source: payload.kernel.vmlinuz },
        { dest: INITRD_FILE, source: payload.initramfs },
      ],
      workDir,
    );
    return IMAGE_FILE;
  });
}
