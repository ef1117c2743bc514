// The built-in scenarios, loaded lazily so `bootproof` starts fast whatever it runs.
import { existsSync } from "node:fs";
import { missingRequirements } from "../harness/doctor/requirements.js";
import { InputError } from "../harness/errors.js";
import type { Scenario } from "../harness/scenario.js";

/** Which driver decides a scenario that has both a real driver and a model of the spec. */
export type DriverKind = "real" | "model";

export interface ScenarioLoadOptions {
  /** Unset: the real driver when its packages are installed, else the model. */
  driver?: DriverKind;
  /** A Nova source tree to test instead of Debian's python3-nova (real driver only). */
  novaSrc?: string;
}

type Loader = (options: ScenarioLoadOptions) => Promise<{ default: Scenario<never> }>;

export interface BuiltInScenario {
  description: string;
  load: Loader;
  /** Set for scenarios a real driver can decide: the packages it needs and the default. */
  drivers?: { realGroup: "real-nova" | "real-ironic" | "real-sahara"; defaultDriver(): DriverKind };
}

/** True when Debian's Nova, libvirt's embedded driver and python3-libvirt are installed. */
export function realNovaInstalled(): boolean {
  return missingRequirements(existsSync, ["real-nova"]).length === 0;
}

const novaDefaultDriver = (): DriverKind => (realNovaInstalled() ? "real" : "model");

/** True when Debian's Ironic (and ironic-lib) are installed. */
export function realIronicInstalled(): boolean {
  return missingRequirements(existsSync, ["real-ironic"]).length === 0;
}

const ironicDefaultDriver = (): DriverKind => (realIronicInstalled() ? "real" : "model");

export const BUILT_IN_SCENARIOS: Record<string, BuiltInScenario> = {
  smoke: {
    description: "direct kernel boot, SeaBIOS from a raw virtio disk, OVMF from a UEFI disk",
    load: () => import("./smoke.js") as unknown as ReturnType<Loader>,
  },
  "ironic-iscsi": {
    description:
      "Ironic boot from an iSCSI volume (--driver real: Ironic's conductor code decides and writes the iPXE boot, served over HTTP; model: the spec's model over TFTP), BIOS and UEFI",
    drivers: { realGroup: "real-ironic", defaultDriver: ironicDefaultDriver },
    load: async (options) => {
      if ((options.driver ?? ironicDefaultDriver()) === "model")
        return import("./ironic/index.js") as unknown as ReturnType<Loader>;
      return import("./ironic/real/index.js") as unknown as ReturnType<Loader>;
    },
  },
  "sahara-bfv": {
    description:
      "Sahara boot from volume: real Sahara's Heat stack for generated node groups, what Heat and Cinder would do with it, real Nova's server and libvirt domain, booted (real driver only: real-sahara and real-nova)",
    drivers: { realGroup: "real-sahara", defaultDriver: () => "real" },
    load: async (options) => ({
      default: (await import("./sahara/index.js")).loadSaharaBfv(options) as unknown as Scenario<never>,
    }),
  },
  "ironic-nfs": {
    description:
      "Ironic scenario 5 on the spec's model (Ironic 21.4.4 has no NFS root path): iPXE loads the conductor's kernel and ramdisk over HTTP, the root is bootproof's NFSv3 export, BIOS and UEFI",
    load: async () => ({ default: (await import("./ironic-nfs/index.js")).ironicNfsScenario as unknown as Scenario<never> }),
  },
  "nova-rescue": {
    description:
      "Nova rescue with stable devices: normal, rescue, unrescue boots of generated instances (--driver real: Nova's LibvirtDriver + libvirt; model: the spec's model)",
    drivers: { realGroup: "real-nova", defaultDriver: novaDefaultDriver },
    load: async (options) => {
      if ((options.driver ?? novaDefaultDriver()) === "model") return import("./nova/index.js") as unknown as ReturnType<Loader>;
      const { realNovaScenario } = await import("./nova/real/index.js");
      return { default: realNovaScenario({ novaSrc: options.novaSrc }) as unknown as Scenario<never> };
    },
  },
  "nova-placeholder": {
    description:
      "boot a volume-backed server's snapshot (the placeholder image), alone or with the request's own mappings: real Nova snapshots, merges and builds, a real guest boots the restored volume",
    drivers: { realGroup: "real-nova", defaultDriver: () => "real" },
    load: async (options) => {
      if (options.driver === "model")
        throw new InputError(
          "nova-placeholder has no model driver: real Nova decides it (install python3-nova: `bootproof doctor --fix`)",
        );
      const { placeholderScenario } = await import("./nova-placeholder/index.js");
      return { default: placeholderScenario({ novaSrc: options.novaSrc }) as unknown as Scenario<never> };
    },
  },
  "ironic-hba": {
    description:
      "Ironic boot from a Fibre Channel volume through the node's HBA (seed 002, scenario 3, real driver only): real Ironic validates, attaches with the node's WWPNs and leaves the boot device at disk; the firmware boots the pre-populated LU through a SCSI HBA with FC identities",
    drivers: { realGroup: "real-ironic", defaultDriver: () => "real" },
    load: async (options) => {
      if (options.driver === "model")
        throw new InputError(
          "ironic-hba has no model driver: real Ironic decides it (install python3-ironic: `bootproof doctor --fix`)",
        );
      return { default: (await import("./ironic-hba/index.js")).ironicHbaScenario() as unknown as Scenario<never> };
    },
  },
  "nova-dpm": {
    description:
      "nova-dpm boot from an FC volume through a partition's vHBA (spec model, retries the next target WWPN then the other adapter): HBAs whose LUs cross bootproof's SAN with FC identities",
    load: async () => ({ default: (await import("./nova-dpm/index.js")).novaDpmScenario("retry") as unknown as Scenario<never> }),
  },
  "nova-dpm-no-retry": {
    description: "nova-dpm's driver without a retry: with the first target port down it must fail, naming the port",
    load: async () => ({
      default: (await import("./nova-dpm/index.js")).novaDpmScenario("no-retry") as unknown as Scenario<never>,
    }),
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

/**
 * Seed scenarios this host cannot boot, and why: listed by `bootproof list` and refused by
 * `bootproof run` with the reason, rather than emulated with a fake that proves nothing.
 */
export const NOT_BOOTABLE_HERE: Record<string, string> = {
  "ironic-fcoe":
    "seed 002 scenario 2 (iPXE boot from Fibre Channel over Ethernet): Debian's iPXE is built without FCoE (NET_PROTO_FCOE is off in iPXE's default config/general.h; its EFI ROMs carry the string 'iscsi' and no 'fcoe' or 'fcp://'), QEMU has no FCoE-capable NIC or HBA firmware, and no other FCoE boot firmware exists here",
};
