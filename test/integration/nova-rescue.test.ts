// Nova rescue with stable devices on real guests: a fixed-seed property run of the correct
// driver (normal, rescue, unrescue boots per case), the floppy rescue proven from the
// firmware's own log, and a firmware gap (LSI under OVMF) coming out as a fail that names it.
import { describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/run-scenario.js";
import nova from "../../scenarios/nova/index.js";
import { useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-nova-it");

const settings = (name: string) => ({ artifactsRoot: artifactsDir(name), accelerator: "tcg" as const, jobs: 2 });

describe("nova-rescue", () => {
  it("the libvirt driver passes a fixed-seed property run on real boots", async () => {
    const summary = await runScenario(nova, { ...settings("seeded"), runs: 3, seed: 1 });
    const failures = summary.cases.filter((c) => c.verdict !== "pass").map((c) => `${c.caseId}: ${c.message}`);
    expect(failures).toEqual([]);
    expect(summary.cases).toHaveLength(3);
    for (const result of summary.cases) expect(result.boots.map((b) => b.status)).toEqual(["observed", "observed", "observed"]);
    // Nine boots plus, on a fresh cache, building every distinct medium once.
  }, 900_000);

  it("a floppy rescue is proven at the firmware level", async () => {
    const summary = await runScenario(nova, { ...settings("floppy"), example: "floppy-rescue-seabios" });
    const [result] = summary.cases;
    expect(result?.verdict).toBe("pass");
    const p2 = result?.properties.find((p) => p.name.startsWith("P2"));
    expect(p2?.proofLevel).toBe("firmware");
  });

  it("an LSI rescue disk under OVMF is a fail naming the firmware's limit, never a skip", async () => {
    const summary = await runScenario(nova, { ...settings("lsi-ovmf"), example: "expected-failure-lsi-rescue-under-ovmf" });
    const [result] = summary.cases;
    expect(result?.verdict).toBe("fail");
    expect(result?.message).toMatch(/OVMF has no LSI 53C895A driver/);
  });
});
