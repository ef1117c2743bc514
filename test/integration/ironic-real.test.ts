// ironic-iscsi on the real driver, in real guests: Debian's Ironic decides and writes the
// node's iPXE boot, bootproof serves Ironic's http_root over HTTP and its iSCSI target behind
// Cinder's portals, real iPXE boots it. The variants that cannot boot end in seconds with
// their reason (Ironic's script retries for ever), no secret reaches an artifact, and a
// generated run with a fixed seed reports what the sweep found in Ironic.
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/run-scenario.js";
import { realIronicScenario, realStalledTargetCase, realWrongChapCase } from "../../scenarios/ironic/real/index.js";
import { realDriverSettings, useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-ironic-real-it");
const settings = realDriverSettings(artifactsDir);
const scenario = realIronicScenario();

/** The examples' CHAP secrets (scenarios/ironic/real/index.ts): no artifact may hold one. */
const SECRETS = ["s3cret-for-node", "data-s3cret-22", "not-the-node-secret"];
function filesHoldingSecrets(dir: string): string {
  return spawnSync("grep", ["-rlF", ...SECRETS.flatMap((s) => ["-e", s]), dir], { encoding: "utf8" }).stdout;
}

describe("ironic-iscsi --driver real", () => {
  it.each(["bios", "uefi", "bios-chap-extra-volume"])(
    "%s: real Ironic's iPXE boot, over HTTP, boots the boot_index 0 volume and the iBFT says what Cinder said",
    async (example) => {
      const summary = await runScenario(scenario, { ...settings(example), example });
      const [result] = summary.cases;
      expect(result?.message ?? "").toBe("");
      expect(result?.verdict).toBe("pass");
      expect(result?.properties.map((p) => p.name)).toEqual([
        "ironic-decision-matches-spec",
        "cinder-attach-detach",
        "ipxe-script-matches-cinder",
        "booted-boot-index-0-volume",
        "ibft-matches-cinder",
        "secrets-not-in-artifacts",
      ]);
      const bootDir = join(summary.artifactsDir, `example-${example}`, "boot");
      // What Ironic wrote and what bootproof pointed at itself are recorded; the guest fetched
      // Ironic's files over HTTP and logged in through the portal Cinder named.
      const services = await readFile(join(bootDir, "services.log"), "utf8");
      expect(services).toMatch(/http: GET \/boot\.ipxe → 200/);
      expect(services).toMatch(/http: GET \/pxelinux\.cfg\/52-54-00-b0-07-01 → 200/);
      expect(await readFile(join(bootDir, "pointing.txt"), "utf8")).toMatch(/portal 10\.0\.2\.100:3260 .*guestfwd/);
      expect(await readFile(join(bootDir, "ironic-node-config.ipxe"), "utf8")).toMatch(/sanboot --no-describe/);
      const observation = JSON.parse(await readFile(join(bootDir, "observation.json"), "utf8"));
      expect(observation.ibft.target0["ip-addr"]).toBe("10.0.2.100");
      expect(filesHoldingSecrets(artifactsDir(example))).toBe("");
    },
    300_000,
  );

  it("a wrong CHAP secret ends within seconds: Ironic's script retries for ever, bootproof says so", async () => {
    const summary = await runScenario(
      { ...scenario, examples: [{ name: "wrong-chap", input: realWrongChapCase }] },
      settings("wrong-chap"),
    );
    const [result] = summary.cases;
    expect(result?.verdict).toBe("fail");
    expect(result?.durationMs).toBeLessThan(45_000);
    expect(result?.message).toMatch(/retries the SAN attach every 10 s without limit/);
    expect(result?.message).toMatch(/Failed to attach iSCSI volume\(s\), retrying in 10 seconds/);
    expect(result?.message).toMatch(/iscsi login failed/);
    expect(filesHoldingSecrets(artifactsDir("wrong-chap"))).toBe("");
  }, 300_000);

  it("a target that stalls its login is a timeout with how far the boot got and the injected stall", async () => {
    const summary = await runScenario(
      { ...scenario, examples: [{ name: "stalled", input: realStalledTargetCase }] },
      settings("stalled"),
    );
    const [result] = summary.cases;
    expect(result?.verdict).toBe("timeout");
    expect(result?.durationMs).toBeLessThan(45_000);
    expect(result?.message).toMatch(/reached: /);
    expect(result?.message).toMatch(/iscsi: fault injected: stall/);
  }, 300_000);

  it("a generated run with a fixed seed sweeps real Ironic, reports its defects by kind and replays by seed and path", async () => {
    const run = (kindCounterexamples: number) =>
      runScenario(scenario, { ...settings("generated"), runs: 2, seed: 4, staticRuns: 120, shrink: false, kindCounterexamples });
    const summary = await run(1);
    const sweep = summary.staticSweep!;
    expect(sweep.runs).toBe(120);
    expect(sweep.failedInputs).toBeGreaterThan(0);
    const kinds = (sweep.failureKinds ?? []).map((k) => `${k.property}: ${k.example}`).join("\n");
    // Real defects of Ironic 21.4.4 the sweep finds (docs/findings.md).
    expect(kinds).toMatch(/whose LUN iPXE reads as|which iPXE cannot parse/);
    expect(kinds).toMatch(/too many values to unpack|KeyError/);
    expect(summary.counterexample?.caseId).toBe("static-counterexample");
    expect(summary.counterexample?.replayCommand).toMatch(/^npx bootproof run ironic-iscsi --driver real --seed 4 --path \S+$/);
    // A second kind of failure gets its own shrunk counterexample, booted and replayable.
    expect(summary.counterexamples).toHaveLength(1);
    expect(summary.counterexamples?.[0]?.kind).not.toBe("");
    expect(summary.cases.map((c) => c.caseId)).toContain(summary.counterexamples?.[0]?.caseId);
    expect(summary.verdict).toBe("fail");
    // Same seed, same inputs, same answers from Ironic.
    const again = await run(0);
    expect(again.staticSweep?.failuresByProperty).toEqual(sweep.failuresByProperty);
    expect(again.counterexample?.input).toEqual(summary.counterexample?.input);
  }, 600_000);
});
