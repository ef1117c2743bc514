// What a nova-dpm partition must show, judged from the guest: it boots the boot_index 0
// volume, through the vHBA and target WWPN the driver chose, and sees no LU Cinder did not
// map to it through a target port not zoned to the vHBA. The decision is recomputed from the
// case with the driver model, so a property reads only the case and the boots.
import type { BootRecord, Property, PropertyOutcome } from "../../harness/scenario.js";
import { bdfForSlot } from "../common/identity.js";
import { describeSanPath, type ObservedSanPath, observedSanPaths } from "../common/san-observed.js";
import type { NovaDpmCase } from "./case.js";
import { attemptName, decide, hbaSlot, volumeRole } from "./driver.js";
import type { DpmBootParameters, DpmDriverVariant } from "./model.js";

const describeAttempt = (a: DpmBootParameters) =>
  `vHBA ${a["boot-storage-device"]}, target WWPN ${a["boot-world-wide-port-name"]}, LUN ${a["boot-logical-unit-number"]}`;

/** The attempts that ran, in order, with their boot parameters. */
function ranAttempts(variant: DpmDriverVariant, c: NovaDpmCase, boots: Record<string, BootRecord>) {
  return decide(variant, c).attempts.flatMap((attempt, i) => {
    const boot = boots[attemptName(i)];
    return boot ? [{ attempt, boot, name: attemptName(i) }] : [];
  });
}

/** The attempt that booted (the driver stops there), or a failure naming every attempt and the down ports. */
function bootedAttempt(
  variant: DpmDriverVariant,
  c: NovaDpmCase,
  boots: Record<string, BootRecord>,
): { attempt: DpmBootParameters; boot: BootRecord; name: string } | PropertyOutcome {
  const ran = ranAttempts(variant, c, boots);
  const booted = ran.find((r) => r.boot.observation !== null);
  if (booted) return booted;
  const lines = ran.map(({ attempt, boot, name }) => {
    const down = c.downPorts.includes(attempt["boot-world-wide-port-name"])
      ? `; target port ${attempt["boot-world-wide-port-name"]} is down`
      : "";
    return `${name} (${describeAttempt(attempt)}) did not boot${down}: ${boot.failure ?? "no observation"}`;
  });
  const retry = variant === "no-retry" ? " (this driver does not retry another WWPN or adapter)" : "";
  return { ok: false, message: `the partition never booted${retry}:\n${lines.join("\n")}` };
}

const isOutcome = (v: object): v is PropertyOutcome => typeof (v as PropertyOutcome).ok === "boolean";

export function novaDpmProperties(variant: DpmDriverVariant): Array<Property<NovaDpmCase>> {
  return [
    {
      name: "boots-boot-index-0-volume",
      description: "the partition boots the volume whose boot_index is 0 (its role marker and its LU WWN)",
      check: (c, boots) => {
        const booted = bootedAttempt(variant, c, boots);
        if (isOutcome(booted)) return booted;
        const { bootVolumeIndex } = decide(variant, c);
        const volume = c.volumes[bootVolumeIndex]!;
        const observation = booted.boot.observation!;
        if (observation.role !== volumeRole(volume.volumeId))
          return {
            ok: false,
            message: `${booted.name} booted role '${observation.role}', expected '${volumeRole(volume.volumeId)}' (volume ${volume.volumeId}, boot_index 0)`,
          };
        const path = observedSanPaths(observation).find((p) => p.booted);
        if (path?.lunWwn !== volume.wwn)
          return {
            ok: false,
            message: `${booted.name} booted ${path ? describeSanPath(path) : "no SAN path the guest can name"}, expected LU ${volume.wwn}`,
          };
        return { ok: true };
      },
    },
    {
      name: "boots-through-chosen-vhba-and-wwpn",
      description: "the path the firmware booted is on the chosen vHBA's HBA and reports the chosen target WWPN",
      check: (c, boots) => {
        const booted = bootedAttempt(variant, c, boots);
        if (isOutcome(booted)) return booted;
        const { vhbas } = decide(variant, c);
        const bdf = bdfForSlot(hbaSlot(vhbas, booted.attempt["boot-storage-device"]));
        const paths = observedSanPaths(booted.boot.observation!);
        const path = paths.find((p) => p.booted);
        const wwpn = booted.attempt["boot-world-wide-port-name"];
        if (!path)
          return {
            ok: false,
            message: `${booted.name}: the guest names no booted SAN path (boot order ${JSON.stringify(booted.boot.observation!.bootOrder)})`,
          };
        if (path.pciBdf !== bdf || path.targetPortWwn !== wwpn)
          return {
            ok: false,
            message: `${booted.name} chose ${describeAttempt(booted.attempt)} (HBA at ${bdf}), but booted ${describeSanPath(path)} at ${path.pciBdf}`,
          };
        return { ok: true };
      },
    },
    {
      name: "sees-only-mapped-lus",
      description: "every LU the partition sees was mapped to it, through a target port zoned to that vHBA",
      check: (c, boots) => {
        const { vhbas } = decide(variant, c);
        const problems: string[] = [];
        for (const { boot, name } of ranAttempts(variant, c, boots)) {
          if (!boot.observation) continue;
          for (const path of observedSanPaths(boot.observation)) problems.push(...unmappedPath(c, vhbas, name, path));
        }
        return problems.length ? { ok: false, message: problems.join("\n") } : { ok: true };
      },
    },
  ];
}

function unmappedPath(c: NovaDpmCase, vhbas: ReturnType<typeof decide>["vhbas"], boot: string, path: ObservedSanPath): string[] {
  const index = c.volumes.findIndex((v) => v.wwn === path.lunWwn);
  if (index === -1) {
    const other = c.unmappedVolumes.find((v) => v.wwn === path.lunWwn);
    return [
      `${boot}: the partition sees ${describeSanPath(path)}${other ? `, volume ${other.volumeId}, which Cinder did not map to it` : ", which no volume has"}`,
    ];
  }
  const vhba = vhbas.find((v) => bdfForSlot(hbaSlot(vhbas, v.deviceNumber)) === path.pciBdf);
  const zoned = vhba
    ? (c.blockDeviceInfo.block_device_mapping[index]!.connection_info.data.initiator_target_map[vhba.wwpn] ?? [])
    : [];
  if (!vhba || !path.targetPortWwn || !zoned.includes(path.targetPortWwn))
    return [
      `${boot}: the partition sees ${describeSanPath(path)} at ${path.pciBdf}, but that target port is not zoned to ${vhba ? `vHBA ${vhba.deviceNumber} (host WWPN ${vhba.wwpn})` : "any vHBA"} for volume ${c.volumes[index]!.volumeId}`,
    ];
  return [];
}
