// Smoke: the whole pipeline on the three basic boot paths. Each variant checks that the
// guest booted the medium it was meant to (role marker) and sees every declared disk with
// its declared serial at its declared PCI address.
import type { MachineInput } from "../emulator/machine.js";
import { defineScenario } from "../harness/scenario.js";
import { checkDeclaredDisks, isOutcome, observed } from "./common/identity.js";

export type SmokeVariant = "direct" | "bios-disk" | "uefi-disk";

function machineFor(variant: SmokeVariant): MachineInput {
  const dataDisk = [{ id: "data", file: "" }];
  const disks: MachineInput["disks"] = [{ kind: "virtio-blk", id: "data-disk", drive: "data", serial: "BP-DATA-1", pciSlot: 6 }];
  if (variant === "direct") {
    return { name: "smoke-direct", drives: dataDisk, disks };
  }
  return {
    name: `smoke-${variant}`,
    firmware: variant === "uefi-disk" ? { kind: "ovmf" } : { kind: "seabios" },
    drives: [{ id: "root", file: "" }, ...dataDisk],
    disks: [{ kind: "virtio-blk", id: "root-disk", drive: "root", serial: "BP-ROOT-1", pciSlot: 5, bootIndex: 0 }, ...disks],
  };
}

export default defineScenario<SmokeVariant>({
  name: "smoke",
  description: "direct kernel boot, SeaBIOS from a raw virtio disk, OVMF from a UEFI disk",
  examples: [
    { name: "direct", input: "direct" },
    { name: "bios-disk", input: "bios-disk" },
    { name: "uefi-disk", input: "uefi-disk" },
  ],
  boots: (variant) => [
    {
      name: "boot",
      topology: {
        machine: machineFor(variant),
        media: {
          data: { kind: "blank", sizeMiB: 8 },
          ...(variant === "direct" ? {} : { root: { kind: variant, role: "root" } as const }),
        },
        directBoot: variant === "direct" ? { role: "root" } : undefined,
      },
    },
  ],
  properties: [
    {
      name: "booted-declared-medium",
      description: "the guest reports the role marker of the medium it was meant to boot",
      check: (_variant, boots) => {
        const observation = observed(boots.boot, "boot");
        if (isOutcome(observation)) return observation;
        return observation.role === "root"
          ? { ok: true }
          : { ok: false, message: `booted role '${observation.role}', expected 'root'` };
      },
    },
    {
      name: "declared-disks-visible",
      description: "every declared disk is visible with its serial at its pinned PCI address",
      check: (_variant, boots) => {
        const observation = observed(boots.boot, "boot");
        if (isOutcome(observation)) return observation;
        return checkDeclaredDisks(boots.boot!.machine, observation);
      },
    },
  ],
});
