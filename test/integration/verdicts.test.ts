import { describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/run-scenario.js";
import { defineScenario } from "../../harness/scenario.js";
import smoke from "../../scenarios/smoke.js";
import { useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-verdicts-it");

const blankBootDisk = defineScenario<null>({
  name: "blank-boot-disk",
  description: "SeaBIOS with only an unbootable disk",
  examples: [{ name: "blank", input: null }],
  boots: () => [
    {
      name: "boot",
      topology: {
        machine: {
          name: "blank",
          rebootTimeoutMs: 0,
          drives: [{ id: "d", file: "" }],
          disks: [{ kind: "virtio-blk", id: "vda", drive: "d", bootIndex: 0, pciSlot: 5 }],
        },
        media: { d: { kind: "blank", sizeMiB: 1 } },
      },
    },
  ],
  properties: smoke.properties as never,
});

describe("non-pass verdicts", () => {
  it("a firmware with nothing to boot ends the run quickly as a fail, not a hang", async () => {
    const summary = await runScenario(blankBootDisk, {
      artifactsRoot: artifactsDir("blank"),
      accelerator: "tcg",
      jobs: 1,
      deadlineMs: 60_000,
    });
    const [result] = summary.cases;
    expect(result?.verdict).toBe("fail");
    expect(result?.boots[0]?.status).toBe("no-observation");
    expect(result?.boots[0]?.durationMs).toBeLessThan(30_000);
    expect(result?.message).toMatch(/never reached the probe/);
    expect(result?.message).toMatch(/the firmware said: .*No bootable device/);
  });

  it("a deadline that passes is a timeout naming the phase reached", async () => {
    const summary = await runScenario(smoke, {
      artifactsRoot: artifactsDir("timeout"),
      accelerator: "tcg",
      jobs: 1,
      example: "direct",
      // Shorter than any kernel's boot: the fast probe kernel reaches the probe in ~1.5 s.
      deadlineMs: 400,
    });
    const [result] = summary.cases;
    expect(result?.verdict).toBe("timeout");
    expect(result?.message).toMatch(/timed out: no observation before the deadline/);
    expect(result?.message).toMatch(/reached: (started|firmware|loader|kernel|probe)/);
  });
});
