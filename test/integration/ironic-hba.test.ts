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

describe("ironic-hba scenario 4 (real Ironic, the deploy agent's choice through ironic-lib)", () => {
  it.each(["bios-deploy-wwn-hint", "uefi-deploy-serial-hint"])(
    "%s: the ramdisk writes the image onto the hinted boot volume, no other disk, and the node boots it through the HBA",
    async (example) => {
      const summary = await runScenario(scenario, { ...settings(example), example });
      const [result] = summary.cases;
      expect(result?.message ?? "").toBe("");
      expect(result?.verdict).toBe("pass");
      expect(result?.boots.map((b) => [b.name, b.status])).toEqual([
        ["deploy-inventory", "observed"],
        ["deploy-write", "observed"],
        ["boot-deployed", "observed"],
      ]);
      const props = Object.fromEntries(result!.properties.map((p) => [p.name, p.ok]));
      expect(props).toMatchObject({
        "image-written-to-boot-volume": true,
        "deploy-writes-only-the-chosen-disk": true,
        "boots-deployed-image": true,
      });
    },
    300_000,
  );

  it("no hint, a 4 GiB local disk beside an 8 GiB volume: the agent's default writes the local disk, and the run fails naming it", async () => {
    const input = structuredClone(ironicHbaExamples.find((e) => e.name === "bios-deploy-wwn-hint")!.input);
    delete input.rootDevice;
    const summary = await runScenario({ ...scenario, examples: [{ name: "no-hint", input }] }, settings("no-hint"));
    const [result] = summary.cases;
    expect(result?.verdict).toBe("fail");
    expect(result?.message).toMatch(
      /image-written-to-boot-volume: the deploy agent chose \/dev\/vda, local disk 0 \(4 GiB, serial LOCAL0SSD\), by its default, the smallest disk of at least 4 GiB; .*Ironic gave the agent no root device hint naming it/,
    );
    // The agent wrote where it chose and nowhere else; the node then found nothing to boot on its LU.
    const props = Object.fromEntries(result!.properties.map((p) => [p.name, p.ok]));
    expect(props["deploy-writes-only-the-chosen-disk"]).toBe(true);
    expect(result?.message).toMatch(/boots-deployed-image: the node's HBA BIOS booted nothing from the boot_index 0 volume/);
  }, 300_000);

  it("the agent's matcher is ironic-lib's: hints by wwn, serial and size, the 4 GiB default, and a malformed hint", async () => {
    const { agentRootDevice } = await import("../../harness/openstack/ironic.js");
    const disk = (name: string, sizeGiB: number, serial: string, wwn: string | null) => ({
      name,
      size: sizeGiB * 1024 ** 3,
      model: null,
      vendor: null,
      serial,
      wwn,
      wwn_with_extension: wwn,
      wwn_vendor_extension: null,
      hctl: null,
      by_path: null,
    });
    const devices = [
      disk("/dev/sda", 8, "SAN1", "0x6005076801800a02"),
      disk("/dev/vda", 2, "L0", null),
      disk("/dev/vdb", 4, "L1", null),
    ];
    expect((await agentRootDevice({ devices, properties_root_device: { wwn: "0x6005076801800a02" } })).device).toBe("/dev/sda");
    expect(
      (
        await agentRootDevice({
          devices,
          instance_info_root_device: { serial: "L1" },
          properties_root_device: { serial: "SAN1" },
        })
      ).device,
    ).toBe("/dev/vdb");
    expect((await agentRootDevice({ devices, properties_root_device: { size: ">= 5" } })).device).toBe("/dev/sda");
    expect(await agentRootDevice({ devices })).toEqual({ rule: "smallest-disk-of-at-least-4-GiB", device: "/dev/vdb" });
    expect((await agentRootDevice({ devices, properties_root_device: { serial: "nope" } })).device).toBeNull();
    const malformed = await agentRootDevice({ devices, properties_root_device: { size: "huge" } });
    expect(malformed.device).toBeNull();
    expect(malformed.error?.message).toMatch(/size/);
  }, 120_000);
});
