// ironic-nfs in real guests: iPXE loads the conductor's kernel and ramdisk over bootproof's
// HTTP server, the guest mounts its root from bootproof's NFSv3 server through the address
// nfs_root names, reads the export's marker, and its write is in the export after the boot.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runScenario } from "../../harness/run/run-scenario.js";
import { ironicNfsScenario } from "../../scenarios/ironic-nfs/index.js";
import { useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-ironic-nfs-it");

describe("ironic-nfs", () => {
  it.each(["bios", "uefi"])(
    "%s: boots the conductor's kernel and ramdisk with its root on the NFS export, and writes to it",
    async (example) => {
      const summary = await runScenario(ironicNfsScenario, {
        artifactsRoot: artifactsDir(example),
        accelerator: "tcg",
        jobs: 1,
        example,
      });
      const [result] = summary.cases;
      expect(result?.message ?? "").toBe("");
      expect(result?.verdict).toBe("pass");
      expect(result?.properties.map((p) => p.name)).toEqual([
        "refuses-bad-nodes-before-boot",
        "kernel-and-ramdisk-from-conductor",
        "root-is-the-export",
        "guest-write-reached-the-export",
      ]);
      const bootDir = join(summary.artifactsDir, `example-${example}`, "nfs-boot");
      expect(await readFile(join(bootDir, "boot.ipxe"), "utf8")).toMatch(/nfsroot=10\.0\.2\.100:\//);
      const observation = JSON.parse(await readFile(join(bootDir, "observation.json"), "utf8"));
      expect(observation.nfsRoot).toMatchObject({ marker: "bootproof nfs root marker", wrote: true });
      expect(observation.mounts).toContainEqual(expect.objectContaining({ target: "/root", fstype: "nfs" }));
    },
    300_000,
  );

  it("a generated run with a fixed seed refuses the malformed nodes before any boot and boots the others", async () => {
    const summary = await runScenario(ironicNfsScenario, {
      artifactsRoot: artifactsDir("generated"),
      accelerator: "tcg",
      jobs: 1,
      runs: 3,
      seed: 5,
      staticRuns: 200,
    });
    expect(summary.staticSweep?.runs).toBe(200);
    expect(summary.staticSweep?.failedInputs ?? 0).toBe(0);
    expect(summary.verdict).toBe("pass");
    expect(summary.cases).toHaveLength(3);
  }, 600_000);
});
