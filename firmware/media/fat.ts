// Partitioned raw images with a FAT file system, built in plain files: sfdisk writes the
// partition table, mkfs.vfat formats the partition at its offset, mtools copies files in.
// No loop devices, no mounts, no root.
import { open, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runTool } from "./tools.js";

export const SECTOR = 512;
export const MiB = 1024 * 1024;

export interface Partition {
  startSector: number;
  sizeSectors: number;
}

/** Creates a sparse image of sizeBytes and writes the sfdisk script's table; returns partition 1. */
export async function partitionImage(image: string, sizeBytes: number, sfdiskScript: string): Promise<Partition> {
  await writeFile(image, "");
  await truncate(image, sizeBytes);
  await runTool("sfdisk", ["--quiet", "--no-reread", "--no-tell-kernel", image], { input: sfdiskScript });
  const { stdout } = await runTool("sfdisk", ["--json", image]);
  const table = JSON.parse(stdout) as { partitiontable: { partitions?: Array<{ start: number; size: number }> } };
  const first = table.partitiontable.partitions?.[0];
  if (!first) throw new Error(`sfdisk wrote no partition into ${image}; script was:\n${sfdiskScript}`);
  return { startSector: first.start, sizeSectors: first.size };
}

/** FAT16 up to 512 MiB (syslinux and OVMF read it; FAT32 needs ≥ 33 MiB), FAT32 above. */
export function fatBitsFor(sizeBytes: number): 12 | 16 | 32 {
  if (sizeBytes <= 4 * MiB) return 12;
  return sizeBytes <= 512 * MiB ? 16 : 32;
}

/** Formats the partition as FAT; `hiddenSectors` tells BIOS boot code where it starts. */
export async function formatFat(image: string, partition: Partition, label: string): Promise<void> {
  const bytes = partition.sizeSectors * SECTOR;
  await runTool("mkfs.vfat", [
    "-F",
    String(fatBitsFor(bytes)),
    "-n",
    label,
    "-h",
    String(partition.startSector),
    `--offset=${partition.startSector}`,
    image,
    String(Math.floor(bytes / 1024)),
  ]);
}

/** mtools address of a FAT file system inside an image. */
export function mtoolsImage(image: string, offsetBytes: number): string {
  return offsetBytes === 0 ? image : `${image}@@${offsetBytes}`;
}

/** The images are plain files without a real disk geometry: skip mtools' geometry checks. */
const MTOOLS_ENV = { MTOOLS_SKIP_CHECK: "1" };

export interface FatFile {
  /** Path inside the file system, e.g. "EFI/BOOT/BOOTX64.EFI". */
  dest: string;
  /** Host file to copy, or literal content. */
  source: string | { content: string | Buffer };
}

/** Creates the directories and copies the files into the FAT at offsetBytes. */
export async function copyIntoFat(
  image: string,
  offsetBytes: number,
  files: readonly FatFile[],
  scratchDir: string,
): Promise<void> {
  const target = mtoolsImage(image, offsetBytes);
  const dirs = new Set<string>();
  for (const file of files) {
    const parts = file.dest.split("/");
    for (let depth = 1; depth < parts.length; depth++) dirs.add(parts.slice(0, depth).join("/"));
  }
  const sortedDirs = [...dirs].sort((a, b) => a.split("/").length - b.split("/").length);
  if (sortedDirs.length > 0) await runTool("mmd", ["-i", target, ...sortedDirs.map((d) => `::/${d}`)], { env: MTOOLS_ENV });
  let literal = 0;
  for (const file of files) {
    let source: string;
    if (typeof file.source === "string") {
      source = file.source;
    } else {
      source = join(scratchDir, `literal-${literal++}`);
      await writeFile(source, file.source.content);
    }
    await runTool("mcopy", ["-o", "-i", target, source, `::/${file.dest}`], { env: MTOOLS_ENV });
  }
}

/** Writes bytes at an absolute offset of an existing image (boot code, MBR). */
export async function writeAt(image: string, offset: number, bytes: Buffer): Promise<void> {
  const handle = await open(image, "r+");
  try {
    await handle.write(bytes, 0, bytes.length, offset);
  } finally {
    await handle.close();
  }
}
