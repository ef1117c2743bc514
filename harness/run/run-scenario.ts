// Runs a scenario: fixed examples, or fast-check-generated inputs with seed, shrinking and
// replay. Generated cases first run in parallel (--jobs); if one fails, fast-check replays
// the same seed sequentially to shrink, reusing every verdict already measured, so only
// the shrink candidates boot new guests. Reporters receive events; they never reach in here.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type fc from "fast-check";
import { type Accelerator, shellQuote } from "../../emulator/argv.js";
import { defaultKernelChoice, type KernelChoice } from "../../firmware/kernel/choice.js";
import { combineVerdicts, InfraError, InputError, type Verdict } from "../errors.js";
import { redactCredentials } from "../report/redact.js";
import type { AnyScenario } from "../scenario.js";
import { type CaseEvent, type CaseResult, type PropertyResult, planBoots, runCase, runStaticProperties } from "./run-case.js";

export interface RunSettings {
  /**
   * How a replay command names the scenario: a built-in name, or the path of the scenario
   * module it was loaded from (defaults to the scenario's name).
   */
  scenarioRef?: string;
  artifactsRoot: string;
  accelerator: Accelerator;
  jobs: number;
  deadlineMs?: number;
  /** Generated mode: number of inputs, seed, and an optional fast-check path to replay. */
  runs?: number;
  seed?: number;
  path?: string;
  /** Only run the example with this name. */
  example?: string;
  /** Shrink failing generated inputs (default on). */
  shrink?: boolean;
  /** Flags every replay command repeats (e.g. `--driver real --nova-src DIR`); also recorded in case.json. */
  replayFlags?: string[];
  /**
   * The kernel the probe runs: "fast" (built by `bootproof kernel build`) or "debian".
   * Default: fast once built, else debian; the resolved choice is recorded in summary.json
   * and case.json so a replay boots the same kernel.
   */
  kernel?: KernelChoice;
  /** Recorded in case.json so `bootproof replay` asks the same driver. */
  driver?: "real" | "model";
  novaSrc?: string;
  /** Inputs the boot-free static properties are checked on before any guest starts (default 1000). */
  staticRuns?: number;
  /** Further static failure kinds that get their own shrunk, booted counterexample (default 24). */
  kindCounterexamples?: number;
  /**
   * Run only shard `index` of `count` (1-based): case k of the run belongs to shard
   * (k mod count) + 1, examples and generated cases alike, so the same seed gives the same
   * partition. Every shard sweeps the static properties (boot-free, the same for all); shard 1
   * runs the counterexamples. Shrinking through real boots needs every shard's verdicts, so a
   * sharded run does not do it (merge-reports says how to).
   */
  shard?: Shard;
}

export type RunEvent =
  | { kind: "run-start"; scenario: string; mode: "examples" | "generated"; total: number; seed?: number }
  | { kind: "case-start"; caseId: string; index: number; total: number; phase: "run" | "shrink" }
  | CaseEvent
  | { kind: "case-end"; result: CaseResult; phase: "run" | "shrink" }
  | { kind: "run-end"; summary: RunSummary };

export interface Counterexample {
  caseId: string;
  seed: number;
  path: string;
  input: unknown;
  shrinkSteps: number;
  replayCommand: string;
}

export interface RunSummary {
  scenario: string;
  /** The kernel every boot's probe ran (RunSettings.kernel, resolved). */
  kernel?: KernelChoice;
  mode: "examples" | "generated";
  seed?: number;
  verdict: Verdict;
  cases: CaseResult[];
  counterexample?: Counterexample;
  /**
   * For a real driver that fails the sweep in several ways: one shrunk counterexample per
   * further kind of static failure (the main counterexample covers the first), each booted.
   */
  counterexamples?: Array<Counterexample & { property: string; kind: string }>;
  /** The boot-free sweep before any guest: how many inputs and how fast. */
  staticSweep?: {
    runs: number;
    durationMs: number;
    casesPerSecond: number;
    failed: boolean;
    /** How many swept inputs failed, and how often each static property did (full sweeps only). */
    failedInputs?: number;
    failuresByProperty?: Record<string, number>;
    /**
     * The distinct ways the sweep failed (messages with their numbers, ids and quoted values
     * folded together), most frequent first, each with its first message as it was.
     */
    failureKinds?: StaticFailureKind[];
  };
  durationMs: number;
  artifactsDir: string;
  /** Set for a sharded run: which slice of the cases this summary holds. */
  shard?: Shard;
  /** A merged summary: where each case's artifacts are (its shard's directory). */
  caseDirs?: Record<string, string>;
}

/** Further kinds of static failure that get their own shrunk, booted counterexample. */
const MAX_KIND_COUNTEREXAMPLES = 24;

export interface Shard {
  index: number;
  count: number;
}

/** Whether the case at `position` of the unsharded run belongs to this shard. */
export const ownsCase = (shard: Shard | undefined, position: number) => !shard || position % shard.count === shard.index - 1;

export interface StaticFailureKind {
  property: string;
  count: number;
  example: string;
}

/** A failure message with what varies between inputs folded: its kind. */
export function failureKindKey(message: string): string {
  return message
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, "<uuid>")
    .replace(/'[^']*'/g, "'…'")
    .replace(/iqn\.[^\s,;)]+/g, "<iqn>")
    .replace(/\b0x[0-9a-f]+\b/gi, "<n>")
    .replace(/\d+/g, "<n>");
}

type Emit = (event: RunEvent) => void;

/** Runs `tasks` with at most `jobs` in flight, preserving result order. */
async function pool<T>(count: number, jobs: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, count)) }, worker));
  return results;
}

const stableKey = (value: unknown) => JSON.stringify(value);

export async function runScenario<Input>(
  scenario: AnyScenario<Input>,
  settings: RunSettings,
  emit: Emit = () => {},
): Promise<RunSummary> {
  const started = Date.now();
  await mkdir(settings.artifactsRoot, { recursive: true });
  const generated =
    scenario.arbitrary !== undefined &&
    (settings.runs !== undefined || settings.seed !== undefined || !scenario.examples?.length);
  // Resolved once, so every case of the run (and its record) names the same kernel. A kernel
  // asked for explicitly is repeated in the `--seed --path` replay command; a default one is
  // not (the fidelity test shows both kernels observe the same machine), but case.json and
  // summary.json record it and `bootproof replay` boots it.
  const resolved: RunSettings = {
    ...settings,
    kernel: settings.kernel ?? (await defaultKernelChoice()),
    replayFlags: [...(settings.replayFlags ?? []), ...(settings.kernel ? ["--kernel", settings.kernel] : [])],
  };
  try {
    return await runScenarioCases(scenario, resolved, emit, started, generated);
  } finally {
    await scenario.close?.();
  }
}

async function runScenarioCases<Input>(
  scenario: AnyScenario<Input>,
  settings: RunSettings,
  emit: Emit,
  started: number,
  generated: boolean,
): Promise<RunSummary> {
  const caseOptions = (caseId: string) => ({
    caseId,
    artifactDir: join(settings.artifactsRoot, caseId),
    accelerator: settings.accelerator,
    deadlineMs: settings.deadlineMs,
    kernel: settings.kernel,
    onEvent: emit,
  });
  let summary: RunSummary;
  if (!generated) {
    const chosen = (scenario.examples ?? []).filter((e) => !settings.example || e.name === settings.example);
    if (chosen.length === 0) {
      throw new Error(
        settings.example
          ? `scenario '${scenario.name}' has no example '${settings.example}'; examples: ${(scenario.examples ?? []).map((e) => e.name).join(", ")}`
          : `scenario '${scenario.name}' has neither examples nor an arbitrary`,
      );
    }
    const examples = chosen.filter((_, position) => ownsCase(settings.shard, position));
    emit({ kind: "run-start", scenario: scenario.name, mode: "examples", total: examples.length });
    const cases = await pool(examples.length, settings.jobs, async (index) => {
      const example = examples[index]!;
      const caseId = `example-${example.name}`;
      emit({ kind: "case-start", caseId, index, total: examples.length, phase: "run" });
      const result = await runCase(scenario, example.input, caseOptions(caseId));
      await writeCaseRecord(settings.artifactsRoot, result, {
        ...originOf(scenario, settings),
        example: example.name,
      });
      emit({ kind: "case-end", result, phase: "run" });
      return result;
    });
    summary = {
      scenario: scenario.name,
      mode: "examples",
      verdict: combineVerdicts(cases.map((c) => c.verdict)),
      cases,
      durationMs: Date.now() - started,
      artifactsDir: settings.artifactsRoot,
      ...(settings.shard ? { shard: settings.shard } : {}),
    };
  } else {
    summary = await runGenerated(scenario, settings, emit, caseOptions);
    summary.durationMs = Date.now() - started;
  }
  if (settings.kernel) summary.kernel = settings.kernel;
  await writeFile(join(settings.artifactsRoot, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
  await (await import("../report/html.js")).writeHtmlReport(summary);
  emit({ kind: "run-end", summary });
  return summary;
}

async function runGenerated<Input>(
  scenario: AnyScenario<Input>,
  settings: RunSettings,
  emit: Emit,
  caseOptions: (caseId: string) => Parameters<typeof runCase>[2],
): Promise<RunSummary> {
  // fast-check is needed only here: example runs do not pay for loading it.
  const fc: typeof import("fast-check").default = (await import("fast-check")).default;
  const arbitrary = scenario.arbitrary!;
  const seed = settings.seed ?? Date.now() % 2 ** 31;
  const numRuns = settings.runs ?? 10;
  emit({ kind: "run-start", scenario: scenario.name, mode: "generated", total: settings.path ? 1 : numRuns, seed });

  const verdictsByInput = new Map<string, CaseResult>();
  const cases: CaseResult[] = [];
  const runOne = async (input: Input, caseId: string, index: number, phase: "run" | "shrink") => {
    const key = stableKey(input);
    const known = verdictsByInput.get(key);
    if (known) return known;
    emit({ kind: "case-start", caseId, index, total: numRuns, phase });
    const result = await runCase(scenario, input, caseOptions(caseId));
    verdictsByInput.set(key, result);
    cases.push(result);
    await writeCaseRecord(settings.artifactsRoot, result, { ...originOf(scenario, settings), seed });
    emit({ kind: "case-end", result, phase });
    return result;
  };

  const toCounterexample = async (details: fc.RunDetails<[Input]>, record = true): Promise<Counterexample | undefined> => {
    if (!details.failed || !details.counterexample) return undefined;
    const input = details.counterexample[0];
    const path = details.counterexamplePath ?? "";
    const counterexample: Counterexample = {
      caseId: verdictsByInput.get(stableKey(input))?.caseId ?? "?",
      seed,
      path,
      input: redactCredentials(input).value,
      shrinkSteps: details.numShrinks,
      replayCommand: `npx bootproof run ${shellQuote([scenarioRefOf(scenario, settings), ...(settings.replayFlags ?? [])])} --seed ${seed} --path ${path}`,
    };
    if (record)
      await writeFile(join(settings.artifactsRoot, "counterexample.json"), `${JSON.stringify(counterexample, null, 2)}\n`);
    return counterexample;
  };
  const finish = (counterexample?: Counterexample): RunSummary => ({
    scenario: scenario.name,
    mode: "generated",
    seed,
    verdict: combineVerdicts(cases.map((c) => c.verdict)),
    cases,
    counterexample,
    ...(kindCounterexamples.length ? { counterexamples: kindCounterexamples } : {}),
    ...(staticSweep ? { staticSweep } : {}),
    durationMs: 0,
    artifactsDir: settings.artifactsRoot,
    ...(settings.shard ? { shard: settings.shard } : {}),
  });

  let staticCounterexample: Counterexample | undefined;
  let staticSweep: RunSummary["staticSweep"];
  const kindCounterexamples: NonNullable<RunSummary["counterexamples"]> = [];
  // The sweep asks about the same inputs more than once (fast-check's first pass, the full
  // sample, each kind's shrink): a real driver answers each input once.
  const staticResultsByInput = new Map<string, PropertyResult[]>();
  const staticResultsOf = async (input: Input): Promise<PropertyResult[]> => {
    const key = stableKey(input);
    const known = staticResultsByInput.get(key);
    if (known) return known;
    const results = runStaticProperties(scenario, input, await planBoots(scenario, input));
    staticResultsByInput.set(key, results);
    return results;
  };
  /** The static failure kinds of one input (property + folded message). */
  const kindsOf = async (input: Input): Promise<string[]> =>
    (await staticResultsOf(input)).filter((r) => !r.ok).map((r) => `${r.name}\u0000${failureKindKey(r.message ?? "false")}`);
  if (!settings.path && scenario.staticProperties?.length) {
    // Phase 0: boot-free checks over many inputs of the same seed, in milliseconds. A driver
    // they refute is shrunk and reported without starting a single guest; the counterexample
    // path replays through the normal route (a case runs its static checks first).
    const staticRuns = Math.max(settings.staticRuns ?? scenario.staticRuns ?? 1000, numRuns);
    let infraFailure: unknown;
    const sweepStarted = performance.now();
    const staticDetails = await fc.check(
      fc.asyncProperty(arbitrary, async (input) => {
        // After the harness failed, the sweep's answers mean nothing: skip the rest fast
        // instead of restarting the worker for every remaining input.
        if (infraFailure) return true;
        try {
          return (await staticResultsOf(input)).every((r) => r.ok);
        } catch (error) {
          // A real driver's worker crashing is the harness failing, not a counterexample.
          if (error instanceof InfraError && !(error instanceof InputError)) {
            infraFailure ??= error;
            fc.pre(false);
          }
          return false; // the driver could not even plan the boots: a driver failure
        }
      }),
      { seed, numRuns: staticRuns },
    );
    if (infraFailure) throw infraFailure;
    let swept = staticDetails.numRuns + staticDetails.numShrinks;
    const failuresByProperty: Record<string, number> = {};
    const kinds = new Map<string, StaticFailureKind>();
    let failedInputs = 0;
    if (staticDetails.failed && scenario.bootDespiteStaticFailures) {
      // fast-check stops at the first counterexample; a real driver that fails often still
      // gets the whole sweep, so the report says how many inputs fail which check.
      swept = 0;
      for (const input of fc.sample(arbitrary, { seed, numRuns: staticRuns })) {
        swept++;
        const failed = (await staticResultsOf(input)).filter((r) => !r.ok);
        if (failed.length > 0) failedInputs++;
        for (const r of failed) {
          failuresByProperty[r.name] = (failuresByProperty[r.name] ?? 0) + 1;
          const message = r.message ?? "false";
          const key = `${r.name}\u0000${failureKindKey(message)}`;
          const kind = kinds.get(key) ?? { property: r.name, count: 0, example: message };
          kind.count++;
          kinds.set(key, kind);
        }
      }
    }
    const sweepMs = performance.now() - sweepStarted;
    staticSweep = {
      runs: swept,
      durationMs: Math.round(sweepMs),
      casesPerSecond: Math.round((swept / sweepMs) * 1000 * 10) / 10,
      failed: staticDetails.failed,
      ...(failedInputs > 0
        ? { failedInputs, failuresByProperty, failureKinds: [...kinds.values()].sort((a, b) => b.count - a.count) }
        : {}),
    };
    // The counterexamples are the unsharded run's first cases: shard 1's.
    if (staticDetails.failed && staticDetails.counterexample && !ownsCase(settings.shard, 0)) {
      if (!scenario.bootDespiteStaticFailures) return finish();
    } else if (staticDetails.failed && staticDetails.counterexample) {
      await runOne(staticDetails.counterexample[0], "static-counterexample", 0, "shrink");
      staticCounterexample = await toCounterexample(staticDetails);
      // A real driver's static failure is a prediction: the generated cases still boot, so
      // the guests show it (and everything else) in their own terms.
      if (!scenario.bootDespiteStaticFailures) return finish(staticCounterexample);
      // Every other way the driver failed gets its own shrunk counterexample, found and shrunk
      // on the same seed (so `--seed --path` replays it) and booted like the first.
      const covered = new Set(await kindsOf(staticDetails.counterexample[0]));
      const others = [...kinds.entries()]
        .filter(([key]) => !covered.has(key))
        .slice(0, settings.kindCounterexamples ?? MAX_KIND_COUNTEREXAMPLES);
      for (const [key, kind] of others) {
        const details = await fc.check(
          fc.asyncProperty(arbitrary, async (input) => !(await kindsOf(input)).includes(key)),
          { seed, numRuns: staticRuns },
        );
        if (!details.failed || !details.counterexample) continue;
        const n = kindCounterexamples.length + 1;
        const result = await runOne(
          details.counterexample[0],
          `static-counterexample-${String(n + 1).padStart(2, "0")}`,
          n,
          "shrink",
        );
        const found = await toCounterexample(details, false);
        // The shrunk input's own message says it in the smallest terms.
        const message = result.properties.find((p) => p.name === kind.property && !p.ok)?.message ?? kind.example;
        if (found) kindCounterexamples.push({ ...found, property: kind.property, kind: message });
      }
      if (kindCounterexamples.length)
        await writeFile(
          join(settings.artifactsRoot, "counterexamples.json"),
          `${JSON.stringify(kindCounterexamples, null, 2)}\n`,
        );
    }
  }

  if (!settings.path) {
    // Phase 1: the same inputs fast-check will generate for this seed, in parallel.
    const inputs = fc.sample(arbitrary, { seed, numRuns });
    const owned = inputs.map((_, index) => index).filter((index) => ownsCase(settings.shard, index));
    await pool(owned.length, settings.jobs, (n) => {
      const index = owned[n]!;
      return runOne(inputs[index]!, `case-${String(index + 1).padStart(3, "0")}`, index, "run");
    });
    if (staticCounterexample) return finish(staticCounterexample);
    // Shrinking through boots needs every shard's verdicts: the merged report says how.
    if (settings.shard) return finish();
    if (!cases.some((c) => c.verdict === "fail")) return finish();
  }

  // Phase 2 (or a replay): fast-check drives, shrinking through real boots. Inputs phase 1
  // already booted are answered from its verdicts; every new one is a shrink (or replay)
  // candidate with its own artifact directory. Infra errors and timeouts are not product
  // failures, so they are skipped (fc.pre) rather than shrunk.
  let candidates = 0;
  const property = fc.asyncProperty(arbitrary, async (input) => {
    const known = verdictsByInput.get(stableKey(input));
    const label = settings.path ? "replay" : "shrink";
    const result = known ?? (await runOne(input, `${label}-${String(++candidates).padStart(3, "0")}`, candidates - 1, "shrink"));
    fc.pre(result.verdict === "pass" || result.verdict === "fail");
    return result.verdict === "pass";
  });
  const details = await fc.check(property, {
    seed,
    numRuns,
    path: settings.path,
    endOnFailure: settings.shrink === false || settings.path !== undefined,
  });
  return finish(await toCounterexample(details));
}

/** Each case directory gets what `bootproof replay <dir>` needs to reproduce it exactly. */
const scenarioRefOf = (scenario: AnyScenario<unknown>, settings: RunSettings) => settings.scenarioRef ?? scenario.name;

const originOf = (scenario: AnyScenario<unknown>, settings: RunSettings): CaseOrigin => ({
  scenario: scenarioRefOf(scenario, settings),
  ...(settings.kernel ? { kernel: settings.kernel } : {}),
  ...(settings.driver ? { driver: settings.driver } : {}),
  ...(settings.novaSrc ? { novaSrc: settings.novaSrc } : {}),
});

/** Where a case came from: what `bootproof replay` needs to find its scenario and input again. */
export interface CaseOrigin {
  /** Built-in name or scenario module path (RunSettings.scenarioRef). */
  scenario: string;
  example?: string;
  seed?: number;
  /** The driver that decided the case, for scenarios with a real driver and a model. */
  driver?: "real" | "model";
  novaSrc?: string;
  /** The kernel the probe ran (RunSettings.kernel, resolved). */
  kernel?: KernelChoice;
}

/** A case directory's case.json. */
export type CaseRecord = CaseOrigin & CaseResult;

async function writeCaseRecord(root: string, result: CaseResult, origin: CaseOrigin): Promise<void> {
  const dir = join(root, result.caseId);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "case.json"), `${JSON.stringify({ ...origin, ...result } satisfies CaseRecord, null, 2)}\n`);
}
