// The typed Machine model: everything QEMU needs to know about one guest, as plain data.
// The zod schema is the single source of truth; the TypeScript types are inferred from it,
// so data read from a file and data built in code go through exactly the same checks.
import * as z from "zod/mini";
import "./zod-english.js";

/** A whole number in min..max. Checks run in classic zod's order (int, >=, <=), so messages match. */
const intInRange = (min: number, max: number) => z.number().check(z.int(), z.gte(min), z.lte(max));

const identifier = z
  .string()
  .check(z.regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, "must start with a letter and use only letters, digits, '_' or '-' (max 32)"));

/** PCI slot on bus 0 (device number 0..31). Unset means QEMU assigns the next free slot. */
const pciSlot = intInRange(0, 31);
const bootIndex = intInRange(0, 255);
/** Serial numbers reach the guest through VPD page 0x80 / virtio ID; QEMU rejects commas. */
const serial = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(20),
    z.regex(/^[A-Za-z0-9._-]+$/, "only letters, digits, '.', '_' and '-' (max 20: virtio-blk's limit)"),
  );
/** A 64-bit NAA World Wide Name, written as 0x followed by 16 hex digits. */
const wwn = z.string().check(z.regex(/^0x[0-9a-fA-F]{16}$/, "must be 0x followed by 16 hex digits"));
const iscsiName = z
  .string()
  .check(
    z.regex(
      /^(iqn\.\d{4}-\d{2}\.[^\s,]+|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16,32})$/,
      "must be an iSCSI name (iqn.YYYY-MM.reverse.domain:name)",
    ),
  );

/**
 * A SAN LU reached through QEMU's own iSCSI initiator (Debian's qemu-block-extra): every read
 * and write of the guest crosses the network to the portal, none touches a local file.
 */
const IscsiSourceSchema = z.strictObject({
  /** The portal QEMU (on the host, not the guest) connects to: bootproof's own target on loopback. */
  host: z.ipv4(),
  port: intInRange(1, 65535),
  target: iscsiName,
  lun: z._default(intInRange(0, 16383), 0),
  /** The initiator's name at login (an HBA's identity); QEMU's default when unset. */
  initiatorName: z.optional(iscsiName),
  /**
   * Seconds after which a request that got no answer fails with an I/O error the guest sees
   * (a path that went down); 0 waits forever, QEMU's default.
   */
  timeoutSeconds: z._default(intInRange(0, 3600), 0),
});

export const DriveSchema = z.strictObject({
  id: identifier,
  /** Path of the image on the host. Scenarios may leave it empty for media the harness builds. */
  file: z.string(),
  format: z._default(z.enum(["raw", "qcow2"]), "raw"),
  media: z._default(z.enum(["disk", "cdrom"]), "disk"),
  readOnly: z._default(z.boolean(), false),
  /**
   * Writes go to a throw-away overlay (QEMU snapshot=on), so the base image is never
   * modified and many cases can share one cached image.
   */
  copyOnWrite: z._default(z.boolean(), true),
  /** Served by an iSCSI target instead of a file: `file` stays empty and copyOnWrite does not apply. */
  iscsi: z.optional(IscsiSourceSchema),
});

const ControllerSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("virtio-scsi-pci"), id: identifier, pciSlot: z.optional(pciSlot) }),
  z.strictObject({ kind: z.literal("lsi53c895a"), id: identifier, pciSlot: z.optional(pciSlot) }),
  z.strictObject({ kind: z.literal("megasas"), id: identifier, pciSlot: z.optional(pciSlot) }),
  z.strictObject({ kind: z.literal("pvscsi"), id: identifier, pciSlot: z.optional(pciSlot) }),
  z.strictObject({ kind: z.literal("qemu-xhci"), id: identifier, pciSlot: z.optional(pciSlot) }),
]);

const common = {
  id: identifier,
  drive: identifier,
  bootIndex: z.optional(bootIndex),
};

const DiskSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("virtio-blk"), ...common, serial: z.optional(serial), pciSlot: z.optional(pciSlot) }),
  z.strictObject({
    kind: z.enum(["scsi-hd", "scsi-cd"]),
    ...common,
    controller: identifier,
    channel: z._default(intInRange(0, 0), 0),
    scsiId: intInRange(0, 255),
    lun: z._default(intInRange(0, 16383), 0),
    serial: z.optional(serial),
    /** Fibre Channel identities: the LU's NAA WWN and the target port's WWN. */
    wwn: z.optional(wwn),
    portWwn: z.optional(wwn),
    /** The relative target port identifier VPD page 0x83 reports (1-based; unset reports none). */
    portIndex: z.optional(intInRange(1, 65535)),
  }),
  z.strictObject({
    kind: z.enum(["ide-hd", "ide-cd"]),
    ...common,
    /** IDE bus index: pc has ide.0 and ide.1 (2 units each); on q35 ide.N is AHCI port N (1 unit). */
    bus: intInRange(0, 5),
    unit: z._default(intInRange(0, 1), 0),
    serial: z.optional(serial),
  }),
  z.strictObject({
    kind: z.literal("usb-storage"),
    ...common,
    controller: identifier,
    /** Root hub port, 1-based. */
    port: z.optional(intInRange(1, 15)),
    serial: z.optional(serial),
    removable: z._default(z.boolean(), false),
  }),
  z.strictObject({ kind: z.literal("floppy"), ...common, unit: z._default(intInRange(0, 1), 0) }),
]);

const GuestForwardSchema = z.strictObject({
  guestAddress: z.ipv4(),
  guestPort: intInRange(1, 65535),
  hostAddress: z._default(z.ipv4(), "127.0.0.1"),
  hostPort: intInRange(1, 65535),
});

const NicSchema = z.strictObject({
  id: identifier,
  model: z.enum(["virtio-net-pci", "e1000"]),
  mac: z.optional(
    z.string().check(z.regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, "must be six lower-case hex pairs separated by ':'")),
  ),
  pciSlot: z.optional(pciSlot),
  bootIndex: z.optional(bootIndex),
  /** Option ROM path; unset uses QEMU's default iPXE ROM for the model, "none" disables it. */
  romFile: z.optional(z.string()),
  /** QEMU user-mode networking: no root, the guest reaches host loopback at 10.0.2.2. */
  user: z._default(
    z.strictObject({
      tftpRoot: z.optional(z.string()),
      bootFile: z.optional(z.string()),
      guestForwards: z._default(z.array(GuestForwardSchema), []),
    }),
    { guestForwards: [] },
  ),
});

const FirmwareSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("seabios") }),
  z.strictObject({
    kind: z.literal("ovmf"),
    code: z._default(z.string(), "/usr/share/OVMF/OVMF_CODE_4M.fd"),
    /** Template only: every run boots with its own copy, so NVRAM writes never leak between runs. */
    varsTemplate: z._default(z.string(), "/usr/share/OVMF/OVMF_VARS_4M.fd"),
  }),
]);

export const MachineSchema = z.strictObject({
  name: identifier,
  machineType: z._default(z.enum(["pc", "q35"]), "pc"),
  firmware: z._default(FirmwareSchema, { kind: "seabios" }),
  memoryMiB: z._default(intInRange(64, 16384), 512),
  cpus: z._default(intInRange(1, 8), 1),
  drives: z._default(z.array(DriveSchema), []),
  controllers: z._default(z.array(ControllerSchema), []),
  disks: z._default(z.array(DiskSchema), []),
  nics: z._default(z.array(NicSchema), []),
  directKernel: z.optional(
    z.strictObject({ kernel: z.string(), initrd: z.optional(z.string()), cmdline: z._default(z.string(), "") }),
  ),
  /** Capture SeaBIOS's debug port (0x402): its boot order and "Booting from ..." lines. */
  firmwareLog: z._default(z.boolean(), false),
  /** After a failed boot the firmware reboots after this long; with -no-reboot QEMU then exits. */
  rebootTimeoutMs: z._default(intInRange(0, 65535), 1000),
  /**
   * Boot only the devices that carry a bootIndex (QEMU -boot strict=on): a firmware that cannot
   * boot them stops instead of trying every other disk, as an HBA told one boot LUN does.
   */
  bootStrict: z._default(z.boolean(), false),
});

export type Machine = z.infer<typeof MachineSchema>;
export type MachineInput = z.input<typeof MachineSchema>;
export type Drive = Machine["drives"][number];
export type Controller = Machine["controllers"][number];
export type DiskDevice = Machine["disks"][number];
export type Nic = Machine["nics"][number];
export type Firmware = Machine["firmware"];
export type ControllerKind = Controller["kind"];
export type DiskKind = DiskDevice["kind"];

export const DISK_KINDS: readonly DiskKind[] = ["virtio-blk", "scsi-hd", "scsi-cd", "ide-hd", "ide-cd", "usb-storage", "floppy"];
export const CONTROLLER_KINDS: readonly ControllerKind[] = ["virtio-scsi-pci", "lsi53c895a", "megasas", "pvscsi", "qemu-xhci"];
/** SCSI host bus adapters (every controller kind but USB). */
export type ScsiControllerKind = Exclude<ControllerKind, "qemu-xhci">;
export const SCSI_CONTROLLER_KINDS: readonly ScsiControllerKind[] = ["virtio-scsi-pci", "lsi53c895a", "megasas", "pvscsi"];
export type IscsiSource = NonNullable<Drive["iscsi"]>;

/** Devices that sit directly on PCI bus 0 and can be pinned to a slot. */
export function pciDevices(machine: Machine): Array<{ id: string; kind: string; pciSlot: number | undefined }> {
  return [
    ...machine.controllers.map((c) => ({ id: c.id, kind: c.kind, pciSlot: c.pciSlot })),
    ...machine.disks.flatMap((d) => (d.kind === "virtio-blk" ? [{ id: d.id, kind: d.kind, pciSlot: d.pciSlot }] : [])),
    ...machine.nics.map((n) => ({ id: n.id, kind: n.model, pciSlot: n.pciSlot })),
  ];
}
