// nova-rescue: Nova's "rescue with stable disk devices" checked inside real guests. One case
// is an instance plus a rescue image; it boots three times (normal, rescue, unrescue) and the
// properties compare what the guest saw. novaScenarioFor(driver) checks any driver with the
// same shape, so the mutants and a user's own driver face exactly the same properties.
import { defineScenario, type Scenario } from "../../harness/scenario.js";
import { INSTANCE_UUID, novaCaseArbitrary, novaCaseArbitraryWith, ROOT_VOLUME_ID, volumeIdFor } from "./arbitraries.js";
import { libvirtDriver, type NovaDriver } from "./driver.js";
import { firmwareGapOf } from "./firmware-gaps.js";
import type { NovaInstance, NovaRescueCase } from "./model.js";
import { novaBootProperties } from "./properties.js";
import { novaStaticProperties } from "./static-properties.js";

/** A small valid instance (SeaBIOS, pc, virtio root from an image), for examples and tests. */
export const baseInstance = (overrides: Partial<NovaInstance> = {}): NovaInstance => ({
  uuid: INSTANCE_UUID,
  machineType: "pc",
  firmware: "seabios",
  scsiModel: "virtio-scsi",
  rootDisk: { source: "image", bus: "virtio", sizeMiB: 32 },
  ephemerals: [],
  volumes: [],
  ...overrides,
});

export const novaExamples: Array<{ name: string; input: NovaRescueCase }> = [
  {
    name: "virtio-root-virtio-rescue-seabios-pc",
    input: {
      instance: baseInstance({ ephemerals: [{ bus: "virtio", sizeMiB: 4 }] }),
      rescue: { hw_rescue_device: "disk", hw_rescue_bus: "virtio" },
    },
  },
  {
    name: "scsi-volume-ide-cdrom-rescue",
    input: {
      instance: baseInstance({ volumes: [{ id: volumeIdFor(0), bus: "scsi", sizeMiB: 8 }], configDrive: { format: "iso9660" } }),
      rescue: { hw_rescue_device: "cdrom", hw_rescue_bus: "ide" },
    },
  },
  {
    name: "usb-rescue-boot-from-volume",
    input: {
      instance: baseInstance({
        rootDisk: { source: "volume", bus: "virtio", sizeMiB: 32, volumeId: ROOT_VOLUME_ID },
        swap: { bus: "virtio", sizeMiB: 2 },
      }),
      rescue: { hw_rescue_device: "disk", hw_rescue_bus: "usb" },
    },
  },
  {
    name: "ovmf-q35-virtio",
    input: {
      instance: baseInstance({
        machineType: "q35",
        firmware: "ovmf",
        volumes: [{ id: volumeIdFor(0), bus: "sata", sizeMiB: 4 }],
      }),
      rescue: { hw_rescue_device: "disk", hw_rescue_bus: "virtio" },
    },
  },
  {
    name: "floppy-rescue-seabios",
    input: { instance: baseInstance(), rescue: { hw_rescue_device: "floppy" } },
  },
  {
    // Expected to FAIL P2 and P5's premise: OVMF has no LSI driver and boots the root disk.
    name: "expected-failure-lsi-rescue-under-ovmf",
    input: {
      instance: baseInstance({ firmware: "ovmf", scsiModel: undefined }),
      rescue: { hw_rescue_device: "disk", hw_rescue_bus: "scsi" },
    },
  },
];

/** Examples whose failure is the expected, documented outcome (the firmware cannot boot the driver's choice). */
export const EXPECTED_FAILING_EXAMPLES = new Set(["expected-failure-lsi-rescue-under-ovmf"]);

export interface NovaScenarioOptions {
  /**
   * Which generated inputs: "bootable" (default) leaves out the combinations the firmware
   * cannot boot (firmware-gaps.ts); "gaps" generates only those, and every one must come out
   * as a fail naming the firmware's limit; "all" mixes both.
   */
  inputs?: "bootable" | "gaps" | "all";
}

function arbitraryFor(inputs: NonNullable<NovaScenarioOptions["inputs"]>) {
  if (inputs === "all") return novaCaseArbitrary;
  if (inputs === "bootable") return novaCaseArbitraryWith({ firmwareGaps: "exclude" });
  return novaCaseArbitrary.filter((input) => firmwareGapOf(input) !== null);
}

export function novaScenarioFor(
  driver: NovaDriver,
  name = "nova-rescue",
  options: NovaScenarioOptions = {},
): Scenario<NovaRescueCase> {
  return defineScenario<NovaRescueCase>({
    name,
    description: `Nova stable device rescue (${driver.name ?? "custom driver"}): the rescue guest sees every normal device at the same address, plus the rescue device attached last and booted first`,
    examples: novaExamples,
    arbitrary: arbitraryFor(options.inputs ?? "bootable"),
    boots: (input) => [
      { name: "normal", topology: driver.boot(input.instance) },
      { name: "rescue", topology: driver.rescue(input.instance, input.rescue) },
      // Nova restores the saved unrescue.xml: the same domain as the normal boot.
      { name: "unrescue", topology: driver.boot(input.instance) },
    ],
    properties: novaBootProperties,
    staticProperties: novaStaticProperties,
  });
}

export default novaScenarioFor(libvirtDriver);

/** The combinations Nova lets through but the firmware cannot boot: each case must fail. */
export const novaFirmwareGapsScenario = novaScenarioFor(libvirtDriver, "nova-rescue-firmware-gaps", { inputs: "gaps" });
