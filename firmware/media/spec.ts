// What a scenario asks for when it needs boot media; the harness turns a spec into a file
// with the builders in this folder. Bootable media always carry the guest kernel and the
// probe initramfs, and put `bootproof.role=<role>` on the kernel command line so the guest
// can report which medium it booted.
export type MediaSpec =
  /** Raw disk: MBR + one FAT partition + syslinux (legacy BIOS). */
  | { kind: "bios-disk"; role: string; sizeMiB?: number }
  /** Raw disk: GPT + EFI system partition with a UEFI loader (OVMF). */
  | { kind: "uefi-disk"; role: string; sizeMiB?: number }
  /** El Torito ISO 9660 image with isolinux (BIOS). */
  | { kind: "iso"; role: string }
  /** 1.44 MB floppy with a boot sector that proves it ran; too small to hold the kernel. */
  | { kind: "floppy"; role: string }
  /** An unbootable, zero-filled data disk. */
  | { kind: "blank"; sizeMiB: number };

export type MediaKind = MediaSpec["kind"];
