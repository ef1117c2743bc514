// Where the workers' Python files are. They ship in the package's harness/openstack/python
// folder; compiled code (dist/harness/openstack/) and the bundled CLI (dist/cli/) look for
// them by walking up from their own location, like the probe's init.sh.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InfraError } from "../errors.js";

let found: string | undefined;

/** Absolute path of a file in harness/openstack/python/. */
export function workerPythonFile(name: string): string {
  if (!found) {
    const candidates: string[] = [fileURLToPath(new URL("./python/", import.meta.url))];
    for (let up = "../"; up.length <= 5 * 3; up += "../")
      candidates.push(fileURLToPath(new URL(`${up}harness/openstack/python/`, import.meta.url)));
    found = candidates.find((dir) => existsSync(`${dir}bootproof_worker.py`));
    if (!found)
      throw new InfraError(
        `bootproof's Python worker files are missing (looked in ${candidates.join(", ")}); reinstall bootproof`,
      );
  }
  return `${found}${name}`;
}

/** The directory itself (put on the workers' PYTHONPATH so they can import bootproof_worker). */
export function workerPythonDir(): string {
  return workerPythonFile("");
}
