// An unbootable data disk: a sparse, zero-filled raw file (costs no disk space until
// written, and cases write through copy-on-write overlays anyway).
import { truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { contentAddressed } from "../cache.js";
import { MiB } from "./fat.js";

const BLANK_BUILDER_VERSION = 1;
const IMAGE_FILE = "blank.img";

export async function buildBlank(sizeMiB: number): Promise<string> {
  if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || sizeMiB > 16 * 1024 * 1024) {
    throw new Error(`blank sizeMiB must be a whole number from 1 to 16777216 (16 TiB), got ${sizeMiB}`);
  }
  return contentAddressed("blank", { builder: BLANK_BUILDER_VERSION, sizeMiB }, async (workDir) => {
    const image = join(workDir, IMAGE_FILE);
    await writeFile(image, "");
    await truncate(image, sizeMiB * MiB);
    return IMAGE_FILE;
  });
}
