// One object owns one QEMU process for its whole life and guarantees it ends: on guest
// power-off, on the deadline, on an error, and on SIGINT/SIGTERM of bootproof (reaper).
// A launch failure carries the full command line and what QEMU printed.

import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";
import { type QemuCommand, shellQuote } from "./argv.js";
import { type BootPhase, type ConsoleLine, type ConsoleMarker, SerialConsole } from "./console.js";
import { ConsoleFileTail } from "./console-file-tail.js";
import type { QmpClient } from "./qmp.js";
import { registerCleanup } from "./reaper.js";

export type QemuEndReason =
  /** QEMU exited by itself (guest powered off, or firmware gave up with -no-reboot). */
  | "exited"
  /** The deadline passed and bootproof killed QEMU. */
  | "deadline"
  /** bootproof stopped it (observation received, interruption, caller request). */
  | "stopped";

export interface QemuOutcome {
  reason: QemuEndReason;
  exitCode: number | undefined;
  signal: string | undefined;
  /** Wall time from spawn to exit. */
  durationMs: number;
  /** When QEMU was spawned and when it was gone, in ms since bootproof's process started. */
  processWindow: { spawnedAtMs: number; endedAtMs: number };
  /** Furthest boot phase the console showed. */
  phase: BootPhase;
  consoleTail: ConsoleLine[];
  stderr: string;
  commandLine: string;
}

export class QemuLaunchError extends Error {
  constructor(
    message: string,
    readonly commandLine: string,
    readonly stderr: string,
  ) {
    super(`${message}\n  command: ${commandLine}${stderr ? `\n  qemu said: ${stderr.trim()}` : ""}`);
    this.name = "QemuLaunchError";
  }
}

export interface QemuLaunchOptions {
  command: QemuCommand;
  /** Serial console artifact (host-timestamped lines). */
  consoleLog?: string;
  /**
   * The file the command's serial chardev writes to (RunPaths.serialFile); read by polling.
   * Omitted: the command writes the console to stdout, read from a pipe.
   */
  serialFile?: string;
  deadlineMs: number;
  /** Grace given to a guest to exit by itself before it is killed when stopping. */
  stopGraceMs?: number;
  onLine?: (line: ConsoleLine) => void;
  onMarker?: (marker: ConsoleMarker, line: ConsoleLine) => void;
}

const STDERR_LIMIT = 64 * 1024;
/** `setpriv --pdeathsig KILL` makes the kernel kill QEMU if bootproof dies, even by SIGKILL. */
const SETPRIV = "/usr/bin/setpriv";

export class QemuProcess {
  readonly console: SerialConsole;
  readonly startedAt: number;
  private readonly child: ChildProcess;
  private stderr = "";
  private endReason: QemuEndReason | undefined;
  private readonly unregister: () => void;
  private readonly deadlineTimer: NodeJS.Timeout;
  private readonly finished: Promise<QemuOutcome>;
  private qmp: QmpClient | undefined;
  private readonly serialTail: ConsoleFileTail | undefined;
  readonly commandLine: string;

  private constructor(private readonly options: QemuLaunchOptions) {
    const { binary, argv } = options.command;
    this.commandLine = shellQuote([binary, ...argv]);
    this.startedAt = Date.now();
    const spawnedAtMs = performance.now();
    this.console = new SerialConsole(this.startedAt, options.consoleLog);
    if (options.onLine) this.console.on("line", options.onLine);
    if (options.onMarker) this.console.on("marker", options.onMarker);

    const usePdeathsig = existsSync(SETPRIV);
    const [file, args] = usePdeathsig ? [SETPRIV, ["--pdeathsig", "KILL", "--", binary, ...argv]] : [binary, argv];
    this.serialTail = options.serialFile
      ? new ConsoleFileTail(options.serialFile, (chunk) => this.console.push(chunk))
      : undefined;
    // Plain child_process rather than execa: spawn, two pipes and a kill are all this needs,
    // and every millisecond of start-up is counted against the boot (bench/smoke-overhead).
    this.child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"] });
    // With a serial file, stdout carries nothing but the unexpected: keep it with stderr.
    this.child.stdout?.on("data", (chunk: Buffer) => (this.serialTail ? this.captureStderr(chunk) : this.console.push(chunk)));
    this.child.stderr?.on("data", (chunk: Buffer) => this.captureStderr(chunk));
    this.unregister = registerCleanup(`qemu ${this.child.pid ?? "?"}`, () => this.kill("stopped"));
    this.deadlineTimer = setTimeout(() => this.kill("deadline"), options.deadlineMs);
    const exited = new Promise<{ exitCode: number | undefined; signal: string | undefined }>((resolve) => {
      this.child.once("close", (code, signal) => resolve({ exitCode: code ?? undefined, signal: signal ?? undefined }));
      // A spawn failure emits "error" and may never emit "close".
      this.child.once("error", () => resolve({ exitCode: undefined, signal: undefined }));
    });
    this.finished = exited.then(async (result) => {
      clearTimeout(this.deadlineTimer);
      this.unregister();
      this.qmp?.close();
      this.serialTail?.close();
      await this.console.end();
      return {
        reason: this.endReason ?? "exited",
        exitCode: result.exitCode,
        signal: result.signal,
        durationMs: Date.now() - this.startedAt,
        processWindow: { spawnedAtMs: Math.round(spawnedAtMs), endedAtMs: Math.round(performance.now()) },
        phase: this.console.phase,
        consoleTail: this.console.lastLines(),
        stderr: this.stderr,
        commandLine: this.commandLine,
      };
    });
  }

  /**
   * Starts QEMU. Rejects with QemuLaunchError when the binary is missing or QEMU exits at
   * once with an error (bad device arguments, missing file), so callers can tell an
   * infrastructure failure from a guest that did not boot.
   */
  static async launch(options: QemuLaunchOptions): Promise<QemuProcess> {
    // Checked up front: behind the setpriv wrapper a missing binary would only show as exit 127.
    if (!findExecutable(options.command.binary)) {
      throw new QemuLaunchError(
        `${options.command.binary} is not installed: install the Debian package qemu-system-x86 (run \`bootproof doctor --fix\`)`,
        shellQuote([options.command.binary, ...options.command.argv]),
        "",
      );
    }
    const qemu = new QemuProcess(options);
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      qemu.child.once("spawn", () => resolve(undefined));
      qemu.child.once("error", (error) => resolve(error));
    });
    if (spawnError) {
      await qemu.finished;
      throw new QemuLaunchError(`could not start ${options.command.binary}: ${spawnError.message}`, qemu.commandLine, "");
    }
    return qemu;
  }

  private captureStderr(chunk: Buffer): void {
    if (this.stderr.length < STDERR_LIMIT) this.stderr += chunk.toString("utf8");
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Lets the supervisor use QMP to stop the guest cleanly. */
  attachQmp(qmp: QmpClient): void {
    this.qmp = qmp;
  }

  wait(): Promise<QemuOutcome> {
    return this.finished;
  }

  /**
   * Stops the guest: QMP `quit` when available, then SIGTERM, then SIGKILL. Resolves once
   * the process is gone.
   */
  async stop(reason: QemuEndReason = "stopped"): Promise<QemuOutcome> {
    if (this.endReason === undefined) this.endReason = reason;
    const grace = this.options.stopGraceMs ?? 1_000;
    if (this.qmp) {
      await Promise.race([this.qmp.execute("quit").catch(() => undefined), new Promise((r) => setTimeout(r, grace))]);
    }
    this.kill(reason);
    return this.finished;
  }

  /** Synchronous kill (usable from signal and exit handlers). */
  kill(reason: QemuEndReason): void {
    if (this.endReason === undefined) this.endReason = reason;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }

  /** True when QEMU ended within `ms` of starting: a launch failure rather than a boot. */
  static isEarlyFailure(outcome: QemuOutcome, ms = 3_000): boolean {
    return outcome.reason === "exited" && outcome.exitCode !== 0 && outcome.durationMs < ms && outcome.phase === "started";
  }
}

function findExecutable(binary: string): string | undefined {
  const candidates = isAbsolute(binary) ? [binary] : (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, binary));
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}
