// One case: an input → its boots (each prepared, booted, observed) → properties → verdict.
// Static properties run first: a case they refute never boots a guest.

import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Accelerator } from "../../emulator/argv.js";
import type { BootPhase } from "../../emulator/console.js";
import { registerTempDir } from "../../emulator/reaper.js";
import type { KernelChoice } from "../../firmware/kernel/choice.js";
import type { MediaSpec } from "../../firmware/media/spec.js";
import { prepareBoot } from "../boot/prepare.js";
import { type BootResult, bootFailureDetail, runBoot } from "../boot/run-boot.js";
import { describeError, InfraError, InputError, type Verdict } from "../errors.js";
import type { DomainBootResult } from "../libvirt/boot.js";
import { redactCredentials } from "../report/redact.js";
import {
  type AnyBootRecord,
  type AnyScenario,
  type AnyTopology,
  type BootPlan,
  type BootRecord,
  type DomainTopology,
  type GuestEndpoints,
  isDomainTopology,
  type PropertyOutcome,
  resolveTopology,
  type Topology,
} from "../scenario.js";
import type { ServiceLogLine } from "../services/start.js";

export interface PropertyResult extends PropertyOutcome {
  name: string;
  /** "static" checks ran without booting. */
  layer: "static" | "boot";
}

export interface BootSummary {
  name: string;
  status: BootResult["status"] | "not-run";
  durationMs: number;
  /** QEMU's lifetime in ms since bootproof's process started: what the harness adds is outside it. */
  qemuWindow?: BootResult["qemuWindow"];
  phase: BootPhase;
  artifactDir: string;
  commandLine?: string;
  detail?: string;
  /** Time spent in libvirt (define, command line, undefine) for this boot, when it ran a domain. */
  libvirtMs?: number;
}

export interface CaseResult {
  caseId: string;
  verdict: Verdict;
  /** The input as recorded: credentials replaced (report/redact.ts). */
  input: unknown;
  /** Set when credentials were removed from `input`: replay must take the input from the scenario. */
  inputRedacted?: true;
  boots: BootSummary[];
  properties: PropertyResult[];
  /** One-paragraph explanation for anything but pass. */
  message?: string;
  durationMs: number;
  /** Time the scenario took to decide the boots (a real driver's worker and libvirt's define). */
  planMs?: number;
}

export type CaseEvent =
  | { kind: "boot-start"; caseId: string; boot: string }
  | { kind: "boot-phase"; caseId: string; boot: string; phase: BootPhase }
  | { kind: "boot-end"; caseId: string; boot: string; status: BootSummary["status"]; durationMs: number };

export interface CaseOptions {
  caseId: string;
  artifactDir: string;
  accelerator?: Accelerator;
  deadlineMs?: number;
  /** The kernel every boot's probe runs (resolved by runScenario). */
  kernel?: KernelChoice;
  onEvent?: (event: CaseEvent) => void;
}

export async function planBoots<Input>(scenario: AnyScenario<Input>, input: Input): Promise<BootPlan[]> {
  try {
    return await scenario.boots(input);
  } catch (error) {
    // A real driver's worker failing is the harness's problem, reported as it is.
    if (error instanceof InfraError && !(error instanceof InputError)) throw error;
    throw new InputError(`scenario '${scenario.name}' could not turn the input into boots: ${describeError(error)}`);
  }
}

export function runStaticProperties<Input>(scenario: AnyScenario<Input>, input: Input, plans: BootPlan[]): PropertyResult[] {
  const topologies: Record<string, AnyTopology> = Object.fromEntries(plans.map((p) => [p.name, resolveTopology(p)]));
  return (scenario.staticProperties ?? []).map((property) => {
    try {
      return { name: property.name, layer: "static" as const, ...property.check(input, topologies) };
    } catch (error) {
      return { name: property.name, layer: "static" as const, ok: false, message: `the check threw: ${describeError(error)}` };
    }
  });
}

export async function runCase<Input>(scenario: AnyScenario<Input>, input: Input, options: CaseOptions): Promise<CaseResult> {
  const started = Date.now();
  const recorded = redactCredentials(input);
  let planMs: number | undefined;
  const finish: Finish = (verdict, boots, properties, message) => ({
    caseId: options.caseId,
    verdict,
    input: recorded.value,
    ...(recorded.redacted ? { inputRedacted: true as const } : {}),
    boots,
    properties,
    message,
    durationMs: Date.now() - started,
    ...(planMs !== undefined ? { planMs } : {}),
  });

  let plans: BootPlan[];
  try {
    const planStarted = performance.now();
    plans = await planBoots(scenario, input);
    planMs = Math.round(performance.now() - planStarted);
  } catch (error) {
    return finish("infra-error", [], [], describeError(error));
  }
  try {
    return await bootAndJudge(scenario, input, plans, options, finish);
  } finally {
    // Whatever the verdict: what the boots shared (case volumes) is freed once the case is judged.
    await Promise.allSettled(plans.map(async (p) => p.release?.()));
  }
}

type Finish = (verdict: Verdict, boots: BootSummary[], properties: PropertyResult[], message?: string) => CaseResult;

/** The static properties, the boots in order, then the boot properties: the case's verdict. */
async function bootAndJudge<Input>(
  scenario: AnyScenario<Input>,
  input: Input,
  plans: BootPlan[],
  options: CaseOptions,
  finish: Finish,
): Promise<CaseResult> {
  const staticResults = runStaticProperties(scenario, input, plans);
  const staticFailures = staticResults.filter((r) => !r.ok);
  const bootable = plans.every((p) => {
    const topology = resolveTopology(p);
    return !isDomainTopology(topology) || topology.defined !== null;
  });
  if (staticFailures.length > 0 && !(scenario.bootDespiteStaticFailures && bootable)) {
    return finish("fail", [], staticResults, staticFailures.map((f) => `${f.name}: ${f.message ?? "false"}`).join("\n"));
  }

  const records: Record<string, AnyBootRecord> = {};
  const summaries: BootSummary[] = [];
  for (const plan of plans) {
    const artifactDir = join(options.artifactDir, plan.name);
    // A domain the driver refused, with every static check passed: the refusal was the right
    // answer (the static properties judged it), and there is no guest to boot.
    const planned = resolveTopology(plan);
    if (isDomainTopology(planned) && planned.defined === null) continue;
    try {
      await plan.before?.(records);
    } catch (error) {
      const detail = `boot '${plan.name}': preparing it failed: ${describeError(error)}`;
      summaries.push({ name: plan.name, status: "infra-error", durationMs: 0, phase: "started", artifactDir, detail });
      return finish("infra-error", summaries, staticResults, detail);
    }
    if (plan.runIf && !plan.runIf(records)) {
      summaries.push({ name: plan.name, status: "not-run", durationMs: 0, phase: "started", artifactDir });
      continue;
    }
    options.onEvent?.({ kind: "boot-start", caseId: options.caseId, boot: plan.name });
    let result: BootOutcome;
    let serviceLog: ServiceLogLine[] = [];
    try {
      ({ result, serviceLog } = await bootWithServices(plan, artifactDir, options));
    } catch (error) {
      const summary: BootSummary = {
        name: plan.name,
        status: "infra-error",
        durationMs: 0,
        phase: "started",
        artifactDir,
        detail: describeError(error),
      };
      options.onEvent?.({ kind: "boot-end", caseId: options.caseId, boot: plan.name, status: "infra-error", durationMs: 0 });
      summaries.push(summary);
      return finish("infra-error", summaries, staticResults, `boot '${plan.name}': ${describeError(error)}`);
    }
    options.onEvent?.({
      kind: "boot-end",
      caseId: options.caseId,
      boot: plan.name,
      status: result.status,
      durationMs: result.durationMs,
    });
    summaries.push({
      name: plan.name,
      status: result.status,
      durationMs: result.durationMs,
      qemuWindow: result.qemuWindow,
      phase: result.phase,
      artifactDir,
      commandLine: result.commandLine,
      ...(result.kind === "domain" ? { libvirtMs: result.libvirtMs } : {}),
      detail: result.status === "infra-error" ? result.error : result.status === "no-observation" ? result.reason : undefined,
    });
    const services = serviceLog.length ? `\n  services:\n${serviceLog.map((l) => `    ${l.service}: ${l.text}`).join("\n")}` : "";
    if (result.status === "infra-error") {
      return finish(
        "infra-error",
        summaries,
        staticResults,
        `boot '${plan.name}': ${result.error}\n${bootFailureDetail(result)}${services}`,
      );
    }
    if (result.status === "timeout") {
      return finish(
        "timeout",
        summaries,
        staticResults,
        `boot '${plan.name}' timed out: no observation before the deadline\n${bootFailureDetail(result)}${services}`,
      );
    }
    const common = {
      name: plan.name,
      observation: result.status === "observed" ? result.observation : null,
      failure: result.status === "no-observation" ? `${result.reason}${serviceFailures(serviceLog)}` : undefined,
      firmwareLog: result.firmwareLog,
      endpoints: result.endpoints,
      serviceLog: serviceLog.map((l) => `${l.service}: ${l.text}`),
      artifactDir,
    };
    if (result.kind === "domain") {
      records[plan.name] = { ...common, topology: result.topology, domain: result.domain };
      continue;
    }
    const record: BootRecord = {
      ...common,
      topology: result.topology,
      machine: result.machine,
      ...(result.nfsExports ? { nfsExports: result.nfsExports } : {}),
      ...(result.lunChanges ? { lunChanges: result.lunChanges } : {}),
      ...(result.servedMedia && Object.keys(result.servedMedia).length ? { servedMedia: result.servedMedia } : {}),
    };
    // Host-side evidence, once the guest and its servers are gone (what a case volume holds).
    if (plan.inspect) record.inspection = await plan.inspect(record);
    records[plan.name] = record;
  }
  for (const plan of plans.slice(summaries.length)) {
    summaries.push({
      name: plan.name,
      status: "not-run",
      durationMs: 0,
      phase: "started",
      artifactDir: join(options.artifactDir, plan.name),
    });
  }

  const bootResults: PropertyResult[] = scenario.properties.map((property) => {
    try {
      return { name: property.name, layer: "boot" as const, ...property.check(input, records) };
    } catch (error) {
      return { name: property.name, layer: "boot" as const, ok: false, message: `the check threw: ${describeError(error)}` };
    }
  });
  const properties = [...staticResults, ...bootResults];
  const failures = properties.filter((p) => !p.ok);
  if (failures.length === 0) return finish("pass", summaries, properties);
  const unobserved = Object.values(records).filter((r) => r.observation === null);
  // A property that already quotes why a boot never reached the probe says it once.
  const bootNotes = unobserved
    .filter((r) => !failures.some((f) => r.failure && f.message?.includes(r.failure)))
    .map((r) => `boot '${r.name}' never reached the probe: ${r.failure}`);
  return finish(
    "fail",
    summaries,
    properties,
    [...failures.map((f) => `${f.name}: ${f.message ?? "false"}`), ...bootNotes].join("\n"),
  );
}

type BootOutcome =
  | (BootResult & {
      kind: "machine";
      topology: Topology;
      endpoints: GuestEndpoints;
      nfsExports?: Record<string, Record<string, string>>;
      lunChanges?: BootRecord["lunChanges"];
      servedMedia?: BootRecord["servedMedia"];
    })
  | (DomainBootResult & { kind: "domain"; topology: DomainTopology; endpoints: GuestEndpoints });

/** Service events that explain a failed boot (a refused login says more than "no observation"). */
function serviceFailures(log: ServiceLogLine[]): string {
  const failures = log.filter((l) => /failed|reject|fault/.test(l.text));
  return failures.length ? `; ${failures.map((l) => `${l.service} ${l.text}`).join("; ")}` : "";
}

/**
 * One boot with its servers: TFTP first (the machine names its port), then the media, then
 * the iSCSI target over the built LUN images and the TFTP files, then QEMU. Servers and
 * the service temp dir are gone when this returns, whatever happened.
 */
async function bootWithServices(
  plan: BootPlan,
  artifactDir: string,
  options: CaseOptions,
): Promise<{ result: BootOutcome; serviceLog: ServiceLogLine[] }> {
  // Boots without servers skip the service layer entirely (no temp dir, no server code loaded).
  const serviceDir = plan.services ? await mkdtemp(join(tmpdir(), "bootproof-services-")) : undefined;
  const unregisterDir = serviceDir ? registerTempDir(serviceDir) : () => {};
  const services = serviceDir
    ? await (await import("../services/start.js")).startServices(plan.services, serviceDir)
    : {
        endpoints: {},
        log: [] as ServiceLogLine[],
        addIscsi: async () => {},
        nfsExports: async () => ({}),
        lunChanges: () => ({}),
        servedMedia: () => ({}),
        close: async () => {},
      };
  try {
    const resolved = resolveTopology(plan, services.endpoints);
    const bootOptions = {
      artifactDir,
      accelerator: options.accelerator,
      kernel: options.kernel,
      // An explicit --deadline wins over the scenario's own estimate for the boot.
      deadlineMs: options.deadlineMs ?? resolved.deadlineMs,
      giveUp: isDomainTopology(resolved) ? undefined : resolved.giveUp,
      onPhase: (phase: BootPhase) => options.onEvent?.({ kind: "boot-phase", caseId: options.caseId, boot: plan.name, phase }),
    };
    // After every service started: an artifact may name their endpoints (the iSCSI port).
    const writeArtifacts = async () => {
      if (!plan.artifacts) return;
      await mkdir(artifactDir, { recursive: true });
      for (const [name, content] of Object.entries(plan.artifacts(services.endpoints)))
        await writeFile(join(artifactDir, name), content);
    };
    if (isDomainTopology(resolved)) {
      await writeArtifacts();
      const { bootDomain } = await import("../libvirt/boot.js");
      const result = await bootDomain(resolved, bootOptions);
      return {
        result: { ...result, kind: "domain", topology: resolved, endpoints: { ...services.endpoints } },
        serviceLog: services.log,
      };
    }
    // A LU on a case volume has its content already: nothing to build.
    const lunMedia = (plan.services?.iscsi?.targets ?? []).map((t) => t.luns.map((l) => (l.volume ? undefined : l.media)));
    const toBuild = lunMedia.flat().filter((m): m is MediaSpec => m !== undefined);
    const prepared = await prepareBoot(resolved, toBuild, { kernel: options.kernel });
    let next = 0;
    await services.addIscsi(
      lunMedia.map((luns) => luns.map((m) => (m ? prepared.extraMediaPaths[next++]! : ""))),
      prepared.payload,
      // Served media carry the probe built for this machine, like its LUs (the probe is cached).
      async (spec) => (await prepareBoot(resolved, [spec], { kernel: options.kernel })).extraMediaPaths[0]!,
    );
    // A machine that names the iSCSI target's port (a host forward to it) is known only now;
    // its media are the same and come from the cache.
    const topology = resolveTopology(plan, services.endpoints) as Topology;
    const machine =
      JSON.stringify(topology.machine) === JSON.stringify(resolved.machine)
        ? prepared.machine
        : (await prepareBoot(topology, [], { kernel: options.kernel })).machine;
    await writeArtifacts();
    const result = await runBoot(machine, bootOptions);
    if (services.log.length) {
      await writeFile(
        join(artifactDir, "services.log"),
        services.log.map((l) => `[${(l.atMs / 1000).toFixed(3).padStart(9)}] ${l.service}: ${l.text}\n`).join(""),
      );
    }
    const nfsExports = plan.services?.nfs ? { nfsExports: await services.nfsExports() } : {};
    return {
      result: {
        ...result,
        kind: "machine",
        topology,
        endpoints: { ...services.endpoints },
        ...nfsExports,
        ...(plan.services?.iscsi ? { lunChanges: services.lunChanges() } : {}),
        servedMedia: services.servedMedia(),
      },
      serviceLog: services.log,
    };
  } finally {
    await services.close();
    if (serviceDir) await rm(serviceDir, { recursive: true, force: true });
    unregisterDir();
  }
}
