// sahara-bfv in real guests: real Sahara writes the node group's Heat stack, bootproof does
// what Heat and Cinder would do with it, real Nova builds the server and writes the domain,
// libvirt defines it and the guest boots it. A boot-from-volume example boots the volume, an
// image-backed one the image; Sahara's two defects fail before any guest starts; and a
// generated run through the CLI with a fixed seed reports both by kind with replay commands
// that work.
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/run-scenario.js";
import { guestSerialOf, volumeRole } from "../../scenarios/sahara/case.js";
import { recordOf } from "../../scenarios/sahara/driver.js";
import { exampleNamed } from "../../scenarios/sahara/examples.js";
import { saharaBfvScenario } from "../../scenarios/sahara/index.js";
import { bootVolumeOf, dataVolumesOf } from "../../scenarios/sahara/static-properties.js";
import { realDriverSettings, useTempArtifacts } from "./temp-artifacts.js";

const BIN = resolve("bin/bootproof");
const artifactsDir = useTempArtifacts("bp-sahara-bfv-it");
const scenario = saharaBfvScenario();
const settings = realDriverSettings(artifactsDir);
const PROPERTIES = [
  "S0-sahara-writes-stack",
  "S1-heat-property-constraints",
  "S2-heat-parameters-declared",
  "S3-heat-references-resolve",
  "S4-heat-requests-match-spec",
  "S5-cinder-and-nova-build-it",
  "P1-boots-from-the-volume",
  "P2-data-volumes-follow-root",
  "P3-image-is-the-root",
];

async function runExample(example: string) {
  const summary = await runScenario(scenario, { ...settings(example), example });
  const [result] = summary.cases;
  const bootDir = join(summary.artifactsDir, `example-${example}`, "instance");
  return { result, bootDir };
}

describe("sahara-bfv: real Sahara, bootproof's Heat and Cinder, real Nova, real guests", () => {
  it("boot from volume: the guest boots the volume Heat made from the image, on vda at the flavor's size, the data volume after it", async () => {
    const { result, bootDir } = await runExample("bfv-seabios-pc");
    expect(result?.message ?? "").toBe("");
    expect(result?.verdict).toBe("pass");
    expect(result?.properties.map((p) => p.name)).toEqual(PROPERTIES);
    const record = recordOf(exampleNamed("bfv-seabios-pc"));
    const volume = bootVolumeOf(record)!;
    const observation = JSON.parse(await readFile(join(bootDir, "observation.json"), "utf8"));
    expect(observation.role).toBe(volumeRole(volume.id));
    expect(
      observation.blockDevices.map((d: { name: string; serial: string; sizeBytes: number }) => [d.name, d.serial, d.sizeBytes]),
    ).toEqual([
      ["vda", guestSerialOf(volume.id), 2 * 1024 ** 3],
      ["vdb", guestSerialOf(dataVolumesOf(record)[0]!.id), 1024 ** 3],
    ]);
    // What Sahara wrote, what Heat would do and what Nova was asked are in the artifacts.
    expect(await readFile(join(bootDir, "sahara-worker.yaml"), "utf8")).toMatch(/bootable_volume:\n {4}properties:\n {6}image: /);
    const request = JSON.parse(await readFile(join(bootDir, "nova-request.json"), "utf8"));
    expect(request.server.blockDeviceMapping).toEqual([
      { device_name: "vda", volume_id: volume.id, delete_on_termination: "True" },
    ]);
    expect(request.server.imageRef).toBe("");
    expect(await readFile(join(bootDir, "driver.xml"), "utf8")).toContain(`<serial>${volume.id}</serial>`);
  }, 300_000);

  it("image-backed: the guest boots the image from Nova's local disk", async () => {
    const { result, bootDir } = await runExample("image-backed-seabios-pc");
    expect(result?.message ?? "").toBe("");
    expect(result?.verdict).toBe("pass");
    const observation = JSON.parse(await readFile(join(bootDir, "observation.json"), "utf8"));
    expect(observation.role).toBe("image");
    expect(observation.blockDevices[0]).toMatchObject({ name: "vda", serial: null });
  }, 300_000);

  it("Sahara's defects fail before any guest starts: Heat would refuse the stack", async () => {
    for (const [example, property, heat] of [
      ["expected-failure-flavor-root-disk-0", "S1-heat-property-constraints", "size: 0 is out of range (min: 1, max: None)"],
      [
        "expected-failure-boot-volume-local-to-instance",
        "S2-heat-parameters-declared",
        "The Parameter (instance) was not provided.",
      ],
    ] as const) {
      const { result } = await runExample(example);
      expect(result?.verdict).toBe("fail");
      expect(result?.boots).toEqual([]);
      expect(result?.properties.filter((p) => !p.ok).map((p) => p.name)).toEqual([property]);
      expect(result?.message).toContain(heat);
      expect(result?.durationMs).toBeLessThan(20_000);
    }
  }, 120_000);

  it("a generated run with a fixed seed (CLI) boots real guests, reports both defects by kind and replays each by seed and path", async () => {
    const artifacts = artifactsDir("cli-generated");
    const run = await execa(BIN, ["run", "sahara-bfv", "--runs", "2", "--seed", "1", "--artifacts", artifacts], {
      reject: false,
      env: { CI: "true" },
      timeout: 420_000,
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/static sweep: 300 inputs .*S1-heat-property-constraints ×\d+, S2-heat-parameters-declared ×\d+/);
    expect(run.stdout).toMatch(/2 kind\(s\) of failure/);
    const summary = JSON.parse(await readFile(join(artifacts, "summary.json"), "utf8"));
    // The two generated cases Heat accepts boot real guests and pass.
    const generated = summary.cases.filter((c: { caseId: string }) => c.caseId.startsWith("case-"));
    expect(generated.map((c: { verdict: string }) => c.verdict)).toEqual(["pass", "pass"]);
    expect(generated.every((c: { boots: Array<{ status: string }> }) => c.boots[0]?.status === "observed")).toBe(true);
    const counterexamples = [summary.counterexample, ...(summary.counterexamples ?? [])];
    expect(counterexamples.map((c: { input: { nodeGroup: Record<string, unknown> } }) => c.input.nodeGroup)).toEqual([
      expect.objectContaining({
        bootFromVolume: true,
        flavor: expect.objectContaining({ diskGb: 0 }),
        bootVolumeLocalToInstance: false,
      }),
      expect.objectContaining({
        bootFromVolume: true,
        flavor: expect.objectContaining({ diskGb: 1 }),
        bootVolumeLocalToInstance: true,
      }),
    ]);
    for (const [counterexample, heat] of [
      [counterexamples[0], "0 is out of range (min: 1, max: None)"],
      [counterexamples[1], "The Parameter (instance) was not provided."],
    ] as const) {
      expect(counterexample.replayCommand).toMatch(/^npx bootproof run sahara-bfv --driver real --seed 1 --path \S+$/);
      expect(run.stdout).toContain(`replay: ${counterexample.replayCommand}`);
      const [, , ...args] = counterexample.replayCommand.split(" ");
      const replay = await execa(BIN, [...args, "--artifacts", artifactsDir(`replay-${counterexample.path}`)], {
        reject: false,
        env: { CI: "true" },
        timeout: 120_000,
      });
      expect(replay.exitCode).toBe(1);
      expect(replay.stdout).toMatch(/^FAIL\s+replay-001/m);
      expect(replay.stdout).toContain(heat);
    }
  }, 600_000);
});
