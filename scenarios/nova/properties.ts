// The boot properties of a stable device rescue, as pure functions over the finished boots
// "normal", "rescue" and "unrescue". Combinations the firmware cannot boot (LSI or floppy
// under OVMF) come out as failures of the driver's choice, with the measured reason.
import type { DiskDevice } from "../../emulator/machine.js";
import type { BootRecord, Property, PropertyOutcome } from "../../harness/scenario.js";
import { bootNamed, fail, isOutcome, observedOrFailure, pass } from "../common/outcomes.js";
import { bootPathPattern, knownFirmwareGap, seabiosBootAttempts, seabiosEntryFor } from "./firmware-evidence.js";
import { disksWithRole } from "./identity.js";
import type { NovaRescueCase } from "./model.js";
import { compareObservedDevices, unrescueStorageDifference } from "./observed.js";
import { BOOT_NAMES } from "./static-properties.js";

type Boots = Record<string, BootRecord>;
const bootOf = (boots: Boots, name: string): BootRecord => bootNamed(boots, name, BOOT_NAMES);
const observed = observedOrFailure;

function diskWithRole(boot: BootRecord, role: string): DiskDevice | undefined {
  return disksWithRole(boot.machine, boot.topology, role)[0];
}

/** Why a boot that should have started `role` started something else, with the firmware's excuse if known. */
function wrongRoleMessage(boot: BootRecord, role: string): string {
  const saw = boot.observation
    ? (boot.observation.role ?? "no role (bootproof.role missing from the command line)")
    : "nothing the probe could report";
  let message = `the ${boot.name} boot started '${saw}', expected '${role}'`;
  const disk = diskWithRole(boot, role);
  if (disk) {
    const gap = knownFirmwareGap(boot.machine, disk);
    message += gap ? `; ${gap}` : `; the ${role} device is '${disk.id}' (${disk.kind})`;
  }
  return message;
}

function bootsRoot(boot: BootRecord): PropertyOutcome {
  return boot.observation?.role === "root" ? pass() : fail(wrongRoleMessage(boot, "root"));
}

export const normalBootsRoot: Property<NovaRescueCase> = {
  name: "P1-normal-boots-root",
  description: "a normal boot starts the root disk (the guest reports bootproof.role=root)",
  check: (_input, boots) => bootsRoot(bootOf(boots, "normal")),
};

export const rescueBootsRescueMedia: Property<NovaRescueCase> = {
  name: "P2-rescue-boots-rescue-media",
  description:
    "a rescue boot starts the rescue media; for a floppy (too small for a kernel) the proof is SeaBIOS's own 'Booting from Floppy' line and stops at the firmware",
  check(_input, boots) {
    const boot = bootOf(boots, "rescue");
    const device = diskWithRole(boot, "rescue");
    if (!device) return fail("the rescue boot has no disk whose media role is 'rescue'; the driver attached no rescue device");
    if (device.kind !== "floppy") return boot.observation?.role === "rescue" ? pass() : fail(wrongRoleMessage(boot, "rescue"));

    const gap = knownFirmwareGap(boot.machine, device);
    if (gap)
      return fail(
        `the rescue floppy '${device.id}' cannot boot first: ${gap}; the guest started '${boot.observation?.role ?? "nothing"}'`,
        "firmware",
      );
    if (boot.firmwareLog.length === 0)
      return fail(
        "no SeaBIOS debug log was captured, so the floppy boot cannot be proven; set machine.firmwareLog for floppy rescues",
        "firmware",
      );
    const attempts = seabiosBootAttempts(boot.firmwareLog);
    const first = attempts[0];
    if (!first) return fail(`SeaBIOS's log has no 'Booting from' line (${boot.firmwareLog.length} lines captured)`, "firmware");
    if (!seabiosEntryFor(device).test(first))
      return fail(
        `SeaBIOS booted '${first}' first, not the rescue floppy (attempts in order: ${attempts.join(", ")})`,
        "firmware",
      );
    return pass("firmware");
  },
};

export const rescueKeepsNormalDevices: Property<NovaRescueCase> = {
  name: "P3-rescue-keeps-normal-devices",
  description:
    "every block device of the normal boot appears in the rescue boot with identical kernel name, serial, PCI BDF, SCSI H:C:T:L and USB path (matched by serial, else bus + model + size)",
  check(_input, boots) {
    const normal = observed(bootOf(boots, "normal"));
    if (isOutcome(normal)) return normal;
    const rescue = observed(bootOf(boots, "rescue"));
    if (isOutcome(rescue)) return rescue;
    const seen = normal.blockDevices.length;
    const machine = bootOf(boots, "normal").machine;
    const attached = machine.disks.length;
    // A guest that saw fewer disks than were attached would make the comparison vacuous.
    if (seen < attached) {
      const ideUnderOvmf =
        machine.firmware.kind === "ovmf" &&
        machine.machineType === "pc" &&
        machine.disks.some((d) => d.kind === "ide-hd" || d.kind === "ide-cd");
      return fail(
        `the normal boot's guest saw ${seen} block devices but the machine has ${attached}; ${
          ideUnderOvmf
            ? "after OVMF on pc, Linux finds no device on the PIIX3 IDE channels (measured): the driver's IDE devices are invisible to this guest"
            : "a driver module or the settle wait is missing"
        }`,
      );
    }
    const difference = compareObservedDevices(normal.blockDevices, rescue.blockDevices, "normal", "rescue");
    return difference ? fail(difference) : pass();
  },
};

export const unrescueRestoresNormal: Property<NovaRescueCase> = {
  name: "P4-unrescue-restores-normal",
  description:
    "after unrescue the root disk boots again and every device is back at its normal identity (WWN included), with no rescue device left",
  check(_input, boots) {
    const root = bootsRoot(bootOf(boots, "unrescue"));
    if (!root.ok) return root;
    const normal = observed(bootOf(boots, "normal"));
    if (isOutcome(normal)) return normal;
    const unrescue = observed(bootOf(boots, "unrescue"));
    if (isOutcome(unrescue)) return unrescue;
    const difference = unrescueStorageDifference(normal.blockDevices, unrescue.blockDevices);
    return difference ? fail(difference) : pass();
  },
};

export const rescueFirstInBootOrder: Property<NovaRescueCase> = {
  name: "P5-rescue-first-in-bootorder",
  description: "the fw_cfg bootorder the rescue guest read lists the rescue device first",
  check(_input, boots) {
    const boot = bootOf(boots, "rescue");
    const device = diskWithRole(boot, "rescue");
    if (!device) return fail("the rescue boot has no disk whose media role is 'rescue'");
    const observation = observed(boot);
    if (isOutcome(observation)) return observation;
    const order = observation.bootOrder;
    if (order === null) return fail("the guest could not read fw_cfg bootorder (is the qemu_fw_cfg module in the probe?)");
    const expected = bootPathPattern(boot.machine, device);
    const first = order[0];
    if (first === undefined) return fail(`fw_cfg bootorder is empty; the rescue device '${device.id}' has no boot priority`);
    if (!expected.test(first)) {
      const position = order.findIndex((line) => expected.test(line));
      const where = position < 0 ? "is not listed at all" : `is entry ${position + 1}`;
      return fail(
        `fw_cfg bootorder starts with ${first}; the rescue device '${device.id}' (${device.kind}, expected ${expected.source}) ${where}`,
      );
    }
    return pass();
  },
};

export const novaBootProperties: Array<Property<NovaRescueCase>> = [
  normalBootsRoot,
  rescueBootsRescueMedia,
  rescueKeepsNormalDevices,
  unrescueRestoresNormal,
  rescueFirstInBootOrder,
];
