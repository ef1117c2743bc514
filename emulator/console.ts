// The guest's serial console: bytes from QEMU's stdout become host-timestamped lines, and
// lines that mark boot progress become typed events. classifyConsoleLine is pure.
import { EventEmitter } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";

/** Boot phases in the order a boot passes them; used to say how far a timed-out boot got. */
export const BOOT_PHASES = ["started", "firmware", "loader", "kernel", "probe", "observation", "poweroff"] as const;
export type BootPhase = (typeof BOOT_PHASES)[number];

export type ConsoleMarker =
  | { kind: "phase"; phase: BootPhase }
  | { kind: "panic" }
  | { kind: "observation" }
  /** The firmware or iPXE reporting that a boot attempt failed (the line says why). */
  | { kind: "boot-error" };

export interface ConsoleLine {
  /** Milliseconds since QEMU was started. */
  atMs: number;
  text: string;
}

const MARKERS: Array<[RegExp, ConsoleMarker]> = [
  [/BOOTPROOF-OBSERVATION /, { kind: "observation" }],
  [/^BOOTPROOF-PROBE start/, { kind: "phase", phase: "probe" }],
  [
    /(Could not (boot|open SAN device|boot image)|No bootable device|Boot failed: |Failed to attach iSCSI volume)/,
    { kind: "boot-error" },
  ],
  [/Kernel panic - not syncing|BUG: unable to handle|Oops: /, { kind: "panic" }],
  [/^(\[\s*\d+\.\d+\]\s*)?Linux version \d/, { kind: "phase", phase: "kernel" }],
  [/^(\[\s*\d+\.\d+\]\s*)?(Run \/init|Freeing unused kernel image)/, { kind: "phase", phase: "kernel" }],
  [
    /(reboot: Power down|reboot: Restarting system|ACPI: PM: Preparing to enter system sleep state S5)/,
    { kind: "phase", phase: "poweroff" },
  ],
  [
    /^(SYSLINUX|ISOLINUX|EXTLINUX|GNU GRUB|Loading (\S+)\.\.\.|Booting a command list|Welcome to GRUB)/,
    { kind: "phase", phase: "loader" },
  ],
  [/(SeaBIOS \(version|iPXE \d|BdsDxe|UEFI Interactive Shell|Press ESC in \d+ seconds)/, { kind: "phase", phase: "firmware" }],
];

export function classifyConsoleLine(text: string): ConsoleMarker | undefined {
  for (const [pattern, marker] of MARKERS) if (pattern.test(text)) return marker;
  return undefined;
}

export function laterPhase(a: BootPhase, b: BootPhase): BootPhase {
  return BOOT_PHASES.indexOf(b) > BOOT_PHASES.indexOf(a) ? b : a;
}

export function formatConsoleLine(line: ConsoleLine): string {
  return `[${(line.atMs / 1000).toFixed(3).padStart(9)}] ${line.text}\n`;
}

export interface SerialConsoleEvents {
  line: [ConsoleLine];
  marker: [ConsoleMarker, ConsoleLine];
}

/**
 * Splits a byte stream into lines, timestamps each relative to `startedAt`, writes them to
 * the artifact file and emits markers. Keeps the last lines in memory for failure reports.
 */
export class SerialConsole extends EventEmitter<SerialConsoleEvents> {
  private partial = "";
  private readonly tail: ConsoleLine[] = [];
  private readonly log: WriteStream | undefined;
  phase: BootPhase = "started";

  constructor(
    private readonly startedAt: number,
    logPath: string | undefined,
    private readonly tailLines = 40,
  ) {
    super();
    this.log = logPath ? createWriteStream(logPath, { flags: "a" }) : undefined;
  }

  push(chunk: Buffer | string): void {
    const text = this.partial + (typeof chunk === "string" ? chunk : chunk.toString("latin1"));
    const lines = text.split("\n");
    this.partial = lines.pop() ?? "";
    this.emitLines(lines);
  }

  /** Flushes an unterminated last line (QEMU exited mid-line). */
  end(): Promise<void> {
    if (this.partial) this.emitLines([this.partial]);
    this.partial = "";
    const log = this.log;
    return new Promise((resolve) => (log ? log.end(resolve) : resolve()));
  }

  lastLines(count = this.tailLines): ConsoleLine[] {
    return this.tail.slice(-count);
  }

  /** One artifact write per batch: the log is written while the guest competes for the CPU. */
  private emitLines(raws: string[]): void {
    const formatted = raws.map((raw) => this.emitLine(raw));
    if (formatted.length > 0) this.log?.write(formatted.join(""));
  }

  /** Returns the line as the artifact records it. */
  private emitLine(raw: string): string {
    // Firmware and kernels emit CR/LF and ANSI escapes; keep the printable text.
    const text = raw
      .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
      .replace(/\x1b[@-Z\\-_c]/g, "")
      .replace(/\r/g, "")
      .replace(/[\x00-\x08\x0b-\x1f]/g, "");
    const line: ConsoleLine = { atMs: Date.now() - this.startedAt, text };
    this.tail.push(line);
    if (this.tail.length > this.tailLines) this.tail.shift();
    this.emit("line", line);
    const marker = classifyConsoleLine(text);
    if (marker) {
      if (marker.kind === "phase") this.phase = laterPhase(this.phase, marker.phase);
      if (marker.kind === "observation") this.phase = laterPhase(this.phase, "observation");
      this.emit("marker", marker, line);
    }
    return formatConsoleLine(line);
  }
}
