// bootproof's own version, read from the package.json next to the code: sources, the tsc
// output (dist/harness/cli) and the bundle (dist/cli) sit at different depths below it.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function packageVersion(): string {
  for (let up = "../"; up.length <= 4 * 3; up += "../") {
    try {
      const text = readFileSync(fileURLToPath(new URL(`${up}package.json`, import.meta.url)), "utf8");
      const parsed = JSON.parse(text) as { name?: string; version?: string };
      if (parsed.name === "bootproof" && parsed.version) return parsed.version;
    } catch {
      // not at this depth
    }
  }
  return "unknown";
}
