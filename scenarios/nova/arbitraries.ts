// fast-check arbitraries for Nova rescue cases. Every choice lists its simplest value first,
// so a failing case shrinks toward: fewer disks, virtio, no swap or config drive, SeaBIOS, pc,
// virtio-scsi, a virtio rescue disk. Sizes come from a short list because every distinct
// medium is built for real (and cached by content).
import fc from "fast-check";
import { layOutRescueBoot } from "./driver.js";
import { firmwareGapOf } from "./firmware-gaps.js";
import { NovaMappingError } from "./mapping.js";
import {
  findNovaInputProblems,
  type NovaDiskBus,
  type NovaFirmware,
  type NovaInstance,
  type NovaMachineType,
  type NovaRescueCase,
  type NovaRescueProperties,
  type NovaScsiModel,
} from "./model.js";

/** "ata" is IDE on pc and SATA on q35 (libvirt has no IDE on q35). */
type AbstractBus = "virtio" | "scsi" | "ata" | "usb";
const concreteBus = (bus: AbstractBus, machineType: NovaMachineType): NovaDiskBus =>
  bus === "ata" ? (machineType === "q35" ? "sata" : "ide") : bus;

export const INSTANCE_UUID = "5e1f00aa-7c1d-4b8e-9a55-0c0ffee00001";
export const ROOT_VOLUME_ID = "b0000000-5eed-4000-8000-000000000000";
/**
 * A volume id whose first 8 hex digits are 0xa0000001 + index + offset; the 20-character serial
 * the guest sees is `<8 hex>-5eed-4000-8`. Distinct first 8 digits keep serials distinct.
 */
export const volumeIdFor = (index: number, offset = 0) =>
  `${(0xa0000001 + index + offset).toString(16)}-5eed-4000-8000-000000000000`;

export const busArbitrary: fc.Arbitrary<AbstractBus> = fc.constantFrom("virtio", "scsi", "ata", "usb");
export const firmwareArbitrary: fc.Arbitrary<NovaFirmware> = fc.constantFrom("seabios", "ovmf");
export const machineTypeArbitrary: fc.Arbitrary<NovaMachineType> = fc.constantFrom("pc", "q35");
const scsiModelArbitrary: fc.Arbitrary<NovaScsiModel | undefined> = fc.constantFrom("virtio-scsi", undefined, "lsilogic");
/** Blank disks: 1..64 MiB. */
const blankSizeArbitrary = fc.constantFrom(1, 2, 4, 8, 16, 32, 64);
/** Bootable root disks hold the guest kernel and probe initramfs (about 10 MB). */
const rootSizeArbitrary = fc.constantFrom(32, 48, 64);

export type AbstractRescue = { device?: "disk" | "cdrom" | "floppy"; bus?: AbstractBus | "fdc" };
/** Every (hw_rescue_device, hw_rescue_bus) pair libvirt accepts, simplest first; unset means Nova's default. */
export const RESCUE_CHOICES: AbstractRescue[] = [
  { device: "disk", bus: "virtio" },
  { device: "disk" },
  { bus: "virtio" },
  { device: "disk", bus: "usb" },
  { device: "disk", bus: "scsi" },
  { device: "disk", bus: "ata" },
  { device: "cdrom", bus: "ata" },
  { device: "cdrom" },
  { device: "cdrom", bus: "scsi" },
  { device: "cdrom", bus: "usb" },
  { device: "floppy" },
  { device: "floppy", bus: "fdc" },
];

export function rescuePropertiesFor(choice: AbstractRescue, machineType: NovaMachineType): NovaRescueProperties {
  const props: NovaRescueProperties = {};
  if (choice.device) props.hw_rescue_device = choice.device;
  if (choice.bus) props.hw_rescue_bus = choice.bus === "fdc" ? "fdc" : concreteBus(choice.bus, machineType);
  return props;
}

const localDisk = fc.record({ bus: busArbitrary, sizeMiB: blankSizeArbitrary });

export const rawCase = fc.record({
  machineType: machineTypeArbitrary,
  firmware: firmwareArbitrary,
  scsiModel: scsiModelArbitrary,
  root: fc.record({
    source: fc.constantFrom<"image" | "volume">("image", "volume"),
    bus: busArbitrary,
    sizeMiB: rootSizeArbitrary,
  }),
  ephemerals: fc.array(localDisk, { maxLength: 3 }),
  swap: fc.option(localDisk, { nil: undefined }),
  configDrive: fc.option(fc.constantFrom<"iso9660" | "vfat">("iso9660", "vfat"), { nil: undefined }),
  volumes: fc.array(fc.record({ bus: busArbitrary, sizeMiB: blankSizeArbitrary, idOffset: fc.nat({ max: 0xfffff }) }), {
    maxLength: 3,
  }),
  rescue: fc.constantFrom(...RESCUE_CHOICES),
});

export type RawNovaCase = typeof rawCase extends fc.Arbitrary<infer T> ? T : never;

export function toCase(raw: typeof rawCase extends fc.Arbitrary<infer T> ? T : never): NovaRescueCase {
  const mt = raw.machineType;
  const instance: NovaInstance = {
    uuid: INSTANCE_UUID,
    machineType: mt,
    firmware: raw.firmware,
    rootDisk: {
      source: raw.root.source,
      bus: concreteBus(raw.root.bus, mt),
      sizeMiB: raw.root.sizeMiB,
      ...(raw.root.source === "volume" ? { volumeId: ROOT_VOLUME_ID } : {}),
    },
    ephemerals: raw.ephemerals.map((d) => ({ bus: concreteBus(d.bus, mt), sizeMiB: d.sizeMiB })),
    volumes: raw.volumes.map((d, i) => ({ id: volumeIdFor(i, d.idOffset), bus: concreteBus(d.bus, mt), sizeMiB: d.sizeMiB })),
  };
  if (raw.scsiModel) instance.scsiModel = raw.scsiModel;
  if (raw.swap) instance.swap = { bus: concreteBus(raw.swap.bus, mt), sizeMiB: raw.swap.sizeMiB };
  if (raw.configDrive) instance.configDrive = { format: raw.configDrive };
  return { instance, rescue: rescuePropertiesFor(raw.rescue, mt) };
}

/**
 * True when Nova accepts the case and bootproof's Machine can express it: at most 4 IDE
 * devices (Nova's own limit) and no device that libvirt would put on a second LSI or SATA
 * controller. Driver-independent: it uses the model's mapping, not the driver under test.
 */
export function isExpressibleCase(input: NovaRescueCase): boolean {
  if (findNovaInputProblems(input).length > 0) return false;
  try {
    layOutRescueBoot(input.instance, input.rescue);
    return true;
  } catch (error) {
    if (error instanceof NovaMappingError) return false;
    throw error;
  }
}

/**
 * Instances with 1..8 disks (root, up to 3 ephemerals, optional swap, up to 3 volumes with
 * generated ids, hence serials), config drive or not, and a rescue image. Cases whose volume
 * ids would collide in their first 20 characters are filtered out with the other inexpressible ones.
 */
export const novaCaseArbitrary: fc.Arbitrary<NovaRescueCase> = rawCase.map(toCase).filter(isExpressibleCase);

export interface NovaArbitraryOptions {
  /**
   * "include" (the default, what novaCaseArbitrary does): cases the firmware cannot boot stay
   * in and fail at boot with the measured reason. "exclude": an explicit, named opt-out for
   * runs that must pass on the firmware gaps listed in firmware-gaps.ts.
   */
  firmwareGaps?: "include" | "exclude";
}

export function novaCaseArbitraryWith(options: NovaArbitraryOptions = {}): fc.Arbitrary<NovaRescueCase> {
  if ((options.firmwareGaps ?? "include") === "include") return novaCaseArbitrary;
  return novaCaseArbitrary.filter((input) => firmwareGapOf(input) === null);
}
