// HBA-attached SAN LUs in a real guest: one LU served by bootproof's iSCSI target through
// QEMU's own initiator on two target ports (two paths on one virtio-scsi HBA, the same WWN,
// each its own WWPN). The probe must report both paths with their identities and the one
// the firmware booted; with one target port down only the other path exists and boots.
import { describe, expect, it } from "vitest";
import { runCase } from "../../harness/run/run-case.js";
import { type BootRecord, defineScenario } from "../../harness/scenario.js";
import { type SanFabric, sanServices, sanTopology } from "../../scenarios/common/san-fabric.js";
import { observedSanPaths } from "../../scenarios/common/san-observed.js";
import { useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-san-hba-it");
const LU_WWN = "6005076801234567";
const PORTS = ["500507680b214ac1", "500507680b244ac0"];

const fabric = (down: boolean): SanFabric => ({
  machineName: "san-hba",
  firmware: "seabios",
  iqn: "iqn.2024-01.dev.bootproof:san",
  lus: [{ id: "boot", lun: 0, wwn: LU_WWN, media: { kind: "bios-disk", role: "san-boot" } }],
  ports: PORTS.map((wwpn) => ({ wwpn })),
  hbas: [{ id: "hba0", kind: "virtio-scsi-pci", pciSlot: 5 }],
  paths: [
    { hba: "hba0", lu: "boot", port: 0, bootIndex: 0 },
    { hba: "hba0", lu: "boot", port: 1, bootIndex: 1 },
  ],
  pathFaults: down ? [{ portal: 0, kind: "down" }] : [],
  deadlineMs: 90_000,
});

let seen: BootRecord | undefined;
const scenario = defineScenario<boolean>({
  name: "san-hba",
  description: "two paths to one LU",
  boots: (down) => [{ name: "boot", services: sanServices(fabric(down)), topology: sanTopology(fabric(down)) }],
  properties: [
    {
      name: "record",
      description: "keeps the boot for the test",
      check: (_down, boots) => {
        seen = boots.boot;
        return { ok: true };
      },
    },
  ],
});

describe("SAN LUs behind an HBA", () => {
  it("reports each path's LU WWN, target port and H:C:T:L, and the booted path; a down port leaves only the other", async () => {
    const both = await runCase(scenario as never, false as never, { caseId: "both", artifactDir: artifactsDir("both") });
    expect(both.message ?? "").toBe("");
    expect(seen?.observation?.role).toBe("san-boot");
    expect(observedSanPaths(seen!.observation!)).toEqual([
      expect.objectContaining({
        lunWwn: LU_WWN,
        targetPortWwn: PORTS[0],
        relativeTargetPort: 1,
        hctl: "2:0:0:0",
        pciBdf: "00:05.0",
        booted: true,
      }),
      expect.objectContaining({
        lunWwn: LU_WWN,
        targetPortWwn: PORTS[1],
        relativeTargetPort: 2,
        hctl: "2:0:1:0",
        pciBdf: "00:05.0",
        booted: false,
      }),
    ]);

    const down = await runCase(scenario as never, true as never, { caseId: "down", artifactDir: artifactsDir("down") });
    expect(down.message ?? "").toBe("");
    expect(seen?.observation?.role).toBe("san-boot");
    expect(observedSanPaths(seen!.observation!)).toEqual([
      expect.objectContaining({ lunWwn: LU_WWN, targetPortWwn: PORTS[1], relativeTargetPort: 2, hctl: "2:0:1:0", booted: true }),
    ]);
    expect(seen?.serviceLog).toContain("iscsi: portal 0 is down (closed before the machine starts)");
  }, 300_000);
});
