// What the HBA boot Ironic decided must show inside the guest: the firmware booted the
// boot_index 0 volume (its role marker, and the LU WWN of the path it booted through), and the
// node's FC ports see every volume through the target ports Cinder named, and nothing else.
import type { BootRecord, Property } from "../../harness/scenario.js";
import { bdfForSlot } from "../common/identity.js";
import { fail, isOutcome, observedOrFailure, pass } from "../common/outcomes.js";
import { describeSanPath, observedSanPaths } from "../common/san-observed.js";
import { bootVolumeOf, type IronicHbaCase, targetWwns, volumeRole } from "./case.js";
import { deployProperties } from "./deploy-properties.js";
import { BOOT_NAME, hbaSlot } from "./driver.js";

const bootedBootLu: Property<IronicHbaCase> = {
  name: "booted-boot-index-0-lu",
  description: "the firmware booted the boot_index 0 volume through the HBA: its role marker, and the booted path's LU WWN",
  check: (input, boots) => {
    const boot = boots[BOOT_NAME];
    if (!boot) return pass(); // Ironic booted nothing from the volume: the static properties judge that
    const observation = observedOrFailure(boot);
    if (isOutcome(observation)) return observation;
    const volume = bootVolumeOf(input)!;
    if (observation.role !== volumeRole(volume))
      return fail(`the guest booted '${observation.role}', the boot_index 0 volume is '${volumeRole(volume)}'`);
    const booted = observedSanPaths(observation).find((p) => p.booted);
    if (!booted)
      return fail(`the guest names no SAN path the firmware booted (boot order ${JSON.stringify(observation.bootOrder)})`);
    if (booted.lunWwn !== volume.lunWwn)
      return fail(`the firmware booted ${describeSanPath(booted)}; the boot_index 0 volume is LU ${volume.lunWwn}`);
    return pass();
  },
};

/** Every (HBA, LU, target port) the node's records zone, as "bdf lu port". */
function expectedPaths(input: IronicHbaCase): Set<string> {
  const hbas = Math.max(1, input.connectors.wwpns.length);
  return new Set(
    input.volumes.flatMap((v) =>
      Array.from({ length: hbas }, (_, h) => targetWwns(v).map((port) => `${bdfForSlot(hbaSlot(h))} ${v.lunWwn} ${port}`)).flat(),
    ),
  );
}

const seesZonedVolumes: Property<IronicHbaCase, BootRecord> = {
  name: "sees-volumes-through-named-ports",
  description:
    "each of the node's FC ports sees every volume through each target WWPN Cinder named for it (target_wwn, initiator_target_map), and no other LU or port",
  check: (input, boots) => {
    const boot = boots[BOOT_NAME];
    if (!boot) return pass();
    if (!boot.observation) return fail("no observation: the boot never reached the probe (see booted-boot-index-0-lu)");
    const want = expectedPaths(input);
    const seen = observedSanPaths(boot.observation);
    const seenKeys = new Set(seen.map((p) => `${p.pciBdf} ${p.lunWwn} ${p.targetPortWwn}`));
    const missing = [...want].filter((k) => !seenKeys.has(k));
    const extra = seen.filter((p) => !want.has(`${p.pciBdf} ${p.lunWwn} ${p.targetPortWwn}`));
    if (missing.length > 0) return fail(`the guest lacks these paths (HBA, LU WWN, target WWPN): ${missing.join("; ")}`);
    if (extra.length > 0) return fail(`the guest sees paths no record names: ${extra.map(describeSanPath).join("; ")}`);
    return pass();
  },
};

export const hbaBootProperties: Array<Property<IronicHbaCase>> = [bootedBootLu, seesZonedVolumes, ...deployProperties];
