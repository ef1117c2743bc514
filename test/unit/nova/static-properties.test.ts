import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { novaCaseArbitrary, novaCaseArbitraryWith } from "../../../scenarios/nova/arbitraries.js";
import { libvirtDriver, type NovaDriver } from "../../../scenarios/nova/driver.js";
import { firmwareGapOf } from "../../../scenarios/nova/firmware-gaps.js";
import { EXPECTED_FAILING_EXAMPLES, novaExamples } from "../../../scenarios/nova/index.js";
import type { NovaRescueCase } from "../../../scenarios/nova/model.js";
import {
  controllerShiftsSlotsDriver,
  rescueFirstUnpinnedDriver,
  rescueWithoutBootIndexDriver,
} from "../../../scenarios/nova/mutants.js";
import {
  bootIndexUnique,
  normalDevicesKeptInRescue,
  rescueDeviceLastAndFirstToBoot,
} from "../../../scenarios/nova/static-properties.js";
import { diskCount, type NamedOutcome, staticFailures } from "../../fixtures/nova/static-check.js";

const SEED = 20_260_404;
const RUNS = 2_000;

/** Runs fast-check until a case fails; returns the shrunk case and its failures. */
function shrunkCounterexample(driver: NovaDriver, properties?: Parameters<typeof staticFailures>[2]) {
  const details = fc.check(
    fc.property(novaCaseArbitrary, (input) => staticFailures(driver, input, properties).length === 0),
    { seed: SEED, numRuns: RUNS },
  );
  expect(details.failed, `${driver.name} should be caught`).toBe(true);
  const input = details.counterexample![0] as NovaRescueCase;
  return { input, failures: staticFailures(driver, input, properties), details };
}

const names = (failures: NamedOutcome[]) => failures.map((f) => f.name);

describe("static properties: the correct libvirt driver", () => {
  it(`passes every static property over ${RUNS} generated instances (fixed seed) and reports the time it took`, () => {
    const started = performance.now();
    let cases = 0;
    fc.assert(
      fc.property(novaCaseArbitrary, (input) => {
        cases++;
        const failures = staticFailures(libvirtDriver, input);
        if (failures.length > 0)
          throw new Error(`${JSON.stringify(input)}\n${failures.map((f) => `${f.name}: ${f.message}`).join("\n")}`);
      }),
      { seed: SEED, numRuns: RUNS },
    );
    const elapsedMs = performance.now() - started;
    expect(cases).toBe(RUNS);
    // Recorded in the test log; the bound is loose because the 2 cores are shared with running guests.
    console.info(`nova static properties: ${RUNS} cases in ${elapsedMs.toFixed(0)} ms`);
    expect(elapsedMs).toBeLessThan(60_000);
  });

  it("passes every static property on the named examples, including the one expected to fail at boot", () => {
    for (const { name, input } of novaExamples) expect(staticFailures(libvirtDriver, input), name).toEqual([]);
    expect(EXPECTED_FAILING_EXAMPLES.size).toBe(1);
  });

  it("generates the whole space: both firmwares and machine types, every bus, cdrom/floppy rescues, up to 8 disks", () => {
    const samples = fc.sample(novaCaseArbitrary, { seed: SEED, numRuns: 1_000 });
    const seen = new Set(
      samples.flatMap((c) => [
        c.instance.firmware,
        c.instance.machineType,
        c.instance.rootDisk.bus,
        c.rescue.hw_rescue_device ?? "default-device",
        c.rescue.hw_rescue_bus ?? "default-bus",
        c.instance.configDrive ? "config" : "no-config",
        c.instance.swap ? "swap" : "no-swap",
        c.instance.rootDisk.source,
      ]),
    );
    for (const value of [
      "seabios",
      "ovmf",
      "pc",
      "q35",
      "virtio",
      "scsi",
      "ide",
      "sata",
      "usb",
      "cdrom",
      "floppy",
      "disk",
      "default-bus",
      "config",
      "swap",
      "volume",
    ])
      expect(seen, value).toContain(value);
    const counts = samples.map((c) => 1 + c.instance.ephemerals.length + (c.instance.swap ? 1 : 0) + c.instance.volumes.length);
    expect(Math.min(...counts)).toBe(1);
    expect(Math.max(...counts)).toBe(8);
  });
});

describe("static properties catch each mutant with a shrunk counterexample", () => {
  it("M1 (rescue first, unpinned): the rescue device is not last, and the identical-address check alone also catches it", () => {
    const { input, failures } = shrunkCounterexample(rescueFirstUnpinnedDriver);
    expect(names(failures)).toContain(rescueDeviceLastAndFirstToBoot.name);
    expect(diskCount(input)).toBe(1);

    const addressOnly = shrunkCounterexample(rescueFirstUnpinnedDriver, [normalDevicesKeptInRescue]);
    expect(diskCount(addressOnly.input)).toBe(1);
    expect(addressOnly.input.instance.rootDisk.bus).toBe("virtio");
    // The rescue virtio disk takes the root's slot and its name.
    expect(addressOnly.failures[0]!.message).toMatch(
      /'disk' \(serial 5e1f00aa-disk\) moved in the rescue boot: virtioName vda -> vdb/,
    );
  });

  it("M2 (no boot priority): the bootIndex property names the rescue device", () => {
    const { input, failures } = shrunkCounterexample(rescueWithoutBootIndexDriver);
    expect(names(failures)).toEqual([rescueDeviceLastAndFirstToBoot.name]);
    expect(failures[0]!.message).toMatch(/rescue device 'disk-rescue' has bootIndex none; expected 0/);
    expect(diskCount(input)).toBe(1);
    expect(input.instance.firmware).toBe("seabios");
    expect(input.instance.machineType).toBe("pc");
    expect(staticFailures(rescueWithoutBootIndexDriver, input, [bootIndexUnique])).toEqual([]);
  });

  it("M3 (new controller first): PCI slots shift while virtio names stay; the shrunk case needs a new controller", () => {
    const { input, failures } = shrunkCounterexample(controllerShiftsSlotsDriver);
    // The new controller also lands below the normal boot's highest slot, so two properties fire.
    expect(names(failures)).toEqual([rescueDeviceLastAndFirstToBoot.name, normalDevicesKeptInRescue.name]);
    const shift = failures[1]!.message!.match(/'disk' \(serial 5e1f00aa-disk\) moved in the rescue boot: pciSlot (\d+) -> (\d+)/);
    expect(shift, failures[1]!.message).not.toBeNull();
    expect(Number(shift![2])).toBe(Number(shift![1]) + 1);
    // Names stay: the shift is only visible in the PCI path.
    expect(failures[1]!.message).not.toMatch(/virtioName/);
    expect(diskCount(input)).toBe(1);
    expect(input.instance.rootDisk.bus).toBe("virtio");
    expect(["usb", "scsi"]).toContain(input.rescue.hw_rescue_bus);
  });
});

describe("firmware gaps", () => {
  it("predicts the measured gaps from the input and can exclude them only on request", () => {
    const samples = fc.sample(novaCaseArbitrary, { seed: SEED, numRuns: 500 });
    const gaps = new Set(samples.map(firmwareGapOf));
    const expected = ["ovmf-lsi-root", "ovmf-lsi-rescue", "ovmf-floppy-rescue", "ovmf-pc-ide-invisible", null];
    for (const gap of expected) expect(gaps).toContain(gap);
    const lsiExample = novaExamples.find((e) => EXPECTED_FAILING_EXAMPLES.has(e.name))!;
    expect(firmwareGapOf(lsiExample.input)).toBe("ovmf-lsi-rescue");
    const excluded = fc.sample(novaCaseArbitraryWith({ firmwareGaps: "exclude" }), { seed: SEED, numRuns: 300 });
    expect(excluded.every((c) => firmwareGapOf(c) === null)).toBe(true);
    expect(excluded.some((c) => c.instance.firmware === "ovmf")).toBe(true);
  });
});

describe("mutant scenarios", () => {
  it("exposes M1..M3 as scenarios that share the correct scenario's properties", async () => {
    const { NOVA_MUTANT_SCENARIOS } = await import("../../../scenarios/nova/mutant-scenarios.js");
    const { default: correct } = await import("../../../scenarios/nova/index.js");
    expect(Object.keys(NOVA_MUTANT_SCENARIOS)).toEqual(["nova-rescue-m1", "nova-rescue-m2", "nova-rescue-m3"]);
    for (const scenario of Object.values(NOVA_MUTANT_SCENARIOS)) {
      expect(scenario.properties).toBe(correct.properties);
      expect(scenario.staticProperties).toBe(correct.staticProperties);
    }
  });
});
