// Machine → QEMU argv, as a pure function. Everything a run needs on the host (sockets,
// log files, the per-run OVMF VARS copy) is passed in as RunPaths so the same machine always
// yields the same command line, which is what `--print-qemu` shows and what benches re-run.
import type { Controller, DiskDevice, Drive, IscsiSource, Machine, Nic } from "./machine.js";

export type Accelerator = "tcg" | "kvm";

export interface RunPaths {
  /**
   * File receiving the guest's serial console; omitted → QEMU's stdout (the printed bare
   * command). bootproof uses a file: see console-file-tail.ts for why not a pipe.
   */
  serialFile?: string;
  /** QMP unix socket; omitted → no QMP (e.g. the printed bare command). */
  qmpSocket?: string;
  /** File receiving SeaBIOS's debug-port output when machine.firmwareLog is set. */
  firmwareLog?: string;
  /** Per-run writable copy of the OVMF VARS template (required for OVMF machines). */
  ovmfVars?: string;
  /**
   * The program (argv prefix; HOST PORT are appended) QEMU runs per guest connection to a
   * guest forward. Without it a forward is QEMU's `tcp:` chardev, which carries one connection
   * at a time: every guest connection to the address shares one host stream.
   */
  guestForwardRelay?: string[];
}

export interface QemuCommand {
  binary: string;
  argv: string[];
}

export const QEMU_BINARY = "qemu-system-x86_64";

/** QEMU option values separate fields with ','; a literal comma is written twice. */
export function escapeOptionValue(value: string): string {
  return value.replaceAll(",", ",,");
}

function options(head: string, fields: Record<string, string | number | boolean | undefined>): string {
  const parts = [head];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const rendered =
      typeof value === "boolean" ? (value ? "on" : "off") : typeof value === "number" ? String(value) : escapeOptionValue(value);
    parts.push(`${key}=${rendered}`);
  }
  return parts.join(",");
}

const hexSlot = (slot: number | undefined) => (slot === undefined ? undefined : `0x${slot.toString(16)}`);

function driveArgs(drive: Drive): string[] {
  if (drive.iscsi) return iscsiDriveArgs(drive, drive.iscsi);
  return [
    "-drive",
    options("if=none", {
      id: drive.id,
      file: drive.file,
      format: drive.format,
      media: drive.media === "cdrom" ? "cdrom" : undefined,
      readonly: drive.readOnly ? true : undefined,
      // Read-only drives need no overlay; writable ones write to a throw-away overlay.
      snapshot: drive.copyOnWrite && !drive.readOnly ? true : undefined,
    }),
  ];
}

/**
 * A SAN LU through QEMU's iSCSI initiator, as a protocol node the disk uses directly: no
 * format probe reads the LU at start-up, so the target sees only the guest's own I/O.
 */
function iscsiDriveArgs(drive: Drive, iscsi: IscsiSource): string[] {
  return [
    "-blockdev",
    options("driver=iscsi", {
      "node-name": drive.id,
      transport: "tcp",
      portal: `${iscsi.host}:${iscsi.port}`,
      target: iscsi.target,
      lun: iscsi.lun,
      "initiator-name": iscsi.initiatorName,
      timeout: iscsi.timeoutSeconds || undefined,
      "read-only": drive.readOnly ? true : undefined,
    }),
  ];
}

function controllerArgs(controller: Controller): string[] {
  return ["-device", options(controller.kind, { id: controller.id, addr: hexSlot(controller.pciSlot) })];
}

function diskArgs(disk: DiskDevice, machine: Machine): string[] {
  switch (disk.kind) {
    case "virtio-blk":
      return [
        "-device",
        options("virtio-blk-pci", {
          id: disk.id,
          drive: disk.drive,
          serial: disk.serial,
          bootindex: disk.bootIndex,
          addr: hexSlot(disk.pciSlot),
        }),
      ];
    case "scsi-hd":
    case "scsi-cd": {
      const controller = machine.controllers.find((c) => c.id === disk.controller);
      // lsi53c895a has a single channel and rejects the property.
      const channel = controller?.kind === "lsi53c895a" ? undefined : disk.channel;
      return [
        "-device",
        options(disk.kind, {
          id: disk.id,
          drive: disk.drive,
          bus: `${disk.controller}.0`,
          channel,
          "scsi-id": disk.scsiId,
          lun: disk.lun,
          serial: disk.serial,
          wwn: disk.kind === "scsi-hd" ? disk.wwn : undefined,
          port_wwn: disk.kind === "scsi-hd" ? disk.portWwn : undefined,
          port_index: disk.kind === "scsi-hd" ? disk.portIndex : undefined,
          bootindex: disk.bootIndex,
        }),
      ];
    }
    case "ide-hd":
    case "ide-cd":
      return [
        "-device",
        options(disk.kind, {
          id: disk.id,
          drive: disk.drive,
          bus: `ide.${disk.bus}`,
          // q35's ide.N buses are single-port AHCI links: they take no unit.
          unit: machine.machineType === "pc" ? disk.unit : undefined,
          serial: disk.serial,
          bootindex: disk.bootIndex,
        }),
      ];
    case "usb-storage":
      return [
        "-device",
        options("usb-storage", {
          id: disk.id,
          drive: disk.drive,
          bus: `${disk.controller}.0`,
          port: disk.port,
          serial: disk.serial,
          removable: disk.removable ? true : undefined,
          bootindex: disk.bootIndex,
        }),
      ];
    case "floppy":
      // The floppy's boot priority lives on the controller (bootindexA/B), not the drive.
      return [
        "-device",
        options("floppy", {
          id: disk.id,
          drive: disk.drive,
          unit: disk.unit,
          bus: machine.machineType === "q35" ? "fdc0.0" : undefined,
        }),
      ];
  }
}

function floppyControllerArgs(machine: Machine): string[] {
  const floppies = machine.disks.filter((d) => d.kind === "floppy");
  if (floppies.length === 0) return [];
  const bootIndexes: Record<string, number | undefined> = {};
  for (const floppy of floppies) bootIndexes[floppy.unit === 0 ? "bootindexA" : "bootindexB"] = floppy.bootIndex;
  // pc has a built-in isa-fdc; q35 has none, so add one.
  if (machine.machineType === "q35") return ["-device", options("isa-fdc", { id: "fdc0", ...bootIndexes })];
  return Object.entries(bootIndexes).flatMap(([key, value]) =>
    value === undefined ? [] : ["-global", `isa-fdc.${key}=${value}`],
  );
}

function nicArgs(nic: Nic, relay: string[] | undefined): string[] {
  const netdevId = `net-${nic.id}`;
  const guestForwards = nic.user.guestForwards.map((f) =>
    relay
      ? `guestfwd=tcp:${f.guestAddress}:${f.guestPort}-cmd:${escapeOptionValue([...relay, f.hostAddress, String(f.hostPort)].join(" "))}`
      : `guestfwd=tcp:${f.guestAddress}:${f.guestPort}-tcp:${f.hostAddress}:${f.hostPort}`,
  );
  const netdev = [options("user", { id: netdevId, tftp: nic.user.tftpRoot, bootfile: nic.user.bootFile }), ...guestForwards].join(
    ",",
  );
  return [
    "-netdev",
    netdev,
    "-device",
    options(nic.model, {
      id: nic.id,
      netdev: netdevId,
      mac: nic.mac,
      addr: hexSlot(nic.pciSlot),
      bootindex: nic.bootIndex,
      romfile: nic.romFile === "none" ? "" : nic.romFile,
    }),
  ];
}

function firmwareArgs(machine: Machine, paths: RunPaths): string[] {
  if (machine.firmware.kind === "seabios") return [];
  if (!paths.ovmfVars)
    throw new Error(`machine '${machine.name}' uses OVMF: RunPaths.ovmfVars (a per-run VARS copy) is required`);
  return [
    "-drive",
    options("if=pflash", { format: "raw", unit: 0, readonly: true, file: machine.firmware.code }),
    "-drive",
    options("if=pflash", { format: "raw", unit: 1, file: paths.ovmfVars }),
  ];
}

/**
 * The full QEMU command for a machine. Device order is fixed (controllers, disks, NICs,
 * each in declaration order) because QEMU gives unpinned PCI devices slots in argv order.
 */
export function buildQemuCommand(machine: Machine, paths: RunPaths, accelerator: Accelerator = "tcg"): QemuCommand {
  const argv: string[] = [
    "-name",
    machine.name,
    // graphics=off makes SeaBIOS mirror all text output (its own, iPXE's, loaders') to the
    // serial port (sercon), so the console log shows how far the firmware got.
    "-machine",
    `${machine.machineType},graphics=off`,
    "-accel",
    accelerator,
    "-m",
    String(machine.memoryMiB),
    "-smp",
    String(machine.cpus),
    "-nodefaults",
    "-no-user-config",
    "-vga",
    "none",
    "-display",
    "none",
    // The guest's serial console: a file under bootproof, else stdout (signal=off leaves
    // Ctrl-C to whoever runs the command).
    "-chardev",
    paths.serialFile ? options("file", { id: "console", path: paths.serialFile }) : "stdio,id=console,signal=off",
    "-serial",
    "chardev:console",
    // A firmware that finds nothing to boot reboots after the timeout; -no-reboot turns
    // that reboot into an exit instead of an endless loop.
    "-no-reboot",
    "-boot",
    `strict=${machine.bootStrict ? "on" : "off"},reboot-timeout=${machine.rebootTimeoutMs}`,
    ...firmwareArgs(machine, paths),
  ];
  if (paths.qmpSocket) argv.push("-qmp", `unix:${escapeOptionValue(paths.qmpSocket)},server=on,wait=off`);
  if (machine.firmwareLog && paths.firmwareLog) {
    argv.push(
      "-chardev",
      options("file", { id: "firmware-log", path: paths.firmwareLog }),
      "-device",
      "isa-debugcon,iobase=0x402,chardev=firmware-log",
    );
  }
  if (machine.directKernel) {
    argv.push("-kernel", machine.directKernel.kernel);
    if (machine.directKernel.initrd) argv.push("-initrd", machine.directKernel.initrd);
    argv.push("-append", machine.directKernel.cmdline);
  }
  for (const drive of machine.drives) argv.push(...driveArgs(drive));
  argv.push(...floppyControllerArgs(machine));
  for (const controller of machine.controllers) argv.push(...controllerArgs(controller));
  for (const disk of machine.disks) argv.push(...diskArgs(disk, machine));
  for (const nic of machine.nics) argv.push(...nicArgs(nic, paths.guestForwardRelay));
  return { binary: QEMU_BINARY, argv };
}

/** POSIX-shell rendering of a command, for --print-qemu and failure reports. */
export function shellQuote(words: readonly string[]): string {
  return words.map((w) => (/^[A-Za-z0-9_./:=,@%+-]+$/.test(w) ? w : `'${w.replaceAll("'", "'\\''")}'`)).join(" ");
}
