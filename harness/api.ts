// bootproof as a library: `import { defineScenario, runScenario } from "bootproof"`. The entry
// points a TypeScript author needs to define a scenario, run it (or one boot) from code, and
// report the result; everything else is internal and may change.
//
//   const summary = await runScenario(myScenario, { artifactsRoot: "artifacts/x", accelerator: "tcg", jobs: 1 });
//   process.stdout.write(renderSummary(summary));

export type { MachineInput } from "../emulator/machine.js";
export type { MediaSpec } from "../firmware/media/spec.js";
export type { Observation } from "../firmware/observation.js";
/** The built-in scenarios, by name, as `bootproof list` shows them. */
export { BUILT_IN_SCENARIOS } from "../scenarios/index.js";
export { prepareMachine } from "./boot/prepare.js";
export { type BootOptions, type BootResult, runBoot } from "./boot/run-boot.js";
/** Errors, with their taxonomy: bad input, the harness or host (infra), verdicts. */
export { combineVerdicts, exitCodeFor, InfraError, InputError, type Verdict } from "./errors.js";
export { renderJunit } from "./report/junit.js";
export { redactCredentials } from "./report/redact.js";

/** Reporters consume a run's events and its summary. */
export { createTerminalReporter, renderSummary } from "./report/terminal.js";
export { mergeShardSummaries } from "./run/merge.js";
export { type CaseResult, runCase } from "./run/run-case.js";
/** Running: a whole scenario (examples or generated, shrinking, replay), one case, one boot. */
export {
  type Counterexample,
  type RunEvent,
  type RunSettings,
  type RunSummary,
  runScenario,
  type Shard,
  type StaticFailureKind,
} from "./run/run-scenario.js";
/** Scenarios: data plus functions (see README "Writing a scenario"). */
export {
  type AnyBootRecord,
  type BootPlan,
  type BootRecord,
  type DomainBootRecord,
  defineScenario,
  type GiveUpRule,
  type GuestEndpoint,
  type GuestEndpoints,
  type IscsiLunPlan,
  type IscsiTargetPlan,
  type Property,
  type PropertyOutcome,
  type Scenario,
  type ServedFile,
  type ServicesPlan,
  type StaticProperty,
  type Topology,
} from "./scenario.js";
