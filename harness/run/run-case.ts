// One case: an input → its boots (each prepared, booted, observed) → properties → verdict.
// Static properties run first: a case they refute never boots a guest.
import { join } from "node:path";
import type { Accelerator } from "../../emulator/argv.js";
import type { BootPhase } from "../../emulator/console.js";
import { prepareMachine } from "../boot/prepare.js";
import { type BootResult, bootFailureDetail, runBoot } from "../boot/run-boot.js";
import { InputError, type Verdict, describeError } from "../errors.js";
import type { BootPlan, BootRecord, PropertyOutcome, Scenario, Topology } from "../scenario.js";

export interface PropertyResult extends PropertyOutcome {
  name: string;
  /** "static" checks ran without booting. */
  layer: "static" | "boot";
}

export interface BootSummary {
  name: string;
  status: BootResult["status"] | "not-run";
  durationMs: number;
  phase: BootPhase;
  artifactDir: string;
  commandLine?: string;
  detail?: string;
}

export interface CaseResult {
  caseId: string;
  verdict: Verdict;
  input: unknown;
  boots: BootSummary[];
  properties: PropertyResult[];
  /** One-paragraph explanation for anything but pass. */
  message?: string;
  durationMs: number;
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
  onEvent?: (event: CaseEvent) => void;
}

export function planBoots<Input>(scenario: Scenario<Input>, input: Input): BootPlan[] {
  try {
    return scenario.boots(input);
  } catch (error) {
    throw new InputError(`scenario '${scenario.name}' could not turn the input into boots: ${describeError(error)}`);
  }
}

export function runStaticProperties<Input>(scenario: Scenario<Input>, input: Input, plans: BootPlan[]): PropertyResult[] {
  const topologies: Record<string, Topology> = Object.fromEntries(plans.map((p) => [p.name, p.topology]));
  return (scenario.staticProperties ?? []).map((property) => {
    try {
      return { name: property.name, layer: "static" as const, ...property.check(input, topologies) };
    } catch (error) {
      return { name: property.name, layer: "static" as const, ok: false, message: `the check threw: ${describeError(error)}` };
    }
  });
}

export async function runCase<Input>(scenario: Scenario<Input>, input: Input, options: CaseOptions): Promise<CaseResult> {
  const started = Date.now();
  const finish = (verdict: Verdict, boots: BootSummary[], properties: PropertyResult[], message?: string): CaseResult => ({
    caseId: options.caseId,
    verdict,
    input,
    boots,
    properties,
    message,
    durationMs: Date.now() - started,
  });

  let plans: BootPlan[];
  try {
    plans = planBoots(scenario, input);
  } catch (error) {
    return finish("infra-error", [], [], describeError(error));
  }
  const staticResults = runStaticProperties(scenario, input, plans);
  const staticFailures = staticResults.filter((r) => !r.ok);
  if (staticFailures.length > 0) {
    return finish("fail", [], staticResults, staticFailures.map((f) => `${f.name}: ${f.message ?? "false"}`).join("\n"));
  }

  const records: Record<string, BootRecord> = {};
  const summaries: BootSummary[] = [];
  for (const plan of plans) {
    const artifactDir = join(options.artifactDir, plan.name);
    options.onEvent?.({ kind: "boot-start", caseId: options.caseId, boot: plan.name });
    let result: BootResult;
    try {
      const machine = await prepareMachine(plan.topology);
      result = await runBoot(machine, {
        artifactDir,
        accelerator: options.accelerator,
        deadlineMs: plan.topology.deadlineMs ?? options.deadlineMs,
        onPhase: (phase) => options.onEvent?.({ kind: "boot-phase", caseId: options.caseId, boot: plan.name, phase }),
      });
    } catch (error) {
      const summary: BootSummary = { name: plan.name, status: "infra-error", durationMs: 0, phase: "started", artifactDir, detail: describeError(error) };
      options.onEvent?.({ kind: "boot-end", caseId: options.caseId, boot: plan.name, status: "infra-error", durationMs: 0 });
      summaries.push(summary);
      return finish("infra-error", summaries, staticResults, `boot '${plan.name}': ${describeError(error)}`);
    }
    options.onEvent?.({ kind: "boot-end", caseId: options.caseId, boot: plan.name, status: result.status, durationMs: result.durationMs });
    summaries.push({
      name: plan.name,
      status: result.status,
      durationMs: result.durationMs,
      phase: result.phase,
      artifactDir,
      commandLine: result.commandLine,
      detail: result.status === "infra-error" ? result.error : result.status === "no-observation" ? result.reason : undefined,
    });
    if (result.status === "infra-error") {
      return finish("infra-error", summaries, staticResults, `boot '${plan.name}': ${result.error}\n${bootFailureDetail(result)}`);
    }
    if (result.status === "timeout") {
      return finish("timeout", summaries, staticResults, `boot '${plan.name}' timed out: no observation before the deadline\n${bootFailureDetail(result)}`);
    }
    records[plan.name] = {
      name: plan.name,
      topology: plan.topology,
      machine: result.machine,
      observation: result.status === "observed" ? result.observation : null,
      failure: result.status === "no-observation" ? result.reason : undefined,
      firmwareLog: result.firmwareLog,
    };
  }
  for (const plan of plans.slice(summaries.length)) {
    summaries.push({ name: plan.name, status: "not-run", durationMs: 0, phase: "started", artifactDir: join(options.artifactDir, plan.name) });
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
  const bootNotes = unobserved.map((r) => `boot '${r.name}' never reached the probe: ${r.failure}`);
  return finish("fail", summaries, properties, [...failures.map((f) => `${f.name}: ${f.message ?? "false"}`), ...bootNotes].join("\n"));
}
