// The guest probe's report. The probe (busybox /init) prints raw sysfs facts as one line,
//   BOOTPROOF-OBSERVATION {json}
// and the host validates that line (versioned zod schema) and derives the identities that
// properties compare (PCI BDF, SCSI H:C:T:L, USB port path, bus type) with pure functions,
// so the shell script stays small and the interpretation is unit-tested on the host.
import * as z from "zod/mini";
import "../emulator/zod-english.js";
import { byCodePoint } from "./code-point-order.js";

export const OBSERVATION_MARKER = "BOOTPROOF-OBSERVATION ";
export const OBSERVATION_SCHEMA_VERSION = 1;
/** Kernel command-line key carrying the media's role ("root", "rescue", ...). */
export const ROLE_KEY = "bootproof.role";

const nullableString = z._default(z.nullable(z.string()), null);

const WireBlockDeviceSchema = z.object({
  name: z.string(),
  /** Size in 512-byte sectors, as /sys/block/X/size reports it. */
  sectors: z.coerce.number().check(z.int(), z.nonnegative()),
  /** readlink -f /sys/block/X (e.g. /sys/devices/pci0000:00/0000:00:05.0/virtio2/block/vda). */
  sysfsPath: z.string(),
  serial: nullableString,
  wwid: nullableString,
  /** VPD page 0x80 / 0x83 as lower-case hex, when the device has them. */
  vpd80: nullableString,
  vpd83: nullableString,
  vendor: nullableString,
  model: nullableString,
  removable: z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(1)), 0),
  readOnly: z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(1)), 0),
});

const WireNicSchema = z.object({
  name: z.string(),
  mac: z.string(),
  sysfsPath: z.string(),
  driver: nullableString,
});

/** One PCI function, /sys/bus/pci/devices/<name>; ids are hex strings as sysfs prints them ("0x1af4"). */
const WirePciFunctionSchema = z.object({
  /** sysfs name with the domain, e.g. "0000:01:00.0". */
  name: z.string(),
  /** readlink -f: bridges above the function appear in it (/sys/devices/pci0000:00/0000:00:02.0/0000:01:00.0). */
  sysfsPath: z.string(),
  vendor: nullableString,
  device: nullableString,
  class: nullableString,
  subsystemVendor: nullableString,
  subsystemDevice: nullableString,
  driver: nullableString,
});

/** One USB device (root hubs "usbN" included, interfaces not), /sys/bus/usb/devices/<name>. */
const WireUsbDeviceSchema = z.object({
  /** "B-P[.P...]", or "usbB" for a root hub. */
  name: z.string(),
  sysfsPath: z.string(),
  /** Four hex digits without "0x", as sysfs prints them. */
  idVendor: nullableString,
  idProduct: nullableString,
  product: nullableString,
  /** Mb/s as sysfs prints it: "1.5", "12", "480", "5000". */
  speed: nullableString,
});

const WireMountSchema = z.object({ source: z.string(), target: z.string(), fstype: z.string() });

export const WireObservationSchema = z.object({
  schema: z.literal(OBSERVATION_SCHEMA_VERSION),
  kernelRelease: z.string(),
  cmdline: z.string(),
  blockDevices: z.array(WireBlockDeviceSchema),
  nics: z._default(z.array(WireNicSchema), []),
  pciFunctions: z._default(z.array(WirePciFunctionSchema), []),
  usbDevices: z._default(z.array(WireUsbDeviceSchema), []),
  /** Lines of /sys/firmware/qemu_fw_cfg/by_name/bootorder/raw, or null when fw_cfg is absent. */
  bootOrder: z._default(z.nullable(z.array(z.string())), null),
  /** /sys/firmware/ibft/<section>/<attribute> = value, or null when no iBFT was found. */
  ibft: z._default(z.nullable(z.record(z.string(), z.record(z.string(), z.string()))), null),
  mounts: z._default(z.array(WireMountSchema), []),
  /** The NFS root the probe mounted for root=/dev/nfs, or null when the boot asked for none. */
  nfsRoot: z._default(
    z.nullable(
      z.object({
        source: z.string(),
        options: z.string(),
        marker: z.nullable(z.string()),
        wrote: z.boolean(),
        error: z.optional(z.string()),
        /**
         * The POSIX operations suite's results (bootproof.nfs_suite=1, firmware/probe/nfs-suite.sh):
         * each operation's verdict and how long it took in the guest (ms, 10 ms resolution).
         */
        suite: z.optional(
          z.array(
            z.object({
              op: z.string(),
              ok: z.boolean(),
              ms: z.optional(z.number().check(z.int(), z.nonnegative())),
              detail: z.string(),
            }),
          ),
        ),
      }),
    ),
    null,
  ),
  /** The image the probe wrote as a deploy ramdisk (bootproof.deploy_image=), or null. */
  deploy: z._default(
    z.nullable(
      z.object({
        disk: z.string(),
        image: z.string(),
        bytes: z.number(),
        sha256: z.nullable(z.string()),
        error: z.optional(z.string()),
      }),
    ),
    null,
  ),
  modulesLoaded: z._default(z.array(z.string()), []),
  moduleErrors: z._default(z.array(z.string()), []),
  /** Milliseconds the probe spent waiting for asynchronous buses to settle. */
  settleMs: z._default(z.coerce.number().check(z.nonnegative()), 0),
  uptimeSeconds: z._default(z.coerce.number().check(z.nonnegative()), 0),
});
export type WireObservation = z.infer<typeof WireObservationSchema>;

export type BlockBus = "virtio" | "scsi" | "ata" | "usb" | "floppy" | "other";

export interface ObservedBlockDevice {
  name: string;
  sizeBytes: number;
  sysfsPath: string;
  bus: BlockBus;
  /** Domain-less PCI address of the function the disk hangs off, e.g. "00:05.0". */
  pciBdf: string | null;
  /** SCSI host:channel:target:lun (also for ATA and USB disks, which Linux drives through SCSI). */
  hctl: string | null;
  /** USB topology path, e.g. "1-2" (bus 1, port 2). */
  usbPath: string | null;
  serial: string | null;
  wwid: string | null;
  /** NAA identifiers found in VPD 0x83 (the WWN an FC LUN exposes), lower-case hex. */
  naaIds: string[];
  /**
   * What VPD 0x83 says about the path to the LU: the LU's own NAA (its WWN), the target
   * port's NAA (its WWPN) and relative port; null without a page 0x83.
   */
  scsiPort: ScsiPortIdentity | null;
  vendor: string | null;
  model: string | null;
  removable: boolean;
  readOnly: boolean;
}

export interface ObservedNic {
  name: string;
  mac: string;
  pciBdf: string | null;
  driver: string | null;
}

export interface ObservedPciFunction {
  /** Domain-less address, e.g. "01:00.0". */
  bdf: string;
  /** BDFs from the root complex down to this function, e.g. "00:02.0/01:00.0" (just "00:05.0" on the root bus). */
  path: string;
  /** Hex strings as sysfs prints them: "0x1af4", class "0x010000". */
  vendorId: string | null;
  deviceId: string | null;
  classCode: string | null;
  subsystemVendorId: string | null;
  subsystemDeviceId: string | null;
  /** Name of the bound driver, e.g. "virtio-pci"; null when no driver is bound. */
  driver: string | null;
}

export interface ObservedUsbDevice {
  /** "B-P[.P...]" (bus B, ports P), e.g. "2-1.3"; a root hub is "B-0". */
  portPath: string;
  busNumber: number;
  /** Four hex digits as sysfs prints them, e.g. "0627". */
  vendorId: string | null;
  productId: string | null;
  product: string | null;
  /** Mb/s as sysfs prints it: "1.5", "12", "480", "5000". */
  speed: string | null;
  /** Domain-less address of the host controller's PCI function, e.g. "00:07.0". */
  controllerBdf: string | null;
  isRootHub: boolean;
}

export interface Observation {
  schema: number;
  kernelRelease: string;
  cmdline: string;
  /** Value of bootproof.role= on the kernel command line: which medium booted. */
  role: string | null;
  blockDevices: ObservedBlockDevice[];
  nics: ObservedNic[];
  /** Every PCI function the guest enumerated, sorted by path. */
  pciFunctions: ObservedPciFunction[];
  /** Every USB device including root hubs (not interfaces), sorted by port path (numerically). */
  usbDevices: ObservedUsbDevice[];
  bootOrder: string[] | null;
  ibft: Record<string, Record<string, string>> | null;
  mounts: Array<{ source: string; target: string; fstype: string }>;
  rootSource: string | null;
  /**
   * root=/dev/nfs: what the probe mounted as the root (nfsroot='s SERVER:PATH and options),
   * the export's bootproof-marker as read through NFS, whether its write to
   * bootproof-guest-wrote succeeded, or why it could not.
   */
  nfsRoot: {
    source: string;
    options: string;
    marker: string | null;
    wrote: boolean;
    error?: string;
    suite?: Array<{ op: string; ok: boolean; ms?: number; detail: string }>;
  } | null;
  /**
   * bootproof.deploy_image=URL with bootproof.deploy_disk=: the disk the probe wrote the image
   * to as a deploy ramdisk, the image's size and SHA-256 as downloaded, or why it could not.
   */
  deploy: { disk: string; image: string; bytes: number; sha256: string | null; error?: string } | null;
  modulesLoaded: string[];
  moduleErrors: string[];
  settleMs: number;
  uptimeSeconds: number;
}

/** Domain-less BDFs of the PCI functions on a sysfs path, root complex first (bridges, then the function). */
export function pciChainFromSysfs(sysfsPath: string): string[] {
  return [...sysfsPath.matchAll(/\/[0-9a-f]{4,}:([0-9a-f]{2}:[0-9a-f]{2}\.[0-7])(?=\/|$)/g)].map((m) => m[1] ?? "");
}

/** The last PCI function on the path is the one the device hangs off (bridges come first). */
export function pciBdfFromSysfs(sysfsPath: string): string | null {
  return pciChainFromSysfs(sysfsPath).at(-1) ?? null;
}

/** A PCI function's identity through its bridges, e.g. "00:02.0/01:00.0"; null outside the PCI tree. */
export function pciPathFromSysfs(sysfsPath: string): string | null {
  const chain = pciChainFromSysfs(sysfsPath);
  return chain.length > 0 ? chain.join("/") : null;
}

/** "0000:01:00.0" → "01:00.0" (the form the derived observation uses everywhere). */
export function domainlessBdf(name: string): string {
  return name.replace(/^[0-9a-f]{4,}:(?=[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$)/i, "");
}

/**
 * A USB device's sysfs name as bus, port path and root-hub flag: "2-1.3" → bus 2, "2-1.3";
 * "usb2" (a root hub) → bus 2, "2-0" (the name Linux gives its interface, "2-0:1.0").
 * Interfaces ("2-1:1.0") and other names yield null.
 */
export function usbDeviceName(name: string): { busNumber: number; portPath: string; isRootHub: boolean } | null {
  const rootHub = name.match(/^usb(\d+)$/);
  if (rootHub?.[1]) return { busNumber: Number(rootHub[1]), portPath: `${rootHub[1]}-0`, isRootHub: true };
  const device = name.match(/^(\d+)-\d+(?:\.\d+)*$/);
  if (device?.[1]) return { busNumber: Number(device[1]), portPath: name, isRootHub: false };
  return null;
}

/** Orders USB port paths by bus, then port by port numerically ("1-2" < "1-2.1" < "1-10" < "2-0"). */
export function compareUsbPortPaths(a: string, b: string): number {
  const numbers = (path: string) => path.split(/[-.]/).map(Number);
  const [x, y] = [numbers(a), numbers(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length || byCodePoint(a, b);
}

export function hctlFromSysfs(sysfsPath: string): string | null {
  const match = sysfsPath.match(/\/(\d+:\d+:\d+:\d+)\/block\//);
  return match?.[1] ?? null;
}

/** USB device path "B-P[.P...]" (the last one before the interface "B-P:C.I"). */
export function usbPathFromSysfs(sysfsPath: string): string | null {
  const matches = [...sysfsPath.matchAll(/\/(\d+-\d+(?:\.\d+)*)(?=\/)/g)];
  return matches.at(-1)?.[1] ?? null;
}

export function busFromSysfs(sysfsPath: string, name: string): BlockBus {
  if (/^fd\d/.test(name) || sysfsPath.includes("/floppy.")) return "floppy";
  if (/\/virtio\d+\/block\//.test(sysfsPath)) return "virtio";
  if (usbPathFromSysfs(sysfsPath)) return "usb";
  if (/\/ata\d+\//.test(sysfsPath)) return "ata";
  if (hctlFromSysfs(sysfsPath)) return "scsi";
  return "other";
}

/**
 * VPD page 0x83 designators with NAA type (designator type 3). Returns each NAA identifier
 * as hex; a page that is too short or malformed yields what could be read.
 */
export function naaIdsFromVpd83(hex: string | null): string[] {
  if (!hex) return [];
  const bytes = Buffer.from(hex.replace(/[^0-9a-fA-F]/g, ""), "hex");
  if (bytes.length < 4 || bytes[1] !== 0x83) return [];
  const pageEnd = Math.min(bytes.length, 4 + bytes.readUInt16BE(2));
  const ids: string[] = [];
  for (let offset = 4; offset + 4 <= pageEnd; ) {
    const designatorType = (bytes[offset + 1] ?? 0) & 0x0f;
    const length = bytes[offset + 3] ?? 0;
    const body = bytes.subarray(offset + 4, offset + 4 + length);
    if (designatorType === 3 && body.length === length) ids.push(body.toString("hex"));
    offset += 4 + length;
  }
  return ids;
}

/** One path's identity as the LU reports it in VPD 0x83. */
export interface ScsiPortIdentity {
  /** NAA designator associated with the logical unit (association 0), lower-case hex. */
  lunWwn: string | null;
  /** NAA designator associated with the target port (association 1): the port's WWPN. */
  targetPortWwn: string | null;
  /** Relative target port identifier (designator type 4, association 1). */
  relativeTargetPort: number | null;
}

/**
 * VPD page 0x83's designators read by association (SPC-4 7.8.6): byte 1 holds the
 * association (bits 5-4) and the designator type (bits 3-0).
 */
export function scsiPortFromVpd83(hex: string | null): ScsiPortIdentity | null {
  if (!hex) return null;
  const bytes = Buffer.from(hex.replace(/[^0-9a-fA-F]/g, ""), "hex");
  if (bytes.length < 4 || bytes[1] !== 0x83) return null;
  const pageEnd = Math.min(bytes.length, 4 + bytes.readUInt16BE(2));
  const identity: ScsiPortIdentity = { lunWwn: null, targetPortWwn: null, relativeTargetPort: null };
  for (let offset = 4; offset + 4 <= pageEnd; ) {
    const association = ((bytes[offset + 1] ?? 0) >> 4) & 0x03;
    const designatorType = (bytes[offset + 1] ?? 0) & 0x0f;
    const length = bytes[offset + 3] ?? 0;
    const body = bytes.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    if (body.length !== length) break;
    if (designatorType === 3 && association === 0) identity.lunWwn ??= body.toString("hex");
    if (designatorType === 3 && association === 1) identity.targetPortWwn ??= body.toString("hex");
    if (designatorType === 4 && association === 1 && length === 4) identity.relativeTargetPort ??= body.readUInt16BE(2);
  }
  return identity;
}

/** Unit serial number from VPD page 0x80 (ASCII after a 4-byte header). */
export function serialFromVpd80(hex: string | null): string | null {
  if (!hex) return null;
  const bytes = Buffer.from(hex.replace(/[^0-9a-fA-F]/g, ""), "hex");
  if (bytes.length < 4 || bytes[1] !== 0x80) return null;
  const text = bytes
    .subarray(4, 4 + bytes.readUInt16BE(2))
    .toString("latin1")
    .replace(/\0/g, "")
    .trim();
  return text || null;
}

export function roleFromCmdline(cmdline: string): string | null {
  for (const token of cmdline.trim().split(/\s+/)) {
    if (token.startsWith(`${ROLE_KEY}=`)) return token.slice(ROLE_KEY.length + 1);
  }
  return null;
}

const blank = (value: string | null): string | null => {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
};

export function deriveObservation(wire: WireObservation): Observation {
  const rootMount =
    wire.mounts.find((m) => m.target === "/" && m.source !== "rootfs") ?? wire.mounts.find((m) => m.target === "/");
  return {
    schema: wire.schema,
    kernelRelease: wire.kernelRelease,
    cmdline: wire.cmdline.trim(),
    role: roleFromCmdline(wire.cmdline),
    blockDevices: wire.blockDevices
      .filter((d) => !/^(loop|ram|zram)\d/.test(d.name))
      .map((d) => ({
        name: d.name,
        sizeBytes: d.sectors * 512,
        sysfsPath: d.sysfsPath,
        bus: busFromSysfs(d.sysfsPath, d.name),
        pciBdf: pciBdfFromSysfs(d.sysfsPath),
        hctl: hctlFromSysfs(d.sysfsPath),
        usbPath: usbPathFromSysfs(d.sysfsPath),
        serial: blank(d.serial) ?? serialFromVpd80(d.vpd80),
        wwid: blank(d.wwid),
        naaIds: naaIdsFromVpd83(d.vpd83),
        scsiPort: scsiPortFromVpd83(d.vpd83),
        vendor: blank(d.vendor),
        model: blank(d.model),
        removable: d.removable === 1,
        readOnly: d.readOnly === 1,
      }))
      .sort((a, b) => byCodePoint(a.name, b.name)),
    nics: wire.nics
      .filter((n) => n.name !== "lo")
      .map((n) => ({
        name: n.name,
        mac: n.mac.toLowerCase(),
        pciBdf: pciBdfFromSysfs(`${n.sysfsPath}/`),
        driver: blank(n.driver),
      })),
    pciFunctions: wire.pciFunctions
      .map((f) => ({
        bdf: domainlessBdf(f.name),
        path: pciPathFromSysfs(f.sysfsPath) ?? domainlessBdf(f.name),
        vendorId: blank(f.vendor),
        deviceId: blank(f.device),
        classCode: blank(f.class),
        subsystemVendorId: blank(f.subsystemVendor),
        subsystemDeviceId: blank(f.subsystemDevice),
        driver: blank(f.driver),
      }))
      .sort((a, b) => byCodePoint(a.path, b.path)),
    usbDevices: wire.usbDevices
      .flatMap((u) => {
        const id = usbDeviceName(u.name);
        if (!id) return [];
        const { portPath, busNumber, isRootHub } = id;
        const ids = { vendorId: blank(u.idVendor), productId: blank(u.idProduct), product: blank(u.product) };
        return [{ portPath, busNumber, ...ids, speed: blank(u.speed), controllerBdf: pciBdfFromSysfs(u.sysfsPath), isRootHub }];
      })
      .sort((a, b) => compareUsbPortPaths(a.portPath, b.portPath)),
    bootOrder: wire.bootOrder?.map((l) => l.trim()).filter((l) => l.length > 0) ?? null,
    ibft: wire.ibft,
    mounts: wire.mounts,
    rootSource: rootMount?.source ?? null,
    nfsRoot: wire.nfsRoot,
    deploy: wire.deploy,
    modulesLoaded: wire.modulesLoaded,
    moduleErrors: wire.moduleErrors,
    settleMs: wire.settleMs,
    uptimeSeconds: wire.uptimeSeconds,
  };
}

export class ObservationParseError extends Error {
  constructor(
    message: string,
    readonly line: string,
  ) {
    super(message);
    this.name = "ObservationParseError";
  }
}

/** Finds the observation line in console text (or a single line) and validates it. */
export function parseObservationLine(consoleText: string): Observation | undefined {
  const line = consoleText
    .split(/\r?\n/)
    .map((l) => l.replace(/\r$/, ""))
    .find((l) => l.includes(OBSERVATION_MARKER));
  if (line === undefined) return undefined;
  const json = line.slice(line.indexOf(OBSERVATION_MARKER) + OBSERVATION_MARKER.length);
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new ObservationParseError(`the probe's observation line is not valid JSON (${(error as Error).message})`, line);
  }
  const parsed = WireObservationSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ObservationParseError(
      `the probe's observation does not match schema ${OBSERVATION_SCHEMA_VERSION}: ${issues}`,
      line,
    );
  }
  return deriveObservation(parsed.data);
}
