// The smoke scenario on real guests (TCG): direct kernel, SeaBIOS + raw virtio disk,
// OVMF + UEFI disk. Each must pass and leave complete artifacts.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { PciDeviceInfo } from "../../emulator/qmp.js";
import type { Observation } from "../../firmware/observation.js";
import { runScenario } from "../../harness/run/run-scenario.js";
import smoke from "../../scenarios/smoke.js";
import { useTempArtifacts } from "./temp-artifacts.js";

const artifactsDir = useTempArtifacts("bp-smoke-it");

describe.each(["direct", "bios-disk", "uefi-disk"] as const)("smoke %s", (variant) => {
  it("boots, observes the declared medium and disks, and writes artifacts", async () => {
    const root = artifactsDir(variant);
    const summary = await runScenario(smoke, { artifactsRoot: root, accelerator: "tcg", jobs: 1, example: variant });
    const [result] = summary.cases;
    expect(result?.message ?? "").toBe("");
    expect(result?.verdict).toBe("pass");
    expect(result?.properties.map((p) => [p.name, p.ok])).toEqual([
      ["booted-declared-medium", true],
      ["declared-disks-visible", true],
    ]);
    const bootDir = join(root, `example-${variant}`, "boot");
    const observation = JSON.parse(await readFile(join(bootDir, "observation.json"), "utf8")) as Observation;
    expect(observation.role).toBe("root");
    expect(observation.blockDevices.find((d) => d.serial === "BP-DATA-1")?.pciBdf).toBe("00:06.0");
    if (variant !== "direct") expect(observation.blockDevices.find((d) => d.serial === "BP-ROOT-1")?.pciBdf).toBe("00:05.0");
    const consoleLog = await readFile(join(bootDir, "console.log"), "utf8");
    expect(consoleLog).toMatch(/^\[\s+\d+\.\d{3}\] BOOTPROOF-PROBE start$/m);
    expect(await readFile(join(bootDir, "command.sh"), "utf8")).toMatch(/^qemu-system-x86_64 .*-accel tcg/);
    const pci = JSON.parse(await readFile(join(bootDir, "qmp-pci.json"), "utf8")) as PciDeviceInfo[];
    expect(pci.find((d) => d.qdevId === "data-disk")?.slot).toBe(6);
    // The guest enumerates exactly the PCI functions QEMU has.
    const hex2 = (n: number) => n.toString(16).padStart(2, "0");
    const qemuBdfs = pci.map((d) => `${hex2(d.bus)}:${hex2(d.slot)}.${d.function}`);
    expect(observation.pciFunctions.map((f) => f.bdf).sort()).toEqual(qemuBdfs.sort());
    const summaryFile = JSON.parse(await readFile(join(root, "summary.json"), "utf8")) as { verdict: string };
    expect(summaryFile.verdict).toBe("pass");
  });
});
