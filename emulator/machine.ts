// The typed Machine model: everything QEMU needs to know about one guest, as plain data.
// The zod schema is the single source of truth; the TypeScript types are inferred from it,
// so data read from a file and data built in code go through exactly the same checks.
import { z } from "zod";

const identifier = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]{0,31}$/, "must start with a letter and use only letters, digits, '_' or '-' (max 32)");

/** PCI slot on bus 0 (device number 0..31). Unset means QEMU assigns the next free slot. */
const pciSlot = z.number().int().min(0).max(31);
const bootIndex = z.number().int().min(0).max(255);
/** Serial numbers reach the guest through VPD page 0x80 / virtio ID; QEMU rejects commas. */
const serial = z
  .string()
  .min(1)
  .max(20)
  .regex(/^[A-Za-z0-9._-]+$/, "only letters, digits, '.', '_' and '-' (max 20: virtio-blk's limit)");
/** A 64-bit NAA World Wide Name, written as 0x followed by 16 hex digits. */
const wwn = z.string().regex(/^0x[0-9a-fA-F]{16}$/, "must be 0x followed by 16 hex digits");

export const DriveSchema = z.strictObject({
  id: identifier,
  /** Path of the image on the host. Scenarios may leave it empty for media the harness builds. */
  file: z.string(),
  format: z.enum(["raw", "qcow2"]).default("raw"),
  media: z.enum(["disk", "cdrom"]).default("disk"),
  readOnly: z.boolean().default(false),
  /**
   * Writes go to a throw-away overlay (QEMU snapshot=on), so the base image is never
   * modified and many cases can share one cached image.
   */
  copyOnWrite: z.boolean().default(true),
});

const ControllerSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("virtio-scsi-pci"), id: identifier, pciSlot: pciSlot.optional() }),
  z.strictObject({ kind: z.literal("lsi53c895a"), id: identifier, pciSlot: pciSlot.optional() }),
  z.strictObject({ kind: z.literal("qemu-xhci"), id: identifier, pciSlot: pciSlot.optional() }),
]);

const common = {
  id: identifier,
  drive: identifier,
  bootIndex: bootIndex.optional(),
};

const DiskSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("virtio-blk"), ...common, serial: serial.optional(), pciSlot: pciSlot.optional() }),
  z.strictObject({
    kind: z.enum(["scsi-hd", "scsi-cd"]),
    ...common,
    controller: identifier,
    channel: z.number().int().min(0).max(0).default(0),
    scsiId: z.number().int().min(0).max(255),
    lun: z.number().int().min(0).max(16383).default(0),
    serial: serial.optional(),
    /** Fibre Channel identities: the LU's NAA WWN and the target port's WWN. */
    wwn: wwn.optional(),
    portWwn: wwn.optional(),
  }),
  z.strictObject({
    kind: z.enum(["ide-hd", "ide-cd"]),
    ...common,
    /** IDE bus index: pc has ide.0 and ide.1 (2 units each); on q35 ide.N is AHCI port N (1 unit). */
    bus: z.number().int().min(0).max(5),
    unit: z.number().int().min(0).max(1).default(0),
    serial: serial.optional(),
  }),
  z.strictObject({
    kind: z.literal("usb-storage"),
    ...common,
    controller: identifier,
    /** Root hub port, 1-based. */
    port: z.number().int().min(1).max(15).optional(),
    serial: serial.optional(),
    removable: z.boolean().default(false),
  }),
  z.strictObject({ kind: z.literal("floppy"), ...common, unit: z.number().int().min(0).max(1).default(0) }),
]);

const GuestForwardSchema = z.strictObject({
  guestAddress: z.ipv4(),
  guestPort: z.number().int().min(1).max(65535),
  hostAddress: z.ipv4().default("127.0.0.1"),
  hostPort: z.number().int().min(1).max(65535),
});

const NicSchema = z.strictObject({
  id: identifier,
  model: z.enum(["virtio-net-pci", "e1000"]),
  mac: z
    .string()
    .regex(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/, "must be six lower-case hex pairs separated by ':'")
    .optional(),
  pciSlot: pciSlot.optional(),
  bootIndex: bootIndex.optional(),
  /** Option ROM path; unset uses QEMU's default iPXE ROM for the model, "none" disables it. */
  romFile: z.string().optional(),
  /** QEMU user-mode networking: no root, the guest reaches host loopback at 10.0.2.2. */
  user: z
    .strictObject({
      tftpRoot: z.string().optional(),
      bootFile: z.string().optional(),
      guestForwards: z.array(GuestForwardSchema).default([]),
    })
    .default({ guestForwards: [] }),
});

const FirmwareSchema = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("seabios") }),
  z.strictObject({
    kind: z.literal("ovmf"),
    code: z.string().default("/usr/share/OVMF/OVMF_CODE_4M.fd"),
    /** Template only: every run boots with its own copy, so NVRAM writes never leak between runs. */
    varsTemplate: z.string().default("/usr/share/OVMF/OVMF_VARS_4M.fd"),
  }),
]);

export const MachineSchema = z.strictObject({
  name: identifier,
  machineType: z.enum(["pc", "q35"]).default("pc"),
  firmware: FirmwareSchema.default({ kind: "seabios" }),
  memoryMiB: z.number().int().min(64).max(16384).default(512),
  cpus: z.number().int().min(1).max(8).default(1),
  drives: z.array(DriveSchema).default([]),
  controllers: z.array(ControllerSchema).default([]),
  disks: z.array(DiskSchema).default([]),
  nics: z.array(NicSchema).default([]),
  directKernel: z.strictObject({ kernel: z.string(), initrd: z.string().optional(), cmdline: z.string().default("") }).optional(),
  /** Capture SeaBIOS's debug port (0x402): its boot order and "Booting from ..." lines. */
  firmwareLog: z.boolean().default(false),
  /** After a failed boot the firmware reboots after this long; with -no-reboot QEMU then exits. */
  rebootTimeoutMs: z.number().int().min(0).max(65535).default(1000),
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
export const CONTROLLER_KINDS: readonly ControllerKind[] = ["virtio-scsi-pci", "lsi53c895a", "qemu-xhci"];

/** Devices that sit directly on PCI bus 0 and can be pinned to a slot. */
export function pciDevices(machine: Machine): Array<{ id: string; kind: string; pciSlot: number | undefined }> {
  return [
    ...machine.controllers.map((c) => ({ id: c.id, kind: c.kind, pciSlot: c.pciSlot })),
    ...machine.disks.flatMap((d) => (d.kind === "virtio-blk" ? [{ id: d.id, kind: d.kind, pciSlot: d.pciSlot }] : [])),
    ...machine.nics.map((n) => ({ id: n.id, kind: n.model, pciSlot: n.pciSlot })),
  ];
}
