// Building blocks every scenario's properties use: verdict values, finding a named boot, and
// a boot's observation or the failure that explains why there is none.
import type { Observation } from "../../firmware/observation.js";
import type { PropertyOutcome } from "../../harness/scenario.js";

export type ProofLevel = "guest" | "firmware";

export const pass = (proofLevel: ProofLevel = "guest"): PropertyOutcome => ({ ok: true, proofLevel });
export const fail = (message: string, proofLevel: ProofLevel = "guest"): PropertyOutcome => ({ ok: false, message, proofLevel });

/** True for a property outcome (a check gave up early), false for the value it asked for. */
export const isOutcome = (value: unknown): value is PropertyOutcome =>
  typeof value === "object" && value !== null && typeof (value as PropertyOutcome).ok === "boolean";

/** The boot named `name`, or an error saying which boots the scenario must produce. */
export function bootNamed<B>(boots: Record<string, B>, name: string, expected: readonly string[]): B {
  const boot = boots[name];
  if (!boot)
    throw new Error(`the properties need a boot named '${name}'; the scenario's boots() must produce ${expected.join(", ")}`);
  return boot;
}

/** The boot's observation, or the failure that explains why there is none. */
export function observedOrFailure(boot: {
  name: string;
  observation: Observation | null;
  failure?: string;
}): Observation | PropertyOutcome {
  return boot.observation ?? fail(`the ${boot.name} boot never reached the probe: ${boot.failure ?? "no observation"}`);
}
