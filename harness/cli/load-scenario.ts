// Resolves a scenario argument: a built-in name, or a path to a module whose default export
// is a scenario (a scenario author's one small file).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { BUILT_IN_SCENARIOS, type DriverKind, NOT_BOOTABLE_HERE, type ScenarioLoadOptions } from "../../scenarios/index.js";
import { realDriverGroups } from "../doctor/requirements.js";
import { InputError } from "../errors.js";
import type { Scenario } from "../scenario.js";

/** The driver a scenario will run with (undefined: the scenario has only one). */
export function resolvedDriver(nameOrPath: string, options: ScenarioLoadOptions = {}): DriverKind | undefined {
  const builtIn = BUILT_IN_SCENARIOS[nameOrPath];
  if (!builtIn?.drivers) {
    if (options.driver || options.novaSrc)
      throw new InputError(
        `scenario '${nameOrPath}' has a single driver; --driver and --nova-src apply to ${Object.entries(BUILT_IN_SCENARIOS)
          .filter(([, s]) => s.drivers)
          .map(([n]) => n)
          .join(", ")}`,
      );
    return undefined;
  }
  const driver = options.driver ?? builtIn.drivers.defaultDriver();
  if (driver === "model" && options.novaSrc) throw new InputError("--nova-src needs the real driver: drop --driver model");
  if (options.novaSrc && !realDriverGroups(builtIn.drivers.realGroup).includes("real-nova"))
    throw new InputError(`--nova-src is a Nova source tree; scenario '${nameOrPath}' is decided by ${builtIn.drivers.realGroup}`);
  return driver;
}

export async function loadScenario(nameOrPath: string, options: ScenarioLoadOptions = {}): Promise<Scenario<unknown>> {
  const builtIn = BUILT_IN_SCENARIOS[nameOrPath];
  if (builtIn) {
    const driver = resolvedDriver(nameOrPath, options);
    return (await builtIn.load({ ...options, driver })).default as Scenario<unknown>;
  }
  const unbootable = NOT_BOOTABLE_HERE[nameOrPath];
  if (unbootable) throw new InputError(`scenario '${nameOrPath}' cannot boot on this host: ${unbootable}`);
  if (options.driver || options.novaSrc) resolvedDriver(nameOrPath, options);
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
