// OVMF's first-boot NVRAM defaults, written once instead of on every boot.
//
// Every OVMF run boots from a fresh copy of the VARS template, so on every boot OVMF's own
// drivers create the same NVRAM defaults before anything machine-specific happens: IScsiDxe
// eight default "Attempt N" records (~9.5 KiB), the authenticated-variable library
// certdb/CustomMode/VendorKeysNv. QEMU emulates each flash byte program as a write command,
// a data write and a status read that toggles the flash out of ROM mode: a fresh copy takes
// 16 KiB of such writes, ~0.6 s of every OVMF boot under TCG (a fully warm VARS reaches the
// boot manager 0.6 s sooner). Seeding the ~10 KiB below saves ~0.15-0.3 s of it (measured,
// smoke uefi-disk; the rest is machine-specific and stays).
//
// The seeded template is the pristine template plus exactly those variables, taken from
// what this very firmware wrote in one boot of a machine with nothing to boot. The firmware
// finds them present with the content it would have written and skips the writes, so the
// variables a guest can read are the same as from the pristine template. Anything that
// depends on the machine or on the boot (Boot####, BootOrder, ConIn/ConOut/ErrOut, Key####,
// Timeout, MemoryTypeInformation, the MTC counter) is not seeded: the firmware writes it as
// on any first boot.
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { QEMU_BINARY } from "../emulator/argv.js";
import { registerCleanup } from "../emulator/reaper.js";
import { contentAddressed } from "./cache.js";
import { fileDigest } from "./file-digest.js";

const SEED_BUILDER_VERSION = 1;
const SEEDED_FILE = "OVMF_VARS.seeded.fd";
const SEED_BOOT_TIMEOUT_MS = 120_000;
/** OVMF's boot manager prints this once DXE (where the seeded variables are written) is done. */
const BOOT_MANAGER_MARKER = "BdsDxe: ";

/** gEfiAuthenticatedVariableGuid: the variable store format of OVMF's VARS images. */
const AUTHENTICATED_STORE_GUID = "aaf32c78-947b-439a-a180-2e144ec37792";
const VARIABLE_START_ID = 0x55aa;
/** VAR_ADDED with no transition bits cleared: a live variable. */
const VARIABLE_STATE_ADDED = 0x3f;
const STORE_HEADER_SIZE = 28;
const AUTHENTICATED_VARIABLE_HEADER_SIZE = 60;

/** Variables OVMF creates identically on every first boot, whatever the machine: vendor GUID → name test. */
const FIRMWARE_DEFAULTS: Record<string, (name: string) => boolean> = {
  // IScsiDxe's driver entry: the default attempts and their order (no NIC involved).
  "4b47d616-a8d6-4552-9d44-ccad2e0f4cf9": (name) => name === "InitialAttemptOrder",
  "59324945-ec44-4c0d-b1cd-9db139df070c": (name) => /^Attempt \d+$/.test(name),
  // AuthVariableLib's initialisation.
  "c076ec0c-7028-4399-a072-71ee5c448b9f": (name) => name === "CustomMode",
  "d9bee56e-75dc-49d9-b4d7-b534210f637a": (name) => name === "certdb",
  "9073e4e0-60ec-4b6e-9903-4c223c260f3c": (name) => name === "VendorKeysNv",
};

export interface StoredVariable {
  name: string;
  vendorGuid: string;
  state: number;
  /** The whole record (header, name, data), without alignment padding. */
  record: Buffer;
}

interface VariableStore {
  /** Offset of the first variable record in the image. */
  start: number;
  /** Offset just past the variable store (end of its declared size). */
  end: number;
  variables: StoredVariable[];
  /** Offset where the next record would be written. */
  freeOffset: number;
}

function guidString(bytes: Buffer): string {
  const hex = (b: Buffer) => b.toString("hex");
  const le = (b: Buffer) => hex(Buffer.from(b).reverse());
  return [
    le(bytes.subarray(0, 4)),
    le(bytes.subarray(4, 6)),
    le(bytes.subarray(6, 8)),
    hex(bytes.subarray(8, 10)),
    hex(bytes.subarray(10, 16)),
  ].join("-");
}

const align4 = (n: number) => (n + 3) & ~3;

/**
 * Parses the authenticated variable store of a VARS image (firmware volume header, then
 * the store). Returns undefined for anything else, so an unknown format is left alone.
 */
export function parseVariableStore(image: Buffer): VariableStore | undefined {
  if (image.length < 0x40 || image.toString("latin1", 0x28, 0x2c) !== "_FVH") return undefined;
  const headerLength = image.readUInt16LE(0x30);
  if (headerLength + STORE_HEADER_SIZE > image.length) return undefined;
  if (guidString(image.subarray(headerLength, headerLength + 16)) !== AUTHENTICATED_STORE_GUID) return undefined;
  const storeSize = image.readUInt32LE(headerLength + 16);
  const end = headerLength + storeSize;
  if (end > image.length) return undefined;
  const start = align4(headerLength + STORE_HEADER_SIZE);
  const variables: StoredVariable[] = [];
  let offset = start;
  while (offset + AUTHENTICATED_VARIABLE_HEADER_SIZE <= end && image.readUInt16LE(offset) === VARIABLE_START_ID) {
    const nameSize = image.readUInt32LE(offset + 36);
    const dataSize = image.readUInt32LE(offset + 40);
    const size = AUTHENTICATED_VARIABLE_HEADER_SIZE + nameSize + dataSize;
    if (offset + size > end) return undefined;
    const nameStart = offset + AUTHENTICATED_VARIABLE_HEADER_SIZE;
    variables.push({
      name: image.toString("utf16le", nameStart, nameStart + nameSize).replace(/\0+$/, ""),
      vendorGuid: guidString(image.subarray(offset + 44, offset + 60)),
      state: image[offset + 2]!,
      record: Buffer.from(image.subarray(offset, offset + size)),
    });
    offset = align4(offset + size);
  }
  return { start, end, variables, freeOffset: offset };
}

const live = (v: StoredVariable) => v.state === VARIABLE_STATE_ADDED;
const identity = (v: StoredVariable) => `${v.vendorGuid}:${v.name}`;

export function isFirmwareDefault(variable: StoredVariable): boolean {
  return FIRMWARE_DEFAULTS[variable.vendorGuid]?.(variable.name) ?? false;
}

/**
 * The template with the firmware defaults that `booted` (the template after one boot of
 * the same firmware) holds and the template does not, appended after its last variable.
 * Returns undefined when either image is not a store this understands or nothing fits.
 */
export function seedVariableStore(template: Buffer, booted: Buffer): Buffer | undefined {
  const base = parseVariableStore(template);
  const after = parseVariableStore(booted);
  if (!base || !after || template.length !== booted.length) return undefined;
  const present = new Set(base.variables.filter(live).map(identity));
  const seeds = after.variables.filter((v) => live(v) && isFirmwareDefault(v) && !present.has(identity(v)));
  if (seeds.length === 0) return undefined;
  const image = Buffer.from(template);
  let offset = base.freeOffset;
  for (const seed of seeds) {
    if (offset + seed.record.length > base.end) return undefined;
    // The free area of a flash store is erased (0xff); padding stays erased too.
    if (!image.subarray(offset, offset + align4(seed.record.length)).every((b) => b === 0xff)) return undefined;
    seed.record.copy(image, offset);
    offset = align4(offset + seed.record.length);
  }
  return image;
}

/** Firmware and template pairs whose seeding boot failed in this process. */
const failedSeeds = new Set<string>();

/** Boots the firmware once, with nothing to boot, until its boot manager runs; `vars` is then written. */
async function bootOnce(code: string, vars: string, serial: string): Promise<void> {
  const argv = [
    ...["-machine", "pc", "-accel", "tcg", "-m", "512", "-nodefaults", "-no-user-config"],
    ...["-vga", "none", "-display", "none", "-no-reboot"],
    ...["-chardev", `file,id=console,path=${serial.replaceAll(",", ",,")}`, "-serial", "chardev:console"],
    ...["-drive", `if=pflash,format=raw,unit=0,readonly=on,file=${code.replaceAll(",", ",,")}`],
    ...["-drive", `if=pflash,format=raw,unit=1,file=${vars.replaceAll(",", ",,")}`],
  ];
  const child = spawn(QEMU_BINARY, argv, { stdio: ["ignore", "ignore", "pipe"] });
  // Ctrl-C or a fatal error during the seeding boot must not leave its QEMU behind.
  const unregister = registerCleanup("OVMF NVRAM seeding boot", () => {
    child.kill("SIGKILL");
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const started = Date.now();
  try {
    for (;;) {
      const text = await readFile(serial, "latin1").catch(() => "");
      if (text.includes(BOOT_MANAGER_MARKER)) return;
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`QEMU exited before OVMF's boot manager ran: ${stderr.trim().slice(-500)}`);
      }
      if (Date.now() - started > SEED_BOOT_TIMEOUT_MS) throw new Error("OVMF's boot manager did not run in time");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    unregister();
  }
}

/**
 * The VARS template to copy for a run: the given template plus this firmware's first-boot
 * defaults (built once per firmware and template, by one boot), or the template itself
 * when its format is not one this understands or the seeding boot fails.
 */
export async function seededVarsTemplate(code: string, varsTemplate: string): Promise<string> {
  const key = { builder: SEED_BUILDER_VERSION, code: await fileDigest(code), template: await fileDigest(varsTemplate) };
  const attempt = `${key.code}/${key.template}`;
  if (failedSeeds.has(attempt)) return varsTemplate;
  try {
    return await contentAddressed("ovmf-vars-seed", key, async (workDir) => {
      const template = await readFile(varsTemplate);
      const seeded = join(workDir, SEEDED_FILE);
      let image: Buffer | undefined;
      if (parseVariableStore(template)) {
        const booted = join(workDir, "booted.fd");
        await writeFile(booted, template);
        await bootOnce(code, booted, join(workDir, "seed-console.log"));
        image = seedVariableStore(template, await readFile(booted));
      }
      // Not a store this understands, or nothing to seed: the template as it is.
      await writeFile(seeded, image ?? template);
      return SEEDED_FILE;
    });
  } catch (error) {
    // Not cached, so an interrupted or overloaded seeding boot is tried again by the next run;
    // this process does not try again (a boot that failed once would cost every OVMF boot).
    failedSeeds.add(attempt);
    process.stderr.write(
      `bootproof: OVMF NVRAM defaults not seeded for ${code} (${(error as Error).message}); this boot starts from ${varsTemplate} as it is\n`,
    );
    return varsTemplate;
  }
}
