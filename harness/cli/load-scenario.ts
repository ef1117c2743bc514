// Resolves a scenario argument: a built-in name, or a path to a module whose default export
// is a scenario (a scenario author's one small file).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { BUILT_IN_SCENARIOS } from "../../scenarios/index.js";
import { InputError } from "../errors.js";
import type { Scenario } from "../scenario.js";

export async function loadScenario(nameOrPath: string): Promise<Scenario<unknown>> {
  const builtIn = BUILT_IN_SCENARIOS[nameOrPath];
  if (builtIn) return (await builtIn.load()).default as Scenario<unknown>;
  const path = resolve(nameOrPath);
  if (!/[/\\.]/.test(nameOrPath) || !existsSync(path)) {
    throw new InputError(
      `unknown scenario '${nameOrPath}': use one of ${Object.keys(BUILT_IN_SCENARIOS).join(", ")} (see \`bootproof list\`) or a path to a scenario module (.js)`,
    );
  }
  const module = (await import(pathToFileURL(path).href)) as { default?: Scenario<unknown> };
  const scenario = module.default;
  if (!scenario || typeof scenario.boots !== "function" || !Array.isArray(scenario.properties)) {
    throw new InputError(
      `${path} does not default-export a scenario: export default defineScenario({ name, boots, properties, ... })`,
    );
  }
  return scenario;
}

/**
 * How records and replay commands name a scenario so that a later `bootproof replay` or
 * `bootproof run` finds it again from anywhere: the built-in name, or the module's absolute path.
 */
export function scenarioReference(nameOrPath: string): string {
  return BUILT_IN_SCENARIOS[nameOrPath] ? nameOrPath : resolve(nameOrPath);
}
