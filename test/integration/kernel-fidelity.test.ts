// The fast probe kernel sees what Debian's kernel sees: the same topologies booted under both
// (smoke under SeaBIOS and OVMF, a nova-rescue normal/rescue/unrescue triple, an Ironic SAN
// boot over iSCSI) must give identical observations apart from what is the kernel's own:
// its release and command line, the modules it had to load (the fast kernel builds some in),
// and timings. Device names (sdX, vdX, ethN), sysfs paths (SCSI host numbers), drivers bound
// to each PCI function, USB devices, the iBFT and the mounts are all compared.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildProbeKernel } from "../../firmware/kernel/build.js";
import type { KernelChoice } from "../../firmware/kernel/choice.js";
import { type RunSettings, runScenario } from "../../harness/run/run-scenario.js";
import type { AnyScenario } from "../../harness/scenario.js";
import ironic from "../../scenarios/ironic/index.js";
import nova from "../../scenarios/nova/index.js";
import smoke from "../../scenarios/smoke.js";
import { useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-kernel-fidelity");

/** The kernel's own facts: listed in firmware/probe/README.md ("The fast kernel"). */
const KERNEL_SPECIFIC = ["kernelRelease", "cmdline", "modulesLoaded", "settleMs", "uptimeSeconds"] as const;

/**
 * Also not the kernel's: the port of an iBFT target is the ephemeral port bootproof's iSCSI
 * target listens on in that run (it differs between any two runs of the same kernel).
 */
function withoutKernelFacts(observation: Record<string, unknown>): Record<string, unknown> {
  const rest = structuredClone(observation);
  for (const key of KERNEL_SPECIFIC) delete rest[key];
  const ibft = rest.ibft as Record<string, Record<string, string>> | null;
  for (const [section, attributes] of Object.entries(ibft ?? {})) if (section.startsWith("target")) delete attributes.port;
  return rest;
}

async function observations(
  scenario: AnyScenario<unknown>,
  example: string,
  kernel: KernelChoice,
): Promise<Record<string, Record<string, unknown>>> {
  const root = artifactsDir(`${scenario.name}-${example}-${kernel}`);
  const settings: RunSettings = { artifactsRoot: root, accelerator: "tcg", jobs: 1, example, kernel };
  const summary = await runScenario(scenario, settings);
  const [result] = summary.cases;
  expect(summary.kernel).toBe(kernel);
  expect(result?.message ?? "", `${example} on the ${kernel} kernel`).toBe("");
  expect(result?.verdict).toBe("pass");
  const byBoot: Record<string, Record<string, unknown>> = {};
  for (const boot of result!.boots) {
    const observation = JSON.parse(await readFile(join(boot.artifactDir, "observation.json"), "utf8")) as Record<string, unknown>;
    expect(observation.moduleErrors, `${boot.name} on the ${kernel} kernel`).toEqual([]);
    byBoot[boot.name] = observation;
  }
  const record = JSON.parse(await readFile(join(root, result!.caseId, "case.json"), "utf8")) as { kernel?: string };
  expect(record.kernel).toBe(kernel);
  return byBoot;
}

describe("the fast probe kernel observes what Debian's kernel does", () => {
  beforeAll(async () => {
    // A fresh cache builds it here (minutes); `bootproof kernel build` is the same call.
    await buildProbeKernel();
  }, 3_600_000);

  it.each([
    ["smoke", "bios-disk", smoke],
    ["smoke", "uefi-disk", smoke],
    ["nova-rescue", "virtio-root-virtio-rescue-seabios-pc", nova],
    ["ironic-iscsi", "bios", ironic],
  ] as Array<[string, string, AnyScenario<unknown>]>)("%s %s", async (_name, example, scenario) => {
    const debian = await observations(scenario, example, "debian");
    const fast = await observations(scenario, example, "fast");
    expect(Object.keys(fast)).toEqual(Object.keys(debian));
    for (const boot of Object.keys(debian)) {
      expect(fast[boot]!.kernelRelease).toMatch(/-bootproof-probe$/);
      expect(debian[boot]!.kernelRelease).not.toMatch(/-bootproof-probe$/);
      expect(withoutKernelFacts(fast[boot]!), `boot ${boot}`).toEqual(withoutKernelFacts(debian[boot]!));
    }
  });
});
