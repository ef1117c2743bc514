// ironic-hba on real Ironic, in real guests: Ironic's conductor code accepts the scenario 3
// node, attaches its FC volumes with the node's WWPNs, writes nothing and leaves the boot
// device at disk; the firmware boots the pre-populated LU through the HBA (SeaBIOS megasas and
// virtio-scsi with a data volume, OVMF virtio-scsi). A node with only Ironic's own capability
// name is accepted by Ironic and refused by the spec: the run fails, naming hba_boot.
import { describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/run-scenario.js";
import { ironicHbaExamples, ironicHbaScenario } from "../../scenarios/ironic-hba/index.js";
import { realDriverSettings, useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-ironic-hba-it");
const settings = realDriverSettings(artifactsDir);
const scenario = ironicHbaScenario();

describe("ironic-hba (real Ironic)", () => {
  it.each(["bios-virtio-scsi-data-volume", "bios-megasas", "uefi-virtio-scsi"])(
    "%s: Ironic boots the node from its FC volume and the firmware boots that LU through the HBA",
    async (example) => {
      const summary = await runScenario(scenario, { ...settings(example), example });
      const [result] = summary.cases;
      expect(result?.message ?? "").toBe("");
      expect(result?.verdict).toBe("pass");
      expect(result?.boots.map((b) => b.status)).toEqual(["observed"]);
    },
    300_000,
  );

  it("only fibre_channel_boot set: Ironic boots it, the spec's hba_boot condition says it must not", async () => {
    const input = structuredClone(ironicHbaExamples.find((e) => e.name === "bios-megasas")!.input);
    input.node.hbaBoot = undefined;
    const summary = await runScenario({ ...scenario, examples: [{ name: "no-hba-boot", input }] }, settings("no-hba-boot"));
    const [result] = summary.cases;
    expect(result?.verdict).toBe("fail");
    expect(result?.message).toMatch(/ironic-decision-matches-spec: Ironic accepted a node the spec refuses .*hba_boot=\(unset\)/);
    // The guest still boots what Ironic decided, and shows the same LU.
    expect(result?.boots.map((b) => b.status)).toEqual(["observed"]);
  }, 300_000);
});
