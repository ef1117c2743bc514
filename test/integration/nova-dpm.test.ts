// nova-dpm in real guests, the spec's open question answered: with the first target port
// down, the retrying driver boots the volume through the next WWPN; the driver that does not
// retry fails, and says which port was down.
import { describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/run-scenario.js";
import { novaDpmScenario } from "../../scenarios/nova-dpm/index.js";
import type { DpmDriverVariant } from "../../scenarios/nova-dpm/model.js";
import { useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-nova-dpm-it");

async function firstPortDown(variant: DpmDriverVariant) {
  const summary = await runScenario(novaDpmScenario(variant), {
    artifactsRoot: artifactsDir(variant),
    accelerator: "tcg",
    jobs: 1,
    example: "first-port-down",
  });
  return summary.cases[0];
}

describe("nova-dpm", () => {
  it("first target port down: the retrying driver boots through the next WWPN", async () => {
    const result = await firstPortDown("retry");
    expect(result?.message ?? "").toBe("");
    expect(result?.verdict).toBe("pass");
    expect(result?.boots.map((b) => b.status)).toEqual(["no-observation", "observed"]);
  }, 300_000);

  it("first target port down: the driver without a retry fails, naming the port", async () => {
    const result = await firstPortDown("no-retry");
    expect(result?.verdict).toBe("fail");
    expect(result?.message).toMatch(/boots-boot-index-0-volume: the partition never booted .*does not retry/);
    expect(result?.message).toMatch(/target port 500507680b214ac1 is down/);
  }, 300_000);
});
