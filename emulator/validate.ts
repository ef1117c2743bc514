// Machine validation: a schema pass (shape, unknown device kinds) then semantic checks
// (collisions, capacities, references). Every problem names the offending path and a fix,
// and all problems are reported at once so an author fixes a scenario in one round.
import { existsSync } from "node:fs";
import type * as z from "zod/mini";
import { CONTROLLER_KINDS, DISK_KINDS, type Machine, MachineSchema, pciDevices, SCSI_CONTROLLER_KINDS } from "./machine.js";

export interface MachineProblem {
  /** Dotted path into the machine, e.g. `disks[2].pciSlot`. */
  path: string;
  message: string;
}

export class MachineValidationError extends Error {
  constructor(
    readonly machineName: string,
    readonly problems: MachineProblem[],
  ) {
    super(`machine '${machineName}' is invalid:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n")}`);
    this.name = "MachineValidationError";
  }
}

/** Slots the chipset itself occupies (with -nodefaults -vga none). */
export const RESERVED_PCI_SLOTS: Record<Machine["machineType"], Record<number, string>> = {
  pc: { 0: "i440FX host bridge", 1: "PIIX3 (ISA, IDE, USB, ACPI)" },
  q35: { 0: "Q35 host bridge", 31: "ICH9 (LPC, SATA, SMBus)" },
};

/** Target ids and LUNs each SCSI host bus adapter addresses. */
export const SCSI_LIMITS = {
  "virtio-scsi-pci": { maxScsiId: 255, maxLun: 16383 },
  // The LSI controller itself answers at target 7; QEMU 7.2 refuses any LUN but 0 on it (measured).
  lsi53c895a: { maxScsiId: 6, maxLun: 0 },
  // Measured: QEMU 7.2 refuses LUNs above 255 on megasas and any LUN but 0 on pvscsi.
  megasas: { maxScsiId: 63, maxLun: 255 },
  pvscsi: { maxScsiId: 63, maxLun: 0 },
} as const;

/** xHCI with QEMU's default p2=4, p3=4: 8 root ports. */
const XHCI_PORTS = 8;

export function formatZodPath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>(
    (acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)),
    "",
  );
}

function zodProblems(error: z.core.$ZodError): MachineProblem[] {
  return error.issues.map((issue) => {
    let message = issue.message;
    if (issue.code === "invalid_union" && "discriminator" in issue) {
      const list =
        issue.path[0] === "disks"
          ? DISK_KINDS
          : issue.path[0] === "controllers"
            ? CONTROLLER_KINDS
            : issue.path[0] === "firmware"
              ? ["seabios", "ovmf"]
              : [];
      message = `unknown ${String(issue.discriminator)}${list.length ? `; use one of: ${list.join(", ")}` : ""}`;
    }
    if (issue.code === "invalid_value" && "values" in issue) {
      message = `${issue.message}; valid values: ${(issue.values as unknown[]).map(String).join(", ")}`;
    }
    return { path: formatZodPath(issue.path) || "(machine)", message };
  });
}

export interface ValidateOptions {
  /** Check that every referenced file exists (off for pure, boot-free property checks). */
  checkFiles?: boolean;
}

/** Returns every problem found; an empty list means the machine can be booted. */
export function findMachineProblems(machine: Machine, options: ValidateOptions = {}): MachineProblem[] {
  const problems: MachineProblem[] = [];
  const problem = (path: string, message: string) => problems.push({ path, message });

  // Ids share one namespace because QEMU's -device and -drive ids do.
  const idOwners = new Map<string, string>();
  const claimId = (id: string, path: string) => {
    const owner = idOwners.get(id);
    if (owner)
      problem(path, `duplicate id '${id}' (already used by ${owner}); give each drive, controller, disk and NIC its own id`);
    else idOwners.set(id, path);
  };
  for (const [list, items] of [
    ["drives", machine.drives],
    ["controllers", machine.controllers],
    ["disks", machine.disks],
    ["nics", machine.nics],
  ] as const) {
    items.forEach((item, i) => {
      claimId(item.id, `${list}[${i}]`);
    });
  }

  // PCI slots.
  const reserved = RESERVED_PCI_SLOTS[machine.machineType];
  const slotOwners = new Map<number, string>();
  for (const device of pciDevices(machine)) {
    if (device.pciSlot === undefined) continue;
    const path = `device '${device.id}' (${device.kind})`;
    const chipset = reserved[device.pciSlot];
    if (chipset) {
      problem(path, `PCI slot ${device.pciSlot} is taken by the ${chipset} on '${machine.machineType}'; pick another slot`);
      continue;
    }
    const owner = slotOwners.get(device.pciSlot);
    if (owner) problem(path, `PCI slot ${device.pciSlot} collides with ${owner}; give each device its own pciSlot`);
    else slotOwners.set(device.pciSlot, path);
  }

  // Boot indexes must be unique: QEMU refuses duplicates and the boot order would be ambiguous.
  const bootOwners = new Map<number, string>();
  for (const [path, device] of [
    ...machine.disks.map((d, i) => [`disks[${i}]`, d] as const),
    ...machine.nics.map((n, i) => [`nics[${i}]`, n] as const),
  ]) {
    if (device.bootIndex === undefined) continue;
    const owner = bootOwners.get(device.bootIndex);
    if (owner)
      problem(`${path}.bootIndex`, `bootIndex ${device.bootIndex} is already used by ${owner}; boot indexes must be unique`);
    else bootOwners.set(device.bootIndex, `'${device.id}'`);
  }

  // Drive references: each drive exists, is used by exactly one device, and fits the device.
  const drivesById = new Map(machine.drives.map((d) => [d.id, d]));
  const driveUsers = new Map<string, string>();
  machine.disks.forEach((disk, i) => {
    const path = `disks[${i}].drive`;
    const drive = drivesById.get(disk.drive);
    if (!drive) {
      problem(path, `drive '${disk.drive}' is not declared; add it to drives[]`);
      return;
    }
    const user = driveUsers.get(disk.drive);
    if (user) problem(path, `drive '${disk.drive}' is already attached to ${user}; a drive backs one device`);
    else driveUsers.set(disk.drive, `'${disk.id}'`);
    const wantsCdrom = disk.kind === "scsi-cd" || disk.kind === "ide-cd";
    if (wantsCdrom && drive.media !== "cdrom") problem(path, `${disk.kind} needs a drive with media "cdrom"`);
    if (!wantsCdrom && drive.media === "cdrom" && disk.kind !== "usb-storage")
      problem(path, `drive '${drive.id}' is a cdrom; attach it with ide-cd or scsi-cd`);
  });

  // SAN drives: QEMU's initiator reaches bootproof's own target, never another host.
  machine.drives.forEach((drive, i) => {
    if (!drive.iscsi) return;
    const path = `drives[${i}]`;
    if (drive.file !== "") problem(`${path}.file`, "an iSCSI drive has no file; leave file empty (the target serves the LU)");
    if (drive.format !== "raw") problem(`${path}.format`, "an iSCSI drive is a raw LU; leave format at raw");
    if (drive.media !== "disk") problem(`${path}.media`, "an iSCSI drive is a disk LU; attach CDs from files");
    if (!drive.iscsi.host.startsWith("127."))
      problem(
        `${path}.iscsi.host`,
        `${drive.iscsi.host} is not a loopback address; bootproof's iSCSI target listens on 127.0.0.1`,
      );
  });
  machine.disks.forEach((disk, i) => {
    const drive = drivesById.get(disk.drive);
    // A SAN LU behind an HBA is a scsi-hd; a virtio-blk disk over a LU is a local disk whose
    // every write the target sees (Ironic's deploy, scenarios/ironic-hba).
    if (drive?.iscsi && disk.kind !== "scsi-hd" && disk.kind !== "virtio-blk")
      problem(
        `disks[${i}]`,
        `drive '${drive.id}' is an iSCSI LU; attach it with scsi-hd on a SCSI host bus adapter (or virtio-blk)`,
      );
  });

  // Controllers and bus capacity.
  const controllersById = new Map(machine.controllers.map((c) => [c.id, c]));
  const busSlots = new Map<string, string>();
  const claimBusSlot = (key: string, path: string, what: string) => {
    const owner = busSlots.get(key);
    if (owner) problem(path, `${what} is already occupied by ${owner}; pick a free address`);
    else busSlots.set(key, path);
  };
  const usbPortsUsed = new Map<string, number>();
  machine.disks.forEach((disk, i) => {
    const path = `disks[${i}]`;
    switch (disk.kind) {
      case "scsi-hd":
      case "scsi-cd": {
        const controller = controllersById.get(disk.controller);
        if (!controller || controller.kind === "qemu-xhci") {
          problem(
            `${path}.controller`,
            `'${disk.controller}' is not a SCSI controller; declare one of: ${SCSI_CONTROLLER_KINDS.join(", ")}`,
          );
          return;
        }
        const limits = SCSI_LIMITS[controller.kind];
        if (disk.scsiId > limits.maxScsiId)
          problem(`${path}.scsiId`, `${controller.kind} supports SCSI ids 0..${limits.maxScsiId}`);
        if (disk.lun > limits.maxLun) problem(`${path}.lun`, `${controller.kind} supports LUNs 0..${limits.maxLun}`);
        claimBusSlot(
          `${disk.controller}:${disk.channel}:${disk.scsiId}:${disk.lun}`,
          path,
          `SCSI address ${disk.controller} ${disk.channel}:${disk.scsiId}:${disk.lun}`,
        );
        return;
      }
      case "ide-hd":
      case "ide-cd": {
        const buses = machine.machineType === "pc" ? 2 : 6;
        const units = machine.machineType === "pc" ? 2 : 1;
        if (disk.bus >= buses) problem(`${path}.bus`, `'${machine.machineType}' has IDE buses ide.0..ide.${buses - 1}`);
        if (disk.unit >= units) problem(`${path}.unit`, `'${machine.machineType}' IDE buses take units 0..${units - 1}`);
        claimBusSlot(`ide.${disk.bus}:${disk.unit}`, path, `IDE address ide.${disk.bus} unit ${disk.unit}`);
        return;
      }
      case "usb-storage": {
        const controller = controllersById.get(disk.controller);
        if (controller?.kind !== "qemu-xhci") {
          problem(`${path}.controller`, `'${disk.controller}' is not a USB controller; declare a qemu-xhci controller`);
          return;
        }
        const used = (usbPortsUsed.get(disk.controller) ?? 0) + 1;
        usbPortsUsed.set(disk.controller, used);
        if (used > XHCI_PORTS)
          problem(path, `qemu-xhci '${disk.controller}' has only ${XHCI_PORTS} ports; add another controller`);
        if (disk.port !== undefined) {
          if (disk.port > XHCI_PORTS) problem(`${path}.port`, `qemu-xhci has ports 1..${XHCI_PORTS}`);
          claimBusSlot(`${disk.controller}:usb:${disk.port}`, path, `USB port ${disk.controller}.${disk.port}`);
        }
        return;
      }
      case "floppy":
        claimBusSlot(`fdc:${disk.unit}`, path, `floppy unit ${disk.unit}`);
        return;
      case "virtio-blk":
        return;
    }
  });

  if (options.checkFiles) {
    const mustExist: Array<[string, string | undefined]> = [
      ...machine.drives.flatMap((d, i) => (d.iscsi ? [] : [[`drives[${i}].file`, d.file] as [string, string]])),
      ["directKernel.kernel", machine.directKernel?.kernel],
      ["directKernel.initrd", machine.directKernel?.initrd],
      ...machine.nics.map(
        (n, i) => [`nics[${i}].romFile`, n.romFile === "none" ? undefined : n.romFile] as [string, string | undefined],
      ),
      ...(machine.firmware.kind === "ovmf"
        ? ([
            ["firmware.code", machine.firmware.code],
            ["firmware.varsTemplate", machine.firmware.varsTemplate],
          ] as Array<[string, string]>)
        : []),
    ];
    for (const [path, file] of mustExist) {
      if (file === undefined) continue;
      if (file === "") problem(path, "no file given; set the image path or let the scenario build the media");
      else if (!existsSync(file)) problem(path, `file not found: ${file}; check the path or build the image first`);
    }
  }
  return problems;
}

/**
 * Parses untrusted input (a scenario file, JSON) into a Machine and validates it.
 * Throws MachineValidationError listing every problem.
 */
export function parseMachine(input: unknown, options: ValidateOptions = {}): Machine {
  const parsed = MachineSchema.safeParse(input);
  const name =
    typeof input === "object" && input !== null && typeof (input as { name?: unknown }).name === "string"
      ? (input as { name: string }).name
      : "(unnamed)";
  if (!parsed.success) throw new MachineValidationError(name, zodProblems(parsed.error));
  const problems = findMachineProblems(parsed.data, options);
  if (problems.length > 0) throw new MachineValidationError(parsed.data.name, problems);
  return parsed.data;
}
