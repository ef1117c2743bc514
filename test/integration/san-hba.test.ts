// HBA-attached SAN LUs in a real guest: one LU served by bootproof's iSCSI target through
// QEMU's own initiator on two target ports (two paths on one virtio-scsi HBA, the same WWN,
// each its own WWPN). The probe must report both paths with their identities and the one
// the firmware booted; with one target port down only the other path exists and boots. An
// erroring second path leaves the boot to the first; an erroring boot path fails in SeaBIOS,
// which boots only its first hard disk (no failover to the LU's other path, measured); a slow
// boot path still boots.
import { describe, expect, it } from "vitest";
import { runCase } from "../../harness/run/run-case.js";
import { type BootRecord, defineScenario } from "../../harness/scenario.js";
import { type SanFabric, sanServices, sanTopology } from "../../scenarios/common/san-fabric.js";
import { observedSanPaths } from "../../scenarios/common/san-observed.js";
import { useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-san-hba-it");
const LU_WWN = "6005076801234567";
const PORTS = ["500507680b214ac1", "500507680b244ac0"];

type Fault = "none" | "down" | "erroring" | "erroring-second" | "slow";
const FAULTS: Record<Fault, SanFabric["pathFaults"]> = {
  none: [],
  down: [{ portal: 0, kind: "down" }],
  erroring: [{ portal: 0, kind: "erroring" }],
  "erroring-second": [{ portal: 1, kind: "erroring" }],
  slow: [{ portal: 0, kind: "slow", delayMs: 20 }],
};

const fabric = (fault: Fault): SanFabric => ({
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
  pathFaults: FAULTS[fault],
  deadlineMs: 90_000,
});

let seen: BootRecord | undefined;
const scenario = defineScenario<Fault>({
  name: "san-hba",
  description: "two paths to one LU",
  boots: (fault) => [{ name: "boot", services: sanServices(fabric(fault)), topology: sanTopology(fabric(fault)) }],
  properties: [
    {
      name: "record",
      description: "keeps the boot for the test",
      check: (_fault, boots) => {
        seen = boots.boot;
        return { ok: true };
      },
    },
  ],
});

/** One case of the scenario with `fault`, its artifacts under the fault's name. */
const bootWith = (fault: Fault) =>
  runCase(scenario as never, fault as never, { caseId: fault, artifactDir: artifactsDir(fault) });

describe("SAN LUs behind an HBA", () => {
  it("reports each path's LU WWN, target port and H:C:T:L, and the booted path; a down port leaves only the other", async () => {
    const both = await bootWith("none");
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

    const down = await bootWith("down");
    expect(down.message ?? "").toBe("");
    expect(seen?.observation?.role).toBe("san-boot");
    expect(observedSanPaths(seen!.observation!)).toEqual([
      expect.objectContaining({ lunWwn: LU_WWN, targetPortWwn: PORTS[1], relativeTargetPort: 2, hctl: "2:0:1:0", booted: true }),
    ]);
    expect(seen?.serviceLog).toContain("iscsi: portal 0 is down (closed before the machine starts)");
  }, 300_000);

  it("the second path answers every read with MEDIUM ERROR: the boot goes through the first, and the guest still sees both", async () => {
    const result = await bootWith("erroring-second");
    expect(result.message ?? "").toBe("");
    expect(seen?.observation?.role).toBe("san-boot");
    // The LU was sized before any read, so both paths exist; the kernel's reads through port 1 failed.
    expect(observedSanPaths(seen!.observation!).map((p) => [p.targetPortWwn, p.booted])).toEqual([
      [PORTS[0], true],
      [PORTS[1], false],
    ]);
    expect(seen?.serviceLog).toContain("iscsi: fault injected: sense on opcode 0x1 (portal 1)");
  }, 300_000);

  it("the boot path answers every read with MEDIUM ERROR: SeaBIOS boots only its first hard disk, so the boot fails in the firmware (no path failover)", async () => {
    const result = await bootWith("erroring");
    expect(seen?.observation).toBeNull();
    expect(seen?.failure).toMatch(/the boot got as far as 'firmware'.*could not read the boot disk/);
    expect(result.boots[0]?.phase).toBe("firmware");
    expect(seen?.serviceLog).toContain("iscsi: fault injected: sense on opcode 0x1 (portal 0)");
  }, 300_000);

  it("a slow boot path delays every command and still boots through it", async () => {
    const result = await bootWith("slow");
    expect(result.message ?? "").toBe("");
    expect(seen?.observation?.role).toBe("san-boot");
    expect(observedSanPaths(seen!.observation!).find((p) => p.booted)?.targetPortWwn).toBe(PORTS[0]);
    expect(seen?.serviceLog.some((l) => /^iscsi: fault injected: .*\(portal 0\)$/.test(l))).toBe(true);
  }, 300_000);
});
