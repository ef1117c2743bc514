// Ironic scenario 1 on real guests: iPXE (NIC ROM) → bootproof's TFTP → Ironic's script →
// sanboot from bootproof's iSCSI target, under SeaBIOS and OVMF; and the variants that must
// not pass: a wrong CHAP secret fails fast naming the login failure, a stalled target times
// out with the console tail.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/run-scenario.js";
import ironic, { stalledTargetCase, wrongChapCase } from "../../scenarios/ironic/index.js";
import { useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-ironic-it");

const settings = (name: string) => ({ artifactsRoot: artifactsDir(name), accelerator: "tcg" as const, jobs: 1 });

/** The scenario's CHAP secrets (scenarios/ironic/index.ts): no artifact may hold one. */
const SECRETS = ["s3cret-for-node", "target-s3cret-2", "not-the-node-secret"];
function filesHoldingSecrets(dir: string): string {
  return spawnSync("grep", ["-rlF", ...SECRETS.flatMap((s) => ["-e", s]), dir], { encoding: "utf8" }).stdout;
}

describe("ironic-iscsi", () => {
  it.each(["bios", "uefi", "bios-chap-extra-volume", "uefi-mutual-chap"])(
    "%s boots from the SAN and the iBFT matches the node",
    async (example) => {
      const summary = await runScenario(ironic, { ...settings(example), example });
      const [result] = summary.cases;
      expect(result?.message ?? "").toBe("");
      expect(result?.verdict).toBe("pass");
      expect(result?.properties.filter((p) => p.ok).map((p) => p.name)).toEqual([
        "booted-boot-index-0-volume",
        "ibft-initiator",
        "ibft-boot-target",
        "extra-volumes-hooked",
      ]);
      expect(filesHoldingSecrets(artifactsDir(example))).toBe("");
    },
  );

  it("a wrong CHAP secret is a fail within seconds that names the login failure", async () => {
    const scenario = { ...ironic, examples: [{ name: "wrong-chap", input: wrongChapCase }] };
    const summary = await runScenario(scenario, settings("wrong-chap"));
    const [result] = summary.cases;
    expect(result?.verdict).toBe("fail");
    expect(result?.durationMs).toBeLessThan(30_000);
    expect(result?.message).toMatch(/iscsi login failed: .*auth/i);
    expect(result?.message).toMatch(/Could not open SAN device|Failed to attach iSCSI volume/);
    expect(filesHoldingSecrets(artifactsDir("wrong-chap"))).toBe("");
  });

  it("a target that stalls is a timeout with the console tail, not a hang", async () => {
    const scenario = { ...ironic, examples: [{ name: "stalled", input: stalledTargetCase }] };
    const summary = await runScenario(scenario, settings("stalled"));
    const [result] = summary.cases;
    expect(result?.verdict).toBe("timeout");
    expect(result?.message).toMatch(/reached: firmware/);
    expect(result?.message).toMatch(/\| boot\.ipxe : \d+ bytes \[script\]/);
    expect(result?.message).toMatch(/iscsi: fault injected: stall/);
  });
});
