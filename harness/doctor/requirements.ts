// What bootproof needs on the host, as data: each Debian package with the file that proves
// it is installed and why bootproof needs it. `doctor` checks these; `doctor --fix` installs.
// Requirements come in groups so that a run installs only what its scenario needs.

/**
 * "run": needed to boot guests; "test": needed by the test suite and benches; "fast-kernel":
 * Debian's kernel source and the tools `bootproof kernel build` compiles the probe kernel with
 * (firmware/kernel/build.ts); "real-nova",
 * "real-ironic", "real-sahara": the real OpenStack code a `--driver real` run executes
 * (Debian's Zed packages, run by /usr/bin/python3; libvirt's embedded QEMU driver for Nova).
 */
export const REQUIREMENT_GROUPS = ["run", "test", "fast-kernel", "real-nova", "real-ironic", "real-sahara"] as const;
export type RequirementGroup = (typeof REQUIREMENT_GROUPS)[number];

export interface SystemRequirement {
  debianPackage: string;
  /** A file the package installs (checked with `dpkg -L`); its presence is the check. */
  probeFile: string;
  why: string;
  group: RequirementGroup;
}

const DIST_PACKAGES = "/usr/lib/python3/dist-packages";

export const SYSTEM_REQUIREMENTS: readonly SystemRequirement[] = [
  { debianPackage: "qemu-system-x86", probeFile: "/usr/bin/qemu-system-x86_64", why: "runs the guests", group: "run" },
  { debianPackage: "qemu-utils", probeFile: "/usr/bin/qemu-img", why: "image inspection and qcow2 overlays", group: "run" },
  {
    debianPackage: "qemu-block-extra",
    probeFile: "/usr/lib/x86_64-linux-gnu/qemu/block-iscsi.so",
    why: "QEMU's own iSCSI initiator: HBA-attached SAN LUNs read and write through bootproof's target",
    group: "run",
  },
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
  {
    debianPackage: "libnfs-utils",
    probeFile: "/usr/bin/nfs-ls",
    why: "libnfs clients (nfs-ls, nfs-cp, nfs-cat) for the NFS server's tests",
    group: "test",
  },
  {
    debianPackage: "nfs-ganesha",
    probeFile: "/usr/bin/ganesha.nfsd",
    why: "reference NFS server for the NFS bench",
    group: "test",
  },
  {
    debianPackage: "nfs-ganesha-vfs",
    probeFile: "/usr/lib/x86_64-linux-gnu/ganesha/libfsalvfs.so",
    why: "nfs-ganesha's VFS backend (exports a directory)",
    group: "test",
  },
  {
    debianPackage: "rpcbind",
    probeFile: "/sbin/rpcbind",
    why: "the port mapper nfs-ganesha registers with (the NFS bench starts it)",
    group: "test",
  },
  {
    debianPackage: "chromium-headless-shell",
    probeFile: "/usr/bin/chromium-headless-shell",
    why: "headless browser that renders the HTML report in its test",
    group: "test",
  },
  {
    debianPackage: "linux-source-6.1",
    probeFile: "/usr/src/linux-source-6.1.tar.xz",
    why: "Debian's kernel source: the fast probe kernel is built from it",
    group: "fast-kernel",
  },
  { debianPackage: "make", probeFile: "/usr/bin/make", why: "runs the kernel build", group: "fast-kernel" },
  { debianPackage: "gcc", probeFile: "/usr/bin/gcc", why: "compiles the probe kernel", group: "fast-kernel" },
  { debianPackage: "flex", probeFile: "/usr/bin/flex", why: "the kernel's Kconfig parser", group: "fast-kernel" },
  { debianPackage: "bison", probeFile: "/usr/bin/bison", why: "the kernel's Kconfig parser", group: "fast-kernel" },
  { debianPackage: "bc", probeFile: "/usr/bin/bc", why: "the kernel build computes constants with it", group: "fast-kernel" },
  {
    debianPackage: "libelf-dev",
    probeFile: "/usr/include/libelf.h",
    why: "objtool, which an x86-64 kernel build runs",
    group: "fast-kernel",
  },
  {
    debianPackage: "lz4",
    probeFile: "/usr/bin/lz4",
    why: "compresses the probe kernel image (cheap to decompress)",
    group: "fast-kernel",
  },
  {
    debianPackage: "python3-nova",
    probeFile: `${DIST_PACKAGES}/nova/__init__.py`,
    why: "the real Nova libvirt driver and compute API",
    group: "real-nova",
  },
  {
    debianPackage: "python3-libvirt",
    probeFile: `${DIST_PACKAGES}/libvirt.py`,
    why: "libvirt's Python binding (the embedded QEMU driver from Python)",
    group: "real-nova",
  },
  {
    debianPackage: "libvirt-daemon-driver-qemu",
    probeFile: "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so",
    why: "libvirt's QEMU driver: device addresses and QEMU argv, no daemon (qemu:///embed)",
    group: "real-nova",
  },
  {
    debianPackage: "libvirt-clients",
    probeFile: "/usr/bin/virsh",
    why: "virsh against the embedded QEMU driver",
    group: "real-nova",
  },
  {
    debianPackage: "python3-ironic",
    probeFile: `${DIST_PACKAGES}/ironic/__init__.py`,
    why: "the real Ironic conductor, storage and iPXE boot interfaces",
    group: "real-ironic",
  },
  {
    debianPackage: "python3-ironic-lib",
    probeFile: `${DIST_PACKAGES}/ironic_lib/__init__.py`,
    why: "root device hint matching (what the deploy agent uses)",
    group: "real-ironic",
  },
  {
    debianPackage: "python3-sahara",
    probeFile: `${DIST_PACKAGES}/sahara/__init__.py`,
    why: "Sahara's node group Heat templates",
    group: "real-sahara",
  },
];

/** The real OpenStack code a scenario's real driver is decided by. */
export type RealDriverGroup = "real-nova" | "real-ironic" | "real-sahara";

/**
 * The groups a real driver's run needs: its own, and for Sahara real Nova too (Sahara's
 * stack is booted through Nova's server create and its libvirt domain).
 */
export function realDriverGroups(group: RealDriverGroup): RequirementGroup[] {
  return group === "real-sahara" ? ["real-sahara", "real-nova"] : [group];
}

export function missingRequirements(
  exists: (path: string) => boolean,
  groups: readonly RequirementGroup[] = REQUIREMENT_GROUPS,
): SystemRequirement[] {
  return SYSTEM_REQUIREMENTS.filter((r) => groups.includes(r.group) && !exists(r.probeFile));
}

/** The Debian packages of these requirements, each once, in table order. */
export function packagesOf(requirements: readonly SystemRequirement[]): string[] {
  return [...new Set(requirements.map((r) => r.debianPackage))];
}

export function aptInstallCommand(packages: readonly string[]): string[] {
  return ["apt-get", "install", "-y", "--no-install-recommends", ...packages];
}
