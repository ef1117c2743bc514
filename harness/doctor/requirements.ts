// What bootproof needs on the host, as data: each Debian package with the file that proves
// it is installed and why bootproof needs it. `doctor` checks these; `doctor --fix` installs.

export interface SystemRequirement {
  debianPackage: string;
  /** A file the package installs; its presence is the check (no dpkg query needed). */
  probeFile: string;
  why: string;
  /** "run": needed to boot guests; "test": needed by the test suite and benches. */
  group: "run" | "test";
}

export const SYSTEM_REQUIREMENTS: readonly SystemRequirement[] = [
  { debianPackage: "qemu-system-x86", probeFile: "/usr/bin/qemu-system-x86_64", why: "runs the guests", group: "run" },
  { debianPackage: "qemu-utils", probeFile: "/usr/bin/qemu-img", why: "image inspection and qcow2 overlays", group: "run" },
  { debianPackage: "seabios", probeFile: "/usr/share/seabios/bios-256k.bin", why: "legacy BIOS firmware", group: "run" },
  { debianPackage: "ovmf", probeFile: "/usr/share/OVMF/OVMF_CODE_4M.fd", why: "UEFI firmware", group: "run" },
  { debianPackage: "ipxe-qemu", probeFile: "/usr/lib/ipxe/qemu/efi-virtio.rom", why: "iPXE NIC option ROMs", group: "run" },
  { debianPackage: "syslinux", probeFile: "/usr/bin/syslinux", why: "installs the BIOS loader on raw disks", group: "run" },
  {
    debianPackage: "syslinux-common",
    probeFile: "/usr/lib/syslinux/mbr/mbr.bin",
    why: "MBR boot code and syslinux modules",
    group: "run",
  },
  {
    debianPackage: "syslinux-efi",
    probeFile: "/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi",
    why: "UEFI loader for disk media",
    group: "run",
  },
  { debianPackage: "isolinux", probeFile: "/usr/lib/ISOLINUX/isolinux.bin", why: "El Torito loader for ISO media", group: "run" },
  { debianPackage: "mtools", probeFile: "/usr/bin/mcopy", why: "writes FAT file systems inside image files", group: "run" },
  { debianPackage: "dosfstools", probeFile: "/usr/sbin/mkfs.vfat", why: "creates FAT file systems", group: "run" },
  { debianPackage: "xorriso", probeFile: "/usr/bin/xorriso", why: "builds ISO images", group: "run" },
  { debianPackage: "fdisk", probeFile: "/usr/sbin/sfdisk", why: "writes partition tables into image files", group: "run" },
  { debianPackage: "busybox-static", probeFile: "/bin/busybox", why: "the guest probe's userland", group: "run" },
  { debianPackage: "cpio", probeFile: "/usr/bin/cpio", why: "inspecting probe initramfs archives", group: "run" },
  {
    debianPackage: "grub-efi-amd64-bin",
    probeFile: "/usr/lib/grub/x86_64-efi/linux.mod",
    why: "standalone GRUB for UEFI media",
    group: "run",
  },
  { debianPackage: "util-linux", probeFile: "/usr/bin/setpriv", why: "kills QEMU if bootproof dies (pdeathsig)", group: "run" },
  { debianPackage: "tgt", probeFile: "/usr/sbin/tgtd", why: "reference iSCSI target for conformance and benches", group: "test" },
  {
    debianPackage: "libiscsi-bin",
    probeFile: "/usr/bin/iscsi-inq",
    why: "libiscsi clients and conformance suite",
    group: "test",
  },
  { debianPackage: "tftpd-hpa", probeFile: "/usr/sbin/in.tftpd", why: "reference TFTP server for benches", group: "test" },
  { debianPackage: "tftp-hpa", probeFile: "/usr/bin/tftp", why: "TFTP client for server tests", group: "test" },
  { debianPackage: "curl", probeFile: "/usr/bin/curl", why: "TFTP client for server tests", group: "test" },
];

export function missingRequirements(
  exists: (path: string) => boolean,
  groups: ReadonlyArray<SystemRequirement["group"]> = ["run", "test"],
): SystemRequirement[] {
  return SYSTEM_REQUIREMENTS.filter((r) => groups.includes(r.group) && !exists(r.probeFile));
}

export function aptInstallCommand(packages: readonly string[]): string[] {
  return ["apt-get", "install", "-y", "--no-install-recommends", ...packages];
}
