// A per-file artifacts directory, created before the tests and removed after them.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

export function useTempArtifacts(prefix: string): (name: string) => string {
  let root = "";
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), `${prefix}-`));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });
  return (name) => join(root, name);
}

/** runScenario settings for a real-driver run in its own artifacts directory (TCG, one guest). */
export function realDriverSettings(artifactsDir: (name: string) => string) {
  return (name: string) => ({
    artifactsRoot: artifactsDir(name),
    accelerator: "tcg" as const,
    jobs: 1,
    driver: "real" as const,
    replayFlags: ["--driver", "real"],
  });
}
