// Verdicts other than pass, on real guests: a machine whose firmware finds nothing to boot
// is a `fail` (QEMU exits through -no-reboot, no observation), a deadline that is too short
// is a `timeout` that says how far the boot got.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/run-scenario.js";
import { defineScenario } from "../../harness/scenario.js";
import smoke from "../../scenarios/smoke.js";

let artifacts: string;
beforeAll(async () => {
  artifacts = await mkdtemp(join(tmpdir(), "bp-verdicts-it-"));
});
afterAll(async () => {
  await rm(artifacts, { recursive: true, force: true });
});

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
      artifactsRoot: join(artifacts, "blank"),
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
      artifactsRoot: join(artifacts, "timeout"),
      accelerator: "tcg",
      jobs: 1,
      example: "direct",
      deadlineMs: 4_000,
    });
    const [result] = summary.cases;
    expect(result?.verdict).toBe("timeout");
    expect(result?.message).toMatch(/timed out: no observation before the deadline/);
    expect(result?.message).toMatch(/reached: (started|firmware|loader|kernel|probe)/);
  });
});
