// The bootproof command line. Thin: parses options, calls the runner / doctor / servers,
// maps verdicts to exit codes (0 all passed, 1 a property failed, 2 infra-error or timeout).
import { existsSync } from "node:fs";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { type Accelerator, buildQemuCommand, shellQuote } from "../../emulator/argv.js";
import { watchLauncher } from "../../emulator/launcher-watch.js";
import { runAllCleanups, stopEverything } from "../../emulator/reaper.js";
import { cacheRoot } from "../../firmware/cache.js";
import { KERNEL_CHOICES, type KernelChoice } from "../../firmware/kernel/choice.js";
import { BUILT_IN_SCENARIOS, type DriverKind, NOT_BOOTABLE_HERE } from "../../scenarios/index.js";
import { prepareMachine } from "../boot/prepare.js";
import { cachedAccelerator, ensureRequirements, formatDoctorReport, runDoctor } from "../doctor/doctor.js";
import { realDriverGroups } from "../doctor/requirements.js";
import { describeError, exitCodeFor, InfraError, InputError } from "../errors.js";
import { renderJunit } from "../report/junit.js";
import { createTerminalReporter, renderSummary } from "../report/terminal.js";
import { mergeShardSummaries } from "../run/merge.js";
import { planBoots } from "../run/run-case.js";
import { type CaseRecord, type RunSettings, type RunSummary, runScenario, type Shard } from "../run/run-scenario.js";
import { isDomainTopology, resolveTopology, type Scenario } from "../scenario.js";
import { loadScenario, resolvedDriver, scenarioReference } from "./load-scenario.js";
import type { ServeIscsiFlags, ServeNfsFlags } from "./serve.js";
import { packageVersion } from "./version.js";

const integer = (name: string, min: number) => (value: string) => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
  return parsed;
};

interface RunFlags {
  printQemu?: boolean;
  example?: string;
  runs?: number;
  seed?: number;
  path?: string;
  jobs: number;
  junit?: string;
  artifacts?: string;
  accel: "tcg" | "kvm" | "auto";
  deadline?: number;
  shrink: boolean;
  driver?: "real" | "model";
  novaSrc?: string;
  shard?: Shard;
  kernel?: KernelChoice;
}

async function resolveAccelerator(choice: RunFlags["accel"]): Promise<Accelerator> {
  return choice === "auto" ? (await cachedAccelerator()).accelerator : choice;
}

/**
 * Makes sure the host can boot guests; as root it installs what is missing (doctor --fix).
 * The real driver's packages are installed only for a run that uses it.
 */
async function ensureReady(driver: DriverKind | undefined, scenarioName: string): Promise<void> {
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const fix = process.getuid?.() === 0;
  const report = await runDoctor({ fix, groups: ["run"], log });
  if (!report.ok) throw new InfraError(`this host cannot boot guests yet:\n${formatDoctorReport(report)}`);
  if (driver === "real") {
    const drivers = BUILT_IN_SCENARIOS[scenarioName]?.drivers;
    const real = await ensureRequirements(realDriverGroups(drivers?.realGroup ?? "real-nova"), { fix, log });
    // A scenario that falls back to its model when the packages are missing has a model to offer.
    const model = drivers?.defaultDriver() === "model" ? ", or pass --driver model" : "";
    if (real.missing.length > 0)
      throw new InfraError(
        `the real driver needs ${real.missing.map((m) => m.debianPackage).join(", ")}: run \`bootproof doctor --fix\` as root${model}`,
      );
  }
}

/** Flags a replay command must repeat so that the same driver answers. */
function driverFlags(driver: DriverKind | undefined, novaSrc: string | undefined): string[] {
  if (!driver) return [];
  return ["--driver", driver, ...(novaSrc ? ["--nova-src", resolve(novaSrc)] : [])];
}

async function printQemu(scenario: Scenario<unknown>, flags: RunFlags): Promise<void> {
  const accelerator = await resolveAccelerator(flags.accel);
  const examples = (scenario.examples ?? []).filter((e) => !flags.example || e.name === flags.example);
  if (examples.length === 0)
    throw new InputError(`scenario '${scenario.name}' has no example${flags.example ? ` '${flags.example}'` : "s"} to print`);
  for (const example of examples) {
    for (const plan of await planBoots(scenario, example.input)) {
      if (plan.services)
        process.stdout.write(`# note: boot ${plan.name} needs bootproof's servers; ports below are placeholders\n`);
      const topology = resolveTopology(plan);
      if (isDomainTopology(topology)) {
        process.stdout.write(
          `# ${scenario.name} example ${example.name}, boot ${plan.name}: a libvirt domain written by the real driver; libvirt writes its command line at boot time (artifact command.sh, with driver.xml and libvirt-dumpxml.xml)\n`,
        );
        continue;
      }
      const machine = await prepareMachine(topology, { kernel: flags.kernel });
      // A bare command needs a writable VARS file that outlives this process: keep one per
      // machine in the cache, fresh from the template each time it is printed.
      let ovmfVars: string | undefined;
      if (machine.firmware.kind === "ovmf") {
        await mkdir(join(cacheRoot(), "ovmf-vars"), { recursive: true });
        ovmfVars = join(cacheRoot(), "ovmf-vars", `${machine.name}.fd`);
        await copyFile(machine.firmware.varsTemplate, ovmfVars);
      }
      const command = buildQemuCommand(machine, { ovmfVars }, accelerator);
      process.stdout.write(
        `# ${scenario.name} example ${example.name}, boot ${plan.name}\n${shellQuote([command.binary, ...command.argv])}\n`,
      );
    }
  }
}

async function runCommand(nameOrPath: string, flags: RunFlags): Promise<number> {
  const loadOptions = { driver: flags.driver, novaSrc: flags.novaSrc };
  const driver = resolvedDriver(nameOrPath, loadOptions);
  await ensureReady(driver, nameOrPath);
  const scenario = await loadScenario(nameOrPath, { ...loadOptions, driver });
  if (flags.printQemu) {
    await printQemu(scenario, flags);
    return 0;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const settings: RunSettings = {
    scenarioRef: scenarioReference(nameOrPath),
    artifactsRoot: resolve(flags.artifacts ?? join("artifacts", `${scenario.name}-${stamp}`)),
    accelerator: await resolveAccelerator(flags.accel),
    jobs: flags.jobs,
    deadlineMs: flags.deadline ? flags.deadline * 1000 : undefined,
    runs: flags.runs,
    seed: flags.seed,
    path: flags.path,
    example: flags.example,
    shrink: flags.shrink,
    replayFlags: driverFlags(driver, flags.novaSrc),
    driver,
    novaSrc: flags.novaSrc ? resolve(flags.novaSrc) : undefined,
    ...(flags.shard ? { shard: flags.shard } : {}),
    ...(flags.kernel ? { kernel: flags.kernel } : {}),
  };
  const summary = await runScenario(scenario, settings, createTerminalReporter());
  await finishReports(summary, flags.junit);
  // A shard may own no case at all (more shards than cases): nothing failed.
  if (summary.cases.length === 0 && flags.shard) return 0;
  return exitCodeFor(summary.cases.length ? summary.cases.map((c) => c.verdict) : ["infra-error"]);
}

/** `i/n` with 1 ≤ i ≤ n. */
function shardOption(value: string): Shard {
  const match = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(match?.[1]);
  const count = Number(match?.[2]);
  if (!match || count < 1 || index < 1 || index > count)
    throw new InvalidArgumentError("--shard must be i/n with 1 ≤ i ≤ n (e.g. 2/4)");
  return { index, count };
}

async function mergeReportsCommand(dirs: string[], flags: { out: string; junit?: string }): Promise<number> {
  const summaries = await Promise.all(
    dirs.map(async (dir) => {
      const path = join(resolve(dir), "summary.json");
      if (!existsSync(path))
        throw new InputError(`${path} not found: pass the artifacts directories of \`run --shard i/n\` runs`);
      return { source: path, summary: JSON.parse(await readFile(path, "utf8")) as RunSummary };
    }),
  );
  const out = resolve(flags.out);
  const merged = mergeShardSummaries(summaries, out);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, "summary.json"), `${JSON.stringify(merged, null, 2)}\n`);
  await (await import("../report/html.js")).writeHtmlReport(merged, out);
  await finishReports(merged, flags.junit ?? join(out, "junit.xml"));
  return exitCodeFor(merged.cases.length ? merged.cases.map((c) => c.verdict) : ["infra-error"]);
}

async function finishReports(summary: RunSummary, junit: string | undefined): Promise<void> {
  process.stdout.write(renderSummary(summary));
  if (junit) {
    await mkdir(resolve(junit, ".."), { recursive: true });
    await writeFile(junit, renderJunit(summary));
  }
}

/**
 * The recorded input reproduces the case exactly, generated or not, unless credentials were
 * removed from it: then the real input comes from the scenario itself.
 */
function replayInput(scenario: Scenario<unknown>, record: CaseRecord, recordPath: string): unknown {
  if (!record.inputRedacted) return record.input;
  const example = record.example ? scenario.examples?.find((e) => e.name === record.example) : undefined;
  if (example) return example.input;
  throw new InputError(
    `${recordPath} holds an input whose credentials were redacted${record.example ? ` and scenario '${scenario.name}' has no example '${record.example}' any more` : ""}; ` +
      `re-run the generated case instead: bootproof run ${shellQuote([record.scenario])} --seed ${record.seed ?? "S"} --path P (the run's counterexample.json names P)`,
  );
}

type ReplayFlags = Pick<RunFlags, "accel" | "junit" | "deadline" | "kernel">;

async function replayCommand(artifactDir: string, flags: ReplayFlags): Promise<number> {
  const recordPath = join(artifactDir, "case.json");
  if (!existsSync(recordPath))
    throw new InputError(`${recordPath} not found: pass a case directory from a run's artifacts (it holds case.json)`);
  const record = JSON.parse(await readFile(recordPath, "utf8")) as CaseRecord;
  const loadOptions = { driver: record.driver, novaSrc: record.novaSrc };
  const driver = resolvedDriver(record.scenario, loadOptions);
  await ensureReady(driver, record.scenario);
  const scenario = await loadScenario(record.scenario, { ...loadOptions, driver });
  const input = replayInput(scenario, record, recordPath);
  const replayScenario: Scenario<unknown> = {
    ...scenario,
    arbitrary: undefined,
    // The example keeps its name, so a replay's own record can be replayed in turn.
    examples: [{ name: record.example ?? "replay", input }],
  };
  const summary = await runScenario(
    replayScenario,
    {
      scenarioRef: record.scenario,
      artifactsRoot: resolve(join(artifactDir, "..", `replay-${new Date().toISOString().replace(/[:.]/g, "-")}`)),
      accelerator: await resolveAccelerator(flags.accel),
      jobs: 1,
      deadlineMs: flags.deadline ? flags.deadline * 1000 : undefined,
      replayFlags: driverFlags(driver, record.novaSrc),
      driver,
      novaSrc: record.novaSrc,
      // The recorded kernel, unless --kernel asks for the other one.
      ...(flags.kernel || record.kernel ? { kernel: flags.kernel ?? record.kernel } : {}),
    },
    createTerminalReporter(),
  );
  await finishReports(summary, flags.junit);
  return exitCodeFor(summary.cases.map((c) => c.verdict));
}

export function buildCli(): Command {
  const program = new Command("bootproof")
    .version(packageVersion(), "-V, --version", "print bootproof's version")
    .description("Proves machines really boot from volumes: real QEMU guests, real firmware, built-in storage servers.")
    // A usage error is bad input (exit 2, like every input error), never a product verdict:
    // commander throws instead of exiting, main() sets the code. One hint line, not the help.
    .exitOverride()
    .showHelpAfterError("(see `bootproof --help`, or `bootproof <command> --help`)");
  const kernelOption = (description: string) => new Option("--kernel <kernel>", description).choices(KERNEL_CHOICES);
  const accel = () =>
    new Option("--accel <accel>", "accelerator: tcg, kvm, or auto (the last `doctor` decision)")
      .choices(["tcg", "kvm", "auto"])
      .default("tcg");

  program
    .command("run")
    .argument("<scenario>", "built-in scenario name (see `bootproof list`) or path to a scenario module")
    .description("boot every case of a scenario and check its properties")
    .option("--print-qemu", "build the media and print the QEMU command of each boot instead of running it")
    .option("--example <name>", "run only this example")
    .option("--runs <n>", "number of generated cases (property mode)", integer("--runs", 1))
    .option("--seed <n>", "seed for generated cases", integer("--seed", 0))
    .option("--path <path>", "fast-check path of a counterexample to replay (with --seed)")
    .option("--jobs <n>", "guests booted at once", integer("--jobs", 1), 1)
    .option("--junit <file>", "write JUnit XML here")
    .option("--artifacts <dir>", "artifacts directory (default ./artifacts/<scenario>-<time>)")
    .option("--deadline <seconds>", "per-boot deadline", integer("--deadline", 1))
    .option("--no-shrink", "do not shrink failing generated cases")
    .option("--shard <i/n>", "run only slice i of n of the cases (same seed, same slices); merge with merge-reports", shardOption)
    .addOption(
      new Option(
        "--driver <driver>",
        "who decides the boots: real (the OpenStack code; default when installed) or model",
      ).choices(["real", "model"]),
    )
    .option("--nova-src <dir>", "test this Nova source tree instead of Debian's python3-nova (also $BOOTPROOF_NOVA_SRC)")
    .addOption(
      kernelOption(
        "the kernel the probe runs: fast (`bootproof kernel build`) or debian (default: $BOOTPROOF_KERNEL, else fast once built, else debian; `bootproof doctor` says which)",
      ),
    )
    .addOption(accel())
    .action(async (name: string, flags: RunFlags) => {
      process.exitCode = await runCommand(name, flags);
    });

  program
    .command("replay")
    .argument("<artifact-dir>", "a case directory from an earlier run (holds case.json)")
    .description("re-run one recorded case exactly")
    .option("--junit <file>", "write JUnit XML here")
    .option("--deadline <seconds>", "per-boot deadline", integer("--deadline", 1))
    .addOption(accel())
    .addOption(kernelOption("the kernel the probe runs (default: the one case.json records)"))
    .action(async (dir: string, flags: ReplayFlags) => {
      process.exitCode = await replayCommand(dir, flags);
    });

  program
    .command("list")
    .description("list the built-in scenarios")
    .action(() => {
      const width = Math.max(...Object.keys(BUILT_IN_SCENARIOS).map((name) => name.length)) + 2;
      for (const [name, entry] of Object.entries(BUILT_IN_SCENARIOS)) {
        const inUse = entry.drivers?.defaultDriver();
        const driver = entry.drivers
          ? `  [driver: ${inUse}${inUse === "model" ? `; install ${entry.drivers.realGroup} (doctor --fix) for the real one` : ""}]`
          : "";
        process.stdout.write(`${name.padEnd(width)}${entry.description}${driver}\n`);
      }
      process.stdout.write("\nnot bootable on this host (no scenario, nothing emulated):\n");
      for (const [name, reason] of Object.entries(NOT_BOOTABLE_HERE)) process.stdout.write(`${name.padEnd(width)}${reason}\n`);
    });

  program
    .command("doctor")
    .description(
      "check system packages, the guest kernels and the accelerator; --fix installs what is missing (root) and builds the fast probe kernel",
    )
    .option("--fix", "install missing Debian packages, download the guest kernel and build the fast probe kernel")
    .option("--no-accel-probe", "skip the KVM probe boot")
    .action(async (flags: { fix?: boolean; accelProbe: boolean }) => {
      const fix = flags.fix === true;
      const report = await runDoctor({
        fix,
        probeAccelerator: flags.accelProbe,
        buildFastKernel: async () => (await import("./kernel-build.js")).kernelBuildCommand({ fix }),
      });
      process.stdout.write(`${formatDoctorReport(report)}\n`);
      process.exitCode = report.ok ? 0 : 2;
    });

  program
    .command("kernel")
    .description("the fast probe kernel")
    .command("build")
    .description("build the fast probe kernel from Debian's linux-source-6.1 into the cache (installs the source as root)")
    .option("--jobs <n>", "make -j (default: the host's cores)", integer("--jobs", 1))
    .action(async (flags: { jobs?: number }) => {
      const { kernelBuildCommand } = await import("./kernel-build.js");
      await kernelBuildCommand({ fix: process.getuid?.() === 0, jobs: flags.jobs });
    });

  program
    .command("merge-reports")
    .description("merge the summaries of shards 1..n of one run (run --shard i/n) into one summary, JUnit and table")
    .argument("<dirs...>", "the shards' artifacts directories")
    .requiredOption("--out <dir>", "where the merged summary.json and junit.xml go")
    .option("--junit <file>", "JUnit XML path (default <out>/junit.xml)")
    .action(async (dirs: string[], flags: { out: string; junit?: string }) => {
      process.exitCode = await mergeReportsCommand(dirs, flags);
    });

  const serve = program.command("serve").description("run a built-in server standalone (until Ctrl-C)");
  serve
    .command("iscsi")
    .description("iSCSI target over image files")
    .option(
      "--lun <file[:ro]>",
      "a LUN backed by this file (repeat for LUN 0, 1, ...)",
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option("--iqn <iqn>", "target name", "iqn.2026-11.dev.bootproof:target")
    .option("--host <address>", "address to bind", "127.0.0.1")
    .option("--port <n>", "TCP port (0 = ephemeral)", integer("--port", 0), 3260)
    .option("--chap <user:secret>", "require CHAP (the secret is never printed)")
    .action(async (flags: ServeIscsiFlags) => {
      const { serveIscsi } = await import("./serve.js");
      await serveIscsi(flags);
    });
  serve
    .command("nfs")
    .description("NFSv3 server (with MOUNT and the port mapper on the same port) for directories")
    .option(
      "--export <dir[:ro]>",
      "export this directory as /export, /export2, ... (repeat; :ro for read-only)",
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option("--host <address>", "address to bind", "127.0.0.1")
    .option("--port <n>", "TCP and UDP port (0 = ephemeral)", integer("--port", 0), 0)
    .action(async (flags: ServeNfsFlags) => {
      const { serveNfs } = await import("./serve.js");
      await serveNfs(flags);
    });
  for (const [name, description, transport] of [
    ["tftp", "read-only TFTP server for a directory", "UDP"],
    ["http", "read-only HTTP/1.1 server for a directory (GET, HEAD, byte ranges)", "TCP"],
  ] as const) {
    serve
      .command(name)
      .description(description)
      .requiredOption("--root <dir>", "directory to serve")
      .option("--host <address>", "address to bind", "127.0.0.1")
      .option("--port <n>", `${transport} port (0 = ephemeral)`, integer("--port", 0), 0)
      .action(async (flags: { root: string; host: string; port: number }) => {
        const { serveHttp, serveTftp } = await import("./serve.js");
        await (name === "tftp" ? serveTftp : serveHttp)(flags);
      });
  }

  return program;
}

/**
 * A reader that goes away (`bootproof list | head -1`) must not crash a run that may have
 * guests to stop: output to it is dropped, the run goes on and exits with its own code.
 */
function tolerateClosedStdout(): void {
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE" && error.code !== "ERR_STREAM_DESTROYED") throw error;
  });
}

/** Commander "errors" that are a requested output (--help, --version), not a mistake; no command at all is one. */
const USAGE_OK = new Set(["commander.helpDisplayed", "commander.version"]);

export async function main(argv: string[]): Promise<void> {
  tolerateClosedStdout();
  // A signal to the npx process alone can end npm and leave bootproof running (emulator/launcher-watch.ts).
  const stopWatching = watchLauncher((launcher) =>
    stopEverything(130, `the npm process that launched bootproof (pid ${launcher.pid}) exited`),
  );
  try {
    await buildCli().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander printed the message (and the hint) already; --help and --version are no error.
      process.exitCode = USAGE_OK.has(error.code) ? 0 : 2;
      return;
    }
    const kind = error instanceof InputError ? "input error" : "infra-error";
    process.stderr.write(`bootproof: ${kind}: ${describeError(error)}\n`);
    process.exitCode = 2;
  } finally {
    stopWatching();
    await runAllCleanups();
  }
}
