// Generated inputs for the real driver: the model's instances (arbitraries.ts) plus what only
// real Nova reads (ports, hw_vif_model), and every rescue image Nova accepts — including the
// (device, bus) pairs libvirt refuses: Nova letting one through is a defect to report, not
// an input to avoid. Left out only: inputs Nova itself rejects as a whole (more than 4 IDE
// devices, TooManyDiskDevices: not a rescue question) and the measured firmware gaps (OVMF
// cannot boot LSI or floppies; nova-rescue-firmware-gaps covers them).
import fc from "fast-check";
import { type AbstractRescue, RESCUE_CHOICES, rawCase, rescuePropertiesFor, toCase } from "../arbitraries.js";
import { firmwareGapOf } from "../firmware-gaps.js";
import { type NovaRescueCase, resolveRescueDevice } from "../model.js";

/** Pairs Nova accepts that libvirt then refuses (REAL-DRIVERS.md). */
export const LIBVIRT_REFUSED_RESCUES: AbstractRescue[] = [
  { device: "cdrom", bus: "virtio" },
  { device: "floppy", bus: "virtio" },
  { device: "floppy", bus: "usb" },
];

const nicArbitrary = fc.record({
  macSuffix: fc.nat({ max: 0xffff }),
  type: fc.constantFrom<"bridge" | "tap">("bridge", "tap"),
});

function ideDevices(input: NovaRescueCase): number {
  const { instance } = input;
  const disks = [instance.rootDisk, ...instance.ephemerals, ...(instance.swap ? [instance.swap] : []), ...instance.volumes];
  let count = disks.filter((d) => d.bus === "ide").length;
  if (instance.configDrive?.format === "iso9660" && instance.machineType === "pc") count++;
  if (resolveRescueDevice(input.rescue, instance.machineType).bus === "ide") count++;
  return count;
}

const mac = (suffix: number, index: number) =>
  `fa:16:3e:${index.toString(16).padStart(2, "0")}:${(suffix >> 8).toString(16).padStart(2, "0")}:${(suffix & 0xff).toString(16).padStart(2, "0")}`;

export const novaRealCaseArbitrary: fc.Arbitrary<NovaRescueCase> = fc
  .record({
    raw: rawCase,
    rescue: fc.constantFrom(...RESCUE_CHOICES, ...LIBVIRT_REFUSED_RESCUES),
    nics: fc.array(nicArbitrary, { maxLength: 2 }),
    vifModel: fc.constantFrom<"virtio" | "e1000" | undefined>(undefined, "virtio", "e1000"),
  })
  .map(({ raw, rescue, nics, vifModel }) => {
    const input = toCase(raw);
    input.rescue = rescuePropertiesFor(rescue, raw.machineType);
    if (nics.length > 0) {
      input.instance.nics = nics.map((n, i) => ({ mac: mac(n.macSuffix, i), type: n.type }));
      if (vifModel) input.instance.vifModel = vifModel;
    }
    return input;
  })
  .filter((input) => ideDevices(input) <= 4 && firmwareGapOf(input) === null && distinctSerials(input));

function distinctSerials(input: NovaRescueCase): boolean {
  const ids = [
    ...(input.instance.rootDisk.volumeId ? [input.instance.rootDisk.volumeId] : []),
    ...input.instance.volumes.map((v) => v.id),
  ];
  return new Set(ids.map((id) => id.slice(0, 20))).size === ids.length;
}
