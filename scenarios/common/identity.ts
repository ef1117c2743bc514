// Pure helpers that relate a declared machine to what the guest observed: where a declared
// disk must appear (PCI BDF, SCSI target/LUN, serial) and which observed device it is.
import type { DiskDevice, Machine } from "../../emulator/machine.js";
import type { Observation, ObservedBlockDevice } from "../../firmware/observation.js";
import type { BootRecord, PropertyOutcome } from "../../harness/scenario.js";

/** "00:05.0" for a device pinned to slot 5 on bus 0. */
export function bdfForSlot(slot: number): string {
  return `00:${slot.toString(16).padStart(2, "0")}.0`;
}

/** The PCI slot through which the guest reaches the disk, when the machine pins it. */
export function expectedPciSlot(machine: Machine, disk: DiskDevice): number | undefined {
  switch (disk.kind) {
    case "virtio-blk":
      return disk.pciSlot;
    case "scsi-hd":
    case "scsi-cd":
    case "usb-storage":
      return machine.controllers.find((c) => c.id === disk.controller)?.pciSlot;
    default:
      return undefined;
  }
}

export function findBySerial(observation: Observation, serial: string): ObservedBlockDevice | undefined {
  return observation.blockDevices.find((d) => d.serial === serial);
}

/** Requires an observation; a boot that never reached the probe fails every guest-level property. */
export function observed(boot: BootRecord | undefined, name: string): Observation | PropertyOutcome {
  if (!boot) return { ok: false, message: `the case has no boot named '${name}'` };
  if (!boot.observation)
    return { ok: false, message: `boot '${name}' never reached the probe: ${boot.failure ?? "no observation"}` };
  return boot.observation;
}

export function isOutcome<T extends object>(value: T | PropertyOutcome): value is PropertyOutcome {
  return typeof (value as PropertyOutcome).ok === "boolean";
}

/**
 * Every declared disk with a serial is visible with that serial, at the pinned PCI address
 * and (for SCSI) at the declared target and LUN.
 */
export function checkDeclaredDisks(machine: Machine, observation: Observation): PropertyOutcome {
  const problems: string[] = [];
  for (const disk of machine.disks) {
    if (disk.kind === "floppy" || !disk.serial) continue;
    const device = findBySerial(observation, disk.serial);
    if (!device) {
      const seen = observation.blockDevices.map((d) => `${d.name}(${d.serial ?? "no serial"})`).join(", ") || "none";
      problems.push(`disk '${disk.id}' (${disk.kind}, serial ${disk.serial}) is not visible in the guest; devices seen: ${seen}`);
      continue;
    }
    const slot = expectedPciSlot(machine, disk);
    if (slot !== undefined && device.pciBdf !== bdfForSlot(slot)) {
      problems.push(
        `disk '${disk.id}' (serial ${disk.serial}) is at PCI ${device.pciBdf ?? "none"}, declared ${bdfForSlot(slot)}`,
      );
    }
    if ((disk.kind === "scsi-hd" || disk.kind === "scsi-cd") && device.hctl) {
      const [, channel, target, lun] = device.hctl.split(":").map(Number);
      if (channel !== disk.channel || target !== disk.scsiId || lun !== disk.lun) {
        problems.push(
          `disk '${disk.id}' is at SCSI ${device.hctl}, declared channel ${disk.channel} target ${disk.scsiId} LUN ${disk.lun}`,
        );
      }
    }
  }
  return problems.length === 0 ? { ok: true } : { ok: false, message: problems.join("; ") };
}
