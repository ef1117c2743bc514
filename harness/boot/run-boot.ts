// Boot one machine and read what the guest observed. Owns the per-boot temp dir (QMP
// socket, OVMF VARS copy) and the artifacts (command line, console log, observation, QMP
// snapshots). Whatever happens, QEMU is gone and the temp dir removed when this returns.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Accelerator, buildQemuCommand, type QemuCommand, shellQuote } from "../../emulator/argv.js";
import type { BootPhase, ConsoleLine } from "../../emulator/console.js";
import type { Machine } from "../../emulator/machine.js";
import { QemuLaunchError, type QemuOutcome, QemuProcess } from "../../emulator/qemu-process.js";
import { flattenQueryPci, QmpClient } from "../../emulator/qmp.js";
import { registerTempDir } from "../../emulator/reaper.js";
import type { KernelChoice } from "../../firmware/kernel/choice.js";
import { type Observation, ObservationParseError, parseObservationLine } from "../../firmware/observation.js";
import { seededVarsTemplate } from "../../firmware/ovmf-vars.js";
import { describeError } from "../errors.js";
import { workerPythonFile } from "../openstack/python-dir.js";
import { DEBIAN_PYTHON } from "../openstack/worker.js";
import type { GiveUpRule } from "../scenario.js";

export const DEFAULT_BOOT_DEADLINE_MS = 120_000;
/** After the observation line the probe powers off; give it this long before stopping it. */
const POWEROFF_GRACE_MS = 3_000;

export interface BootOptions {
  /** Directory for this boot's artifacts (created). */
  artifactDir: string;
  accelerator?: Accelerator;
  deadlineMs?: number;
  /** End the boot early on a console line that proves it cannot succeed. */
  giveUp?: GiveUpRule;
  onPhase?: (phase: BootPhase) => void;
  onLine?: (line: ConsoleLine) => void;
  /** The kernel the probe runs, for boots that build their media at boot time (libvirt domains). */
  kernel?: KernelChoice;
}

interface CommandBootBase {
  commandLine: string;
  durationMs: number;
  /** QEMU's lifetime in ms since bootproof's process started (overhead accounting). */
  qemuWindow?: QemuOutcome["processWindow"];
  phase: BootPhase;
  consoleTail: string[];
  artifactDir: string;
}

type Outcomes<Base> =
  | (Base & { status: "observed"; observation: Observation; firmwareLog: string[] })
  /** QEMU ended (power-off, firmware gave up, panic) without an observation: the boot failed. */
  | (Base & { status: "no-observation"; reason: string; firmwareLog: string[] })
  | (Base & { status: "timeout" })
  | (Base & { status: "infra-error"; error: string });

/** A supervised QEMU run, whoever wrote its command line (bootproof's argv.ts or libvirt). */
export type CommandBootResult = Outcomes<CommandBootBase>;
export type BootResult = Outcomes<CommandBootBase & { machine: Machine }>;

/** Host paths of one boot inside its temp dir. */
export interface BootPaths {
  qmpSocket: string;
  serialFile: string;
  /** SeaBIOS debug-port log (an artifact), when the command writes one. */
  firmwareLog?: string;
}

export interface SupervisedBoot {
  command: QemuCommand;
  paths: BootPaths;
  /** Artifacts written while QEMU starts (file name → content). */
  artifacts: Record<string, string>;
}

/** Runs `body` with a fresh per-boot temp dir that is gone afterwards, whatever happens. */
export async function withBootTempDir<T>(artifactDir: string, body: (tempDir: string) => Promise<T>): Promise<T> {
  const [, tempDir] = await Promise.all([mkdir(artifactDir, { recursive: true }), mkdtemp(join(tmpdir(), "bootproof-"))]);
  const unregisterTemp = registerTempDir(tempDir);
  try {
    return await body(tempDir);
  } finally {
    await rm(tempDir, { recursive: true, force: true });
    unregisterTemp();
  }
}

export async function runBoot(machine: Machine, options: BootOptions): Promise<BootResult> {
  return withBootTempDir(options.artifactDir, async (tempDir) => {
    const paths = {
      qmpSocket: join(tempDir, "qmp.sock"),
      serialFile: join(tempDir, "serial.out"),
      firmwareLog: machine.firmwareLog ? join(options.artifactDir, "firmware.log") : undefined,
      ovmfVars: machine.firmware.kind === "ovmf" ? join(tempDir, "OVMF_VARS.fd") : undefined,
      guestForwardRelay: machine.nics.some((n) => n.user.guestForwards.length > 0)
        ? [DEBIAN_PYTHON, workerPythonFile("tcp_relay.py")]
        : undefined,
    };
    const command = buildQemuCommand(machine, paths, options.accelerator ?? "tcg");
    const commandLine = shellQuote([command.binary, ...command.argv]);
    try {
      if (machine.firmware.kind === "ovmf" && paths.ovmfVars) {
        // The template plus the firmware's own first-boot defaults (firmware/ovmf-vars.ts).
        await copyFile(await seededVarsTemplate(machine.firmware.code, machine.firmware.varsTemplate), paths.ovmfVars);
      }
    } catch (error) {
      return { ...emptyBase(commandLine, options.artifactDir), machine, status: "infra-error", error: describeError(error) };
    }
    const result = await superviseBoot(
      {
        command,
        paths,
        artifacts: { "command.sh": `${commandLine}\n`, "machine.json": `${JSON.stringify(machine, null, 2)}\n` },
      },
      options,
    );
    return { ...result, machine };
  });
}

const emptyBase = (commandLine: string, artifactDir: string): CommandBootBase => ({
  commandLine,
  durationMs: 0,
  phase: "started",
  consoleTail: [],
  artifactDir,
});

/**
 * Launches one QEMU command under bootproof's supervision (deadline, serial console, QMP
 * snapshots, power-off grace) and classifies how it ended. QEMU is gone when this returns.
 */
export async function superviseBoot(boot: SupervisedBoot, options: BootOptions): Promise<CommandBootResult> {
  const deadlineMs = options.deadlineMs ?? DEFAULT_BOOT_DEADLINE_MS;
  const { command, paths } = boot;
  const commandLine = shellQuote([command.binary, ...command.argv]);
  const base = (phase: BootPhase, durationMs: number, consoleTail: ConsoleLine[]): CommandBootBase => ({
    commandLine,
    durationMs,
    phase,
    consoleTail: consoleTail.map((l) => l.text),
    artifactDir: options.artifactDir,
  });
  try {
    // Written while QEMU starts: nothing the guest needs waits for the artifacts.
    const artifactsWritten = Promise.all(
      Object.entries(boot.artifacts).map(([name, content]) => writeFile(join(options.artifactDir, name), content)),
    );
    artifactsWritten.catch(() => {}); // awaited below; this only keeps an early rejection from going unhandled

    let observationLine: string | undefined;
    let gaveUp: string | undefined;
    let giveUpSeen = 0;
    const bootErrors: string[] = [];
    let poweroffTimer: NodeJS.Timeout | undefined;
    let qemu: QemuProcess;
    try {
      qemu = await QemuProcess.launch({
        command,
        consoleLog: join(options.artifactDir, "console.log"),
        serialFile: paths.serialFile,
        deadlineMs,
        onLine: (line) => {
          options.onLine?.(line);
          const rule = options.giveUp;
          if (!rule || gaveUp !== undefined || !line.text.includes(rule.line)) return;
          if (++giveUpSeen >= rule.count) {
            gaveUp = `${rule.reason}: the console printed '${rule.line}' ${giveUpSeen} times`;
            void qemu.stop("stopped");
          }
        },
        onMarker: (marker, line) => {
          if (marker.kind === "phase") options.onPhase?.(marker.phase);
          if (marker.kind === "boot-error") bootErrors.push(line.text.trim());
          if (marker.kind === "observation" && observationLine === undefined) {
            observationLine = line.text;
            options.onPhase?.("observation");
            poweroffTimer = setTimeout(() => void qemu.stop("stopped"), POWEROFF_GRACE_MS);
          }
        },
      });
    } catch (error) {
      await artifactsWritten;
      if (error instanceof QemuLaunchError) return { ...base("started", 0, []), status: "infra-error", error: error.message };
      throw error;
    }
    await artifactsWritten.catch(async (error: unknown) => {
      await qemu.stop("stopped");
      throw error;
    });
    const snapshots = recordQmpSnapshots(qemu, paths.qmpSocket, options.artifactDir);
    const outcome = await qemu.wait();
    clearTimeout(poweroffTimer);
    await snapshots;
    const firmwareLog = paths.firmwareLog ? await readLines(paths.firmwareLog) : [];
    if (gaveUp !== undefined && observationLine === undefined) {
      const firmwareLog = paths.firmwareLog ? await readLines(paths.firmwareLog) : [];
      const tail = outcome.consoleTail
        .slice(-8)
        .map((l) => `| ${l.text}`)
        .join("\n");
      return {
        ...base(outcome.phase, outcome.durationMs, outcome.consoleTail),
        qemuWindow: outcome.processWindow,
        status: "no-observation",
        reason: `${gaveUp}; bootproof ended the boot after ${(outcome.durationMs / 1000).toFixed(1)} s (phase '${outcome.phase}'); console tail:\n${tail}`,
        firmwareLog,
      };
    }
    return await classifyOutcome(
      outcome,
      observationLine,
      bootErrors,
      firmwareLog,
      { ...base(outcome.phase, outcome.durationMs, outcome.consoleTail), qemuWindow: outcome.processWindow },
      options.artifactDir,
    );
  } catch (error) {
    return { ...base("started", 0, []), status: "infra-error", error: describeError(error) };
  }
}

async function classifyOutcome(
  outcome: QemuOutcome,
  observationLine: string | undefined,
  bootErrors: string[],
  firmwareLog: string[],
  base: CommandBootBase,
  artifactDir: string,
): Promise<CommandBootResult> {
  if (observationLine !== undefined) {
    try {
      const observation = parseObservationLine(observationLine);
      if (observation) {
        await writeFile(join(artifactDir, "observation.json"), `${JSON.stringify(observation, null, 2)}\n`);
        return { ...base, status: "observed", observation, firmwareLog };
      }
    } catch (error) {
      // A malformed observation is the harness's own probe failing, not the product.
      if (error instanceof ObservationParseError) return { ...base, status: "infra-error", error: error.message };
      throw error;
    }
  }
  if (outcome.reason === "deadline") return { ...base, status: "timeout" };
  if (QemuProcess.isEarlyFailure(outcome)) {
    return {
      ...base,
      status: "infra-error",
      error: `QEMU exited with status ${outcome.exitCode} before the guest started${outcome.stderr ? `: ${outcome.stderr.trim()}` : ""}`,
    };
  }
  const panicked = base.consoleTail.some((l) => /Kernel panic/.test(l));
  // The first boot error is the cause; later ones are the firmware trying other devices.
  const firmwareSaid = bootErrors.length ? `; the firmware said: ${[...new Set(bootErrors)].slice(0, 3).join(" / ")}` : "";
  const reason = panicked
    ? "the guest kernel panicked"
    : `QEMU exited (${outcome.signal ?? `status ${outcome.exitCode}`}) without an observation; the boot got as far as '${outcome.phase}'${firmwareSaid}`;
  return { ...base, status: "no-observation", reason, firmwareLog };
}

/** query-pci and query-block, saved as artifacts; best effort (the guest may be gone). */
async function recordQmpSnapshots(qemu: QemuProcess, socket: string, artifactDir: string): Promise<void> {
  let qmp: QmpClient | undefined;
  try {
    qmp = await QmpClient.connect(socket, 5_000);
    qemu.attachQmp(qmp);
    const [pci, block] = await Promise.all([qmp.execute("query-pci"), qmp.execute("query-block")]);
    await writeFile(join(artifactDir, "qmp-pci.json"), `${JSON.stringify(flattenQueryPci(pci), null, 2)}\n`);
    await writeFile(join(artifactDir, "qmp-block.json"), `${JSON.stringify(block, null, 2)}\n`);
  } catch {
    // QEMU exited before QMP answered (a fast failure); the console tells the story.
  }
}

async function readLines(path: string): Promise<string[]> {
  try {
    return (await readFile(path, "latin1")).split(/\r?\n/).filter((l) => l.length > 0);
  } catch {
    return [];
  }
}

export function bootFailureDetail(result: CommandBootResult): string {
  const tail = result.consoleTail
    .slice(-15)
    .map((l) => `    | ${l}`)
    .join("\n");
  return `  command: ${result.commandLine}\n  reached: ${result.phase} after ${(result.durationMs / 1000).toFixed(1)} s\n  console tail:\n${tail || "    | (no console output)"}`;
}
