// The built-in scenarios, loaded lazily so `bootproof` starts fast whatever it runs.
import type { Scenario } from "../harness/scenario.js";

type Loader = () => Promise<{ default: Scenario<never> }>;

export const BUILT_IN_SCENARIOS: Record<string, { description: string; load: Loader }> = {
  smoke: {
    description: "direct kernel boot, SeaBIOS from a raw virtio disk, OVMF from a UEFI disk",
    load: () => import("./smoke.js") as unknown as ReturnType<Loader>,
  },
  "ironic-iscsi": {
    description: "Ironic boot from an iSCSI volume: iPXE + built-in TFTP and iSCSI target, BIOS and UEFI",
    load: () => import("./ironic/index.js") as unknown as ReturnType<Loader>,
  },
  "nova-rescue": {
    description: "Nova rescue with stable disk devices: normal, rescue, unrescue boots of generated instances",
    load: () => import("./nova/index.js") as unknown as ReturnType<Loader>,
  },
  "nova-rescue-firmware-gaps": {
    description: "nova-rescue over what the firmware cannot boot (LSI, floppy, IDE on pc under OVMF): every case must fail",
    load: async () => ({ default: (await import("./nova/index.js")).novaFirmwareGapsScenario as Scenario<never> }),
  },
  ...Object.fromEntries(
    (["m1", "m2", "m3"] as const).map((mutant) => [
      `nova-rescue-${mutant}`,
      {
        description: `nova-rescue against deliberately wrong driver ${mutant.toUpperCase()} (must fail)`,
        load: async () => ({
          default: (await import("./nova/mutant-scenarios.js")).NOVA_MUTANT_SCENARIOS[
            `nova-rescue-${mutant}`
          ]! as Scenario<never>,
        }),
      },
    ]),
  ),
};
