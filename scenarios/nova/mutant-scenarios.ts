// The mutants as runnable scenarios (same properties, same arbitrary, same examples), so the
// CLI can run and replay them like any scenario: `bootproof run nova-rescue-m1 --seed S`.
import type { Scenario } from "../../harness/scenario.js";
import { novaScenarioFor } from "./index.js";
import type { NovaRescueCase } from "./model.js";
import { novaMutants } from "./mutants.js";

export const NOVA_MUTANT_SCENARIOS: Record<string, Scenario<NovaRescueCase>> = Object.fromEntries(
  novaMutants.map(({ id, driver }) => {
    const name = `nova-rescue-${id.toLowerCase()}`;
    return [name, novaScenarioFor(driver, name)];
  }),
);
