// Legacy BIOS raw disk: MBR with syslinux's boot code, one bootable FAT partition at 1 MiB
// holding syslinux (ldlinux.sys/ldlinux.c32), the kernel, the probe initramfs and a
// syslinux.cfg that boots at once.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { contentAddressed } from "../cache.js";
import { copyIntoFat, formatFat, MiB, partitionImage, SECTOR, writeAt } from "./fat.js";
import { type BootPayload, INITRD_FILE, KERNEL_FILE, payloadBytes, payloadKey, syslinuxConfig } from "./payload.js";
import { requireBootFile, runTool } from "./tools.js";

const BIOS_DISK_BUILDER_VERSION = 1;
const IMAGE_FILE = "bios-disk.img";
/** MBR boot code occupies the first 440 bytes; the disk signature and table follow. */
const MBR_CODE_BYTES = 440;
const PARTITION_START_SECTOR = 2048;

/** Room for the payload plus FAT overhead and slack, at least 64 MiB. */
export async function defaultDiskSizeMiB(payload: BootPayload): Promise<number> {
  return Math.max(64, Math.ceil((await payloadBytes(payload)) / MiB) + 16);
}

export async function checkDiskSize(kind: string, requestedMiB: number | undefined, payload: BootPayload): Promise<number> {
  const minimum = await defaultDiskSizeMiB(payload);
  if (requestedMiB === undefined) return minimum;
  if (!Number.isInteger(requestedMiB) || requestedMiB < minimum) {
    throw new Error(
      `${kind} sizeMiB ${requestedMiB} is too small for the kernel and probe: use at least ${minimum} (or leave it unset)`,
    );
  }
  return requestedMiB;
}

export async function buildBiosDisk(role: string, sizeMiB: number | undefined, payload: BootPayload): Promise<string> {
  const size = await checkDiskSize("bios-disk", sizeMiB, payload);
  const key = { builder: BIOS_DISK_BUILDER_VERSION, role, sizeMiB: size, payload: await payloadKey(payload) };
  const mbr = await requireBootFile("mbr");
  return contentAddressed("bios-disk", key, async (workDir) => {
    const image = join(workDir, IMAGE_FILE);
    // FAT16 LBA (type 0x0e), marked active so the MBR code chain-loads it.
    const partition = await partitionImage(
      image,
      size * MiB,
      `label: dos\nunit: sectors\n\nstart=${PARTITION_START_SECTOR}, type=e, bootable\n`,
    );
    await writeAt(image, 0, (await readFile(mbr)).subarray(0, MBR_CODE_BYTES));
    await formatFat(image, partition, "BOOTPROOF");
    const offset = partition.startSector * SECTOR;
    await runTool("syslinux", ["--install", "--offset", String(offset), image]);
    await copyIntoFat(
      image,
      offset,
      [
        { dest: KERNEL_FILE, source: payload.kernel.vmlinuz },
        { dest: INITRD_FILE, source: payload.initramfs },
        { dest: "syslinux.cfg", source: { content: syslinuxConfig(payload, `/${KERNEL_FILE}`, `/${INITRD_FILE}`) } },
      ],
      workDir,
    );
    return IMAGE_FILE;
  });
}
