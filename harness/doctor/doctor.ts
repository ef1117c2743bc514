// `bootproof doctor [--fix]`: checks the host (Debian packages, guest kernel, accelerator)
// and, with --fix as root, installs what is missing; it also prints the versions of the real
// OpenStack code. Used by `bootproof run` and by the test setup, so a fresh machine needs no
// manual step; ensureRequirements() installs one group lazily (a `--driver real` run).
import { accessSync, constants, existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { cacheRoot } from "../../firmware/cache.js";
import { defaultKernelChoice, FAST_KERNEL_IS_DEFAULT, type KernelChoice } from "../../firmware/kernel/choice.js";
import { findProbeKernel, PROBE_KERNEL_BUILD_HINT } from "../../firmware/kernel/probe-kernel.js";
import { fetchGuestKernel, findGuestKernel, type GuestKernel } from "../../firmware/kernel.js";
import { describeError } from "../errors.js";
import {
  aptInstallCommand,
  missingRequirements,
  packagesOf,
  REQUIREMENT_GROUPS,
  type RequirementGroup,
  type SystemRequirement,
} from "./requirements.js";
import { formatRealPathVersions, type RealPathVersions, realPathVersions } from "./versions.js";

export interface AcceleratorDecision {
  accelerator: "tcg" | "kvm";
  reason: string;
}

export interface RequirementsReport {
  /** The groups checked. */
  groups: RequirementGroup[];
  /** What is still missing (after installing, with fix as root). */
  missing: SystemRequirement[];
  /** Debian packages installed by this call. */
  installed: string[];
  /** What the user must run when doctor could not fix things itself. */
  fixCommands: string[];
}

export interface DoctorReport extends RequirementsReport {
  kernel: GuestKernel | undefined;
  kernelError?: string;
  /** The fast probe kernel for this checkout's fragment and the installed source, when built. */
  fastKernel?: GuestKernel;
  fastKernelError?: string;
  /** What a run without --kernel boots: fast once it is built. */
  defaultKernel?: KernelChoice;
  accelerator?: AcceleratorDecision;
  /** The versions of the real OpenStack path (Nova, libvirt, Ironic, Sahara, QEMU). */
  versions?: RealPathVersions;
  ok: boolean;
}

export interface RequirementsOptions {
  /** Install what is missing (only as root; otherwise the exact command is given). */
  fix: boolean;
  log?: (line: string) => void;
}

export interface DoctorOptions extends RequirementsOptions {
  /** Default: every group (REQUIREMENT_GROUPS). */
  groups?: RequirementGroup[];
  /** Boot a probe guest under KVM to decide the accelerator (a few seconds). */
  probeAccelerator?: boolean;
  /**
   * With fix: builds the fast probe kernel when it is missing and its packages are there
   * (`bootproof kernel build`, minutes on a fresh cache). Runs never pass it.
   */
  buildFastKernel?: () => Promise<GuestKernel>;
}

const defaultLog = (line: string) => process.stderr.write(`${line}\n`);

const isRoot = () => process.getuid?.() === 0;

const aptEnv = () => ({ ...process.env, DEBIAN_FRONTEND: "noninteractive" });

async function aptUpdate(log: (line: string) => void): Promise<void> {
  const { execa } = await import("execa");
  log("doctor: apt-get update");
  await execa("apt-get", ["update"], { env: aptEnv(), stdio: "inherit" });
}

async function aptInstall(packages: string[], log: (line: string) => void): Promise<void> {
  const { execa } = await import("execa");
  await aptUpdate(log);
  const [command, ...args] = aptInstallCommand(packages);
  log(`doctor: ${[command, ...args].join(" ")}`);
  const started = performance.now();
  // Another bootproof (or the other test project's setup) may be installing at the same time.
  await execa(command!, ["-o", "DPkg::Lock::Timeout=600", ...args], { env: aptEnv(), stdio: "inherit" });
  log(`doctor: apt-get install took ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function checkRequirements(groups: readonly RequirementGroup[], options: RequirementsOptions): Promise<RequirementsReport> {
  const log = options.log ?? defaultLog;
  let missing = missingRequirements(existsSync, groups);
  const installed: string[] = [];
  const fixCommands: string[] = [];
  if (missing.length > 0 && options.fix && isRoot()) {
    const packages = packagesOf(missing);
    try {
      await aptInstall(packages, log);
      installed.push(...packages);
    } catch (error) {
      log(`doctor: installing ${packages.join(" ")} failed: ${describeError(error)}`);
    }
    missing = missingRequirements(existsSync, groups);
  }
  if (missing.length > 0) {
    const command = aptInstallCommand(packagesOf(missing)).join(" ");
    fixCommands.push(isRoot() ? command : `sudo ${command}`);
  }
  return { groups: [...groups], missing, installed, fixCommands };
}

/**
 * Makes sure the Debian packages of these groups are installed: as root with fix, installs
 * what is missing (apt-get, --no-install-recommends); otherwise logs the exact apt-get command.
 * Only file existence checks when everything is present.
 */
export async function ensureRequirements(
  groups: readonly RequirementGroup[],
  options: RequirementsOptions,
): Promise<RequirementsReport> {
  const report = await checkRequirements(groups, options);
  const log = options.log ?? defaultLog;
  for (const r of report.missing) log(formatMissing(r));
  if (report.fixCommands.length)
    log(`doctor: to install the packages of ${groups.join(", ")}, run: ${report.fixCommands.join("; ")}`);
  return report;
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const log = options.log ?? defaultLog;
  const groups = options.groups ?? [...REQUIREMENT_GROUPS];
  const { missing, installed, fixCommands } = await checkRequirements(groups, { fix: options.fix, log });

  let kernel = await findGuestKernel();
  let kernelError: string | undefined;
  if (!kernel && options.fix && !missing.some((r) => r.group === "run")) {
    log("doctor: downloading the guest kernel (apt-get download linux-image-amd64, unpacked into the cache)");
    try {
      kernel = await fetchGuestKernel();
    } catch (error) {
      kernelError = describeError(error);
      // A fresh machine whose packages were all present may still have no package lists.
      if (isRoot()) {
        try {
          await aptUpdate(log);
          kernel = await fetchGuestKernel();
          kernelError = undefined;
        } catch (retryError) {
          kernelError = describeError(retryError);
        }
      }
    }
  }
  if (!kernel) fixCommands.push("bootproof doctor --fix   # downloads the guest kernel into the cache");

  let fastKernel = await findProbeKernel().catch(() => undefined);
  let fastKernelError: string | undefined;
  if (!fastKernel && options.fix && options.buildFastKernel && !missing.some((r) => r.group === "fast-kernel")) {
    try {
      fastKernel = await options.buildFastKernel();
    } catch (error) {
      fastKernelError = describeError(error);
    }
  }

  let accelerator: AcceleratorDecision | undefined;
  if (options.probeAccelerator && kernel && missing.every((r) => r.group !== "run")) {
    accelerator = await decideAccelerator();
  }
  return {
    groups,
    missing,
    installed,
    fixCommands,
    kernel,
    kernelError,
    ...(fastKernel ? { fastKernel } : {}),
    ...(fastKernelError ? { fastKernelError } : {}),
    defaultKernel: await defaultKernelChoice(),
    accelerator,
    versions: groups.some((g) => g.startsWith("real-")) ? realPathVersions() : undefined,
    ok: missing.length === 0 && kernel !== undefined,
  };
}

const decisionFile = () => join(cacheRoot(), "accelerator.json");

/** The accelerator `--accel auto` uses: the last doctor decision, TCG when there is none. */
export async function cachedAccelerator(): Promise<AcceleratorDecision> {
  try {
    return JSON.parse(await readFile(decisionFile(), "utf8")) as AcceleratorDecision;
  } catch {
    return { accelerator: "tcg", reason: "no KVM probe recorded (run `bootproof doctor`)" };
  }
}

/**
 * KVM is used only when a real probe guest boots under it before a short deadline: on
 * nested PVM hosts /dev/kvm exists but guests triple-fault.
 */
export async function decideAccelerator(): Promise<AcceleratorDecision> {
  let decision: AcceleratorDecision;
  try {
    accessSync("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    decision = { accelerator: "tcg", reason: "/dev/kvm is missing or not accessible" };
    await saveDecision(decision);
    return decision;
  }
  const { probeBoot } = await import("./accel-probe.js");
  const result = await probeBoot("kvm", 20_000);
  decision = result.ok
    ? { accelerator: "kvm", reason: `a probe guest booted under KVM in ${(result.durationMs / 1000).toFixed(1)} s` }
    : { accelerator: "tcg", reason: `a probe guest under KVM did not boot: ${result.detail}` };
  await saveDecision(decision);
  return decision;
}

async function saveDecision(decision: AcceleratorDecision): Promise<void> {
  await mkdir(cacheRoot(), { recursive: true });
  await writeFile(decisionFile(), `${JSON.stringify(decision)}\n`);
}

const formatMissing = (r: SystemRequirement) => `MISSING ${r.debianPackage} (${r.probeFile}): ${r.why} [${r.group}]`;

export function formatDoctorReport(report: DoctorReport): string {
  const lines: string[] = [];
  if (report.installed.length) lines.push(`installed: ${report.installed.join(" ")}`);
  if (report.missing.length === 0) lines.push(`system packages (${report.groups.join(", ")}): all present`);
  lines.push(...report.missing.map(formatMissing));
  lines.push(
    report.kernel
      ? `guest kernel: ${report.kernel.release} (${report.kernel.vmlinuz})`
      : `MISSING guest kernel${report.kernelError ? `: ${report.kernelError}` : ""}`,
  );
  if (report.defaultKernel) {
    lines.push(
      report.fastKernel
        ? `fast probe kernel: ${report.fastKernel.release} (${report.fastKernel.vmlinuz})`
        : `fast probe kernel: not built${report.fastKernelError ? ` (${report.fastKernelError})` : ""}; ${PROBE_KERNEL_BUILD_HINT}`,
      `default kernel: ${report.defaultKernel} (\`--kernel fast|debian\` or $BOOTPROOF_KERNEL chooses per run${FAST_KERNEL_IS_DEFAULT ? "" : "; the fast kernel is not yet the default"})`,
    );
  }
  if (report.accelerator) lines.push(`accelerator: ${report.accelerator.accelerator} (${report.accelerator.reason})`);
  if (report.versions) lines.push(...formatRealPathVersions(report.versions));
  if (report.fixCommands.length) lines.push("to fix, run:", ...report.fixCommands.map((c) => `  ${c}`));
  lines.push(report.ok ? "doctor: ok" : "doctor: not ready");
  return lines.join("\n");
}
