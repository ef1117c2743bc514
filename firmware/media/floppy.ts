// 1.44 MB FAT12 floppy whose boot sector proves that the firmware ran it, and when: it
// prints `BOOTPROOF-FLOPPY role=<role>` on COM1, then INT 18h hands control back to the
// BIOS, which boots the next device in the boot order. A harness therefore sees the marker
// followed by the next medium's observation. 1.44 MB cannot hold the kernel, so a floppy
// proves boot order at loader level only; OVMF never boots floppies (no marker at all).
//
// The boot code (floppy-boot.S, 43 bytes, assembled once with GNU as; see that file) sits
// after mkfs.vfat's jump and BIOS parameter block, so the image stays a valid FAT12 disk.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { contentAddressed } from "../cache.js";
import { writeAt } from "./fat.js";
import { runTool } from "./tools.js";

const FLOPPY_BUILDER_VERSION = 2;
const IMAGE_FILE = "floppy.img";
/** Printed by the floppy's boot sector: `BOOTPROOF-FLOPPY role=<role>`. */
export const FLOPPY_MARKER = "BOOTPROOF-FLOPPY";
const FLOPPY_KIB = 1440;
/** mkfs.vfat's boot sector starts with `jmp short 0x3e; nop`: the code goes there. */
export const FLOPPY_CODE_OFFSET = 0x3e;
/** floppy-boot.S linked at 0x7c3e; the NUL-terminated message follows at 0x7c69. */
export const FLOPPY_BOOT_CODE = Buffer.from(
  "fa31c08ed88ed0bc007cfbfcbe697cac84c0741288c3bafd03eca82074fbbaf80388d8eeebe9cd18f4ebfd",
  "hex",
);
const BOOT_SIGNATURE_OFFSET = 510;

export function floppyMessage(role: string): Buffer {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(role)) {
    throw new Error(`floppy role '${role}' must be 1 to 64 letters, digits, '.', '_' or '-'`);
  }
  return Buffer.from(`\r\n${FLOPPY_MARKER} role=${role}\r\n\0`, "latin1");
}

/** The boot code plus message, to be written at FLOPPY_CODE_OFFSET of the boot sector. */
export function floppyBootBytes(role: string): Buffer {
  const bytes = Buffer.concat([FLOPPY_BOOT_CODE, floppyMessage(role)]);
  if (FLOPPY_CODE_OFFSET + bytes.length > BOOT_SIGNATURE_OFFSET)
    throw new Error("floppy boot code and message do not fit the boot sector");
  return bytes;
}

export async function buildFloppy(role: string): Promise<string> {
  const bootBytes = floppyBootBytes(role);
  return contentAddressed("floppy", { builder: FLOPPY_BUILDER_VERSION, role }, async (workDir) => {
    const image = join(workDir, IMAGE_FILE);
    await runTool("mkfs.vfat", ["-C", "-F", "12", "-n", "BOOTPROOF", image, String(FLOPPY_KIB)]);
    const sector = (await readFile(image)).subarray(0, 512);
    if (sector[0] !== 0xeb || sector[1] !== FLOPPY_CODE_OFFSET - 2 || sector.readUInt16LE(BOOT_SIGNATURE_OFFSET) !== 0xaa55) {
      throw new Error(
        `mkfs.vfat wrote an unexpected boot sector into ${image} (expected 'jmp short 0x3e' and the 0xaa55 signature)`,
      );
    }
    await writeAt(image, FLOPPY_CODE_OFFSET, bootBytes);
    return IMAGE_FILE;
  });
}
