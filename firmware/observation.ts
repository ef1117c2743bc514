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

const WireMountSchema = z.object({ source: z.string(), target: z.string(), fstype: z.string() });

export const WireObservationSchema = z.object({
  schema: z.literal(OBSERVATION_SCHEMA_VERSION),
  kernelRelease: z.string(),
  cmdline: z.string(),
  blockDevices: z.array(WireBlockDeviceSchema),
  nics: z._default(z.array(WireNicSchema), []),
  /** Lines of /sys/firmware/qemu_fw_cfg/by_name/bootorder/raw, or null when fw_cfg is absent. */
  bootOrder: z._default(z.nullable(z.array(z.string())), null),
  /** /sys/firmware/ibft/<section>/<attribute> = value, or null when no iBFT was found. */
  ibft: z._default(z.nullable(z.record(z.string(), z.record(z.string(), z.string()))), null),
  mounts: z._default(z.array(WireMountSchema), []),
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

export interface Observation {
  schema: number;
  kernelRelease: string;
  cmdline: string;
  /** Value of bootproof.role= on the kernel command line: which medium booted. */
  role: string | null;
  blockDevices: ObservedBlockDevice[];
  nics: ObservedNic[];
  bootOrder: string[] | null;
  ibft: Record<string, Record<string, string>> | null;
  mounts: Array<{ source: string; target: string; fstype: string }>;
  rootSource: string | null;
  modulesLoaded: string[];
  moduleErrors: string[];
  settleMs: number;
  uptimeSeconds: number;
}

/** The last PCI function on the path is the one the device hangs off (bridges come first). */
export function pciBdfFromSysfs(sysfsPath: string): string | null {
  const matches = [...sysfsPath.matchAll(/\/[0-9a-f]{4}:([0-9a-f]{2}:[0-9a-f]{2}\.[0-7])(?=\/)/g)];
  const last = matches.at(-1);
  return last?.[1] ?? null;
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
    bootOrder: wire.bootOrder?.map((l) => l.trim()).filter((l) => l.length > 0) ?? null,
    ibft: wire.ibft,
    mounts: wire.mounts,
    rootSource: rootMount?.source ?? null,
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
