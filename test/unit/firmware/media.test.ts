// Builds every medium for real (sfdisk, mkfs.vfat, syslinux, mtools, xorriso) into a
// temporary cache and inspects the result with independent tools. Booting them is proven
// by the console fixtures (see console-fixtures.test.ts) and the integration suite.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchGuestKernel, findGuestKernel, type GuestKernel } from "../../../firmware/kernel.js";
import { type BootPayload, buildMedia } from "../../../firmware/media/build.js";
import { FLOPPY_BOOT_CODE, FLOPPY_CODE_OFFSET, FLOPPY_MARKER } from "../../../firmware/media/floppy.js";
import { kernelCommandLine } from "../../../firmware/media/payload.js";
import { parseCpio } from "../../../firmware/probe/cpio.js";
import { buildProbeInitramfs, probeInitScript } from "../../../firmware/probe/initramfs.js";
import { resolveModuleLoadOrder } from "../../../firmware/probe/modules.js";

let kernel: GuestKernel;
let payload: BootPayload;
let cache: string;
const savedCache = process.env.BOOTPROOF_CACHE;
const mtools = (args: string[]) =>
  execFileSync(args[0]!, args.slice(1), { encoding: "utf8", env: { ...process.env, MTOOLS_SKIP_CHECK: "1" } });

beforeAll(async () => {
  // The cached kernel if there is one (no apt call), else a one-time download into the default cache.
  kernel = (await findGuestKernel()) ?? (await fetchGuestKernel());
  cache = mkdtempSync(join(tmpdir(), "bootproof-media-"));
  process.env.BOOTPROOF_CACHE = cache;
  const initramfs = await buildProbeInitramfs(kernel, ["virtio_blk", "usb-storage"]);
  payload = { kernel, initramfs, cmdline: "bootproof.role=rescue panic=-1" };
}, 600_000);
afterAll(() => {
  if (savedCache === undefined) delete process.env.BOOTPROOF_CACHE;
  else process.env.BOOTPROOF_CACHE = savedCache;
  rmSync(cache, { recursive: true, force: true });
});

describe("probe initramfs", () => {
  it("holds /init, /dev/console, static busybox with applet links and the modules in load order", async () => {
    const entries = parseCpio(gunzipSync(readFileSync(payload.initramfs)));
    const byPath = new Map(entries.map((e) => [e.path, e]));
    const init = byPath.get("init");
    expect(init?.type === "file" && init.data.toString()).toBe(await probeInitScript());
    expect(init?.type === "file" && init.mode).toBe(0o755);
    expect(byPath.get("dev/console")).toMatchObject({ type: "char", major: 5, minor: 1 });
    expect(byPath.get("bin/sh")).toEqual({ type: "symlink", path: "bin/sh", target: "busybox" });
    expect(byPath.get("bin/insmod")).toMatchObject({ type: "symlink", target: "busybox" });
    const list = byPath.get("etc/bootproof/modules");
    const lines = list?.type === "file" ? list.data.toString().trim().split("\n") : [];
    const order = await resolveModuleLoadOrder(kernel, ["virtio_blk", "usb-storage"]);
    expect(lines.map((l) => l.split(" ")[0])).toEqual(order.map((m) => m.name));
    expect(lines).toContain(`usb_storage lib/modules/${kernel.release}/kernel/drivers/usb/storage/usb-storage.ko delay_use=0`);
    for (const line of lines) {
      const module = byPath.get(line.split(" ")[1]!);
      expect(module?.type === "file" && module.data.readUInt32BE(0)).toBe(0x7f454c46);
    }
  });

  it("is cached: the same inputs give the same file without rebuilding", async () => {
    const before = statSync(payload.initramfs).mtimeMs;
    expect(await buildProbeInitramfs(kernel, ["virtio_blk", "usb-storage"])).toBe(payload.initramfs);
    expect(statSync(payload.initramfs).mtimeMs).toBe(before);
    expect(await buildProbeInitramfs(kernel, ["virtio_blk"])).not.toBe(payload.initramfs);
  });
});

describe("boot media", () => {
  it("bios-disk: MBR boot code, one active FAT16 partition at 1 MiB with syslinux, kernel, initrd and config", async () => {
    const image = await buildMedia({ kind: "bios-disk", role: "rescue" }, payload);
    const table = JSON.parse(execFileSync("sfdisk", ["--json", image], { encoding: "utf8" })).partitiontable;
    expect(table.label).toBe("dos");
    expect(table.partitions).toHaveLength(1);
    expect(table.partitions[0]).toMatchObject({ start: 2048, type: "e", bootable: true });
    const bytes = readFileSync(image);
    expect(bytes.subarray(0, 440).equals(readFileSync("/usr/lib/syslinux/mbr/mbr.bin").subarray(0, 440))).toBe(true);
    expect(bytes.readUInt16LE(510)).toBe(0xaa55);
    const fat = `${image}@@1M`;
    expect(mtools(["minfo", "-i", fat, "::"])).toMatch(/FAT16/);
    const listing = mtools(["mdir", "-a", "-b", "-i", fat, "::/"]).toLowerCase();
    for (const name of ["vmlinuz", "initrd.gz", "syslinux.cfg", "ldlinux.sys", "ldlinux.c32"])
      expect(listing).toContain(`::/${name}`);
    const config = mtools(["mtype", "-i", fat, "::/syslinux.cfg"]);
    expect(config).toContain(`APPEND ${kernelCommandLine(payload)}`);
    expect(config).toMatch(/^PROMPT 0$/m);
    expect(config).toMatch(/^TIMEOUT 0$/m);
    const copied = join(cache, "vmlinuz-from-bios-disk");
    mtools(["mcopy", "-i", fat, "::/vmlinuz", copied]);
    expect(readFileSync(copied).equals(readFileSync(kernel.vmlinuz))).toBe(true);
    expect(await buildMedia({ kind: "bios-disk", role: "rescue" }, payload)).toBe(image);
    expect(await buildMedia({ kind: "bios-disk", role: "root" }, payload)).not.toBe(image);
  });

  it("uefi-disk: GPT with an EFI system partition holding EFI/BOOT/BOOTX64.EFI (syslinux.efi)", async () => {
    const image = await buildMedia({ kind: "uefi-disk", role: "rescue", sizeMiB: 80 }, payload);
    expect(statSync(image).size).toBe(80 * 1024 * 1024);
    const table = JSON.parse(execFileSync("sfdisk", ["--json", image], { encoding: "utf8" })).partitiontable;
    expect(table.label).toBe("gpt");
    expect(table.partitions[0]).toMatchObject({ start: 2048, type: "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" });
    const fat = `${image}@@1M`;
    const listing = mtools(["mdir", "-b", "-s", "-i", fat, "::/"]).toLowerCase();
    for (const name of ["efi/boot/bootx64.efi", "efi/boot/ldlinux.e64", "efi/boot/syslinux.cfg", "vmlinuz", "initrd.gz"]) {
      expect(listing).toContain(`::/${name}`);
    }
    const loader = join(cache, "loader.efi");
    mtools(["mcopy", "-i", fat, "::/EFI/BOOT/BOOTX64.EFI", loader]);
    expect(readFileSync(loader).equals(readFileSync("/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi"))).toBe(true);
    expect(mtools(["mtype", "-i", fat, "::/EFI/BOOT/syslinux.cfg"])).toContain("bootproof.role=rescue");
  });

  it("iso: El Torito BIOS (isolinux) and UEFI (GRUB) entries, isohybrid MBR, payload files", async () => {
    const image = await buildMedia({ kind: "iso", role: "rescue" }, payload);
    const report = execFileSync("xorriso", ["-indev", image, "-report_el_torito", "plain", "-find", "/", "-type", "f"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(report).toMatch(/El Torito boot img :\s+1\s+BIOS\s+y\s+none/);
    expect(report).toMatch(/El Torito boot img :\s+2\s+UEFI\s+y\s+none/);
    expect(report).toContain("/efi/efiboot.img");
    expect(report).toMatch(/'\/bootproof-id\/[0-9a-f]{16}'/);
    expect(report).toContain("/isolinux/isolinux.bin");
    for (const name of ["'/vmlinuz'", "'/initrd.gz'", "'/isolinux/ldlinux.c32'", "'/isolinux/isolinux.cfg'"])
      expect(report).toContain(name);
    const bytes = readFileSync(image);
    expect(bytes.readUInt16LE(510)).toBe(0xaa55); // isohybrid MBR: also boots as a disk
    expect(bytes.toString("latin1", 0x8001, 0x8006)).toBe("CD001");
    // The GRUB loader inside the EFI boot image searches for this ISO's own marker file.
    const efiImage = join(cache, "efiboot.img");
    execFileSync("xorriso", ["-osirrox", "on", "-indev", image, "-extract", "/efi/efiboot.img", efiImage], { stdio: "ignore" });
    const grub = join(cache, "grub.efi");
    mtools(["mcopy", "-i", efiImage, "::/EFI/BOOT/BOOTX64.EFI", grub]);
    const marker = report.match(/'(\/bootproof-id\/[0-9a-f]{16})'/)?.[1];
    expect(readFileSync(grub).includes(Buffer.from(`search --no-floppy --file --set=root ${marker}`))).toBe(true);
  });

  it("floppy: 1.44 MB FAT12 with the marker boot code after the BPB", async () => {
    const image = await buildMedia({ kind: "floppy", role: "rescue-fd" }, payload);
    const bytes = readFileSync(image);
    expect(bytes.length).toBe(1474560);
    expect(bytes.subarray(FLOPPY_CODE_OFFSET, FLOPPY_CODE_OFFSET + FLOPPY_BOOT_CODE.length).equals(FLOPPY_BOOT_CODE)).toBe(true);
    expect(bytes.subarray(0, 512).toString("latin1")).toContain(`${FLOPPY_MARKER} role=rescue-fd\r\n\0`);
    expect(bytes.readUInt16LE(510)).toBe(0xaa55);
    expect(mtools(["minfo", "-i", image, "::"])).toMatch(/FAT12/);
    await expect(buildMedia({ kind: "floppy", role: "bad role" }, undefined)).rejects.toThrow(/floppy role/);
  });

  // GNU as/ld (binutils) only check the embedded bytes against their source; images are built without them.
  const hasBinutils = (() => {
    try {
      execFileSync("as", ["--version"], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  })();
  it.skipIf(!hasBinutils)("the floppy boot code in floppy.ts is what floppy-boot.S assembles to", () => {
    const dir = mkdtempSync(join(tmpdir(), "bootproof-asm-"));
    try {
      const source = new URL("../../../firmware/media/floppy-boot.S", import.meta.url).pathname;
      execFileSync("as", ["--32", "-o", join(dir, "b.o"), source]);
      execFileSync("ld", ["-m", "elf_i386", "-Ttext=0x7c3e", "--oformat", "binary", "-o", join(dir, "b.bin"), join(dir, "b.o")]);
      expect(readFileSync(join(dir, "b.bin")).equals(FLOPPY_BOOT_CODE)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("blank: a sparse zero file of the requested size", async () => {
    const image = await buildMedia({ kind: "blank", sizeMiB: 2048 }, undefined);
    const info = statSync(image);
    expect(info.size).toBe(2048 * 1024 * 1024);
    expect(info.blocks).toBe(0);
  });

  it("refuses bootable media without a payload, too-small disks and multi-line command lines", async () => {
    await expect(buildMedia({ kind: "iso", role: "x" }, undefined)).rejects.toThrow(/BootPayload/);
    await expect(buildMedia({ kind: "bios-disk", role: "x", sizeMiB: 4 }, payload)).rejects.toThrow(/sizeMiB 4 is too small/);
    await expect(buildMedia({ kind: "bios-disk", role: "x" }, { ...payload, cmdline: "a\nb" })).rejects.toThrow(/line break/);
  });
});
