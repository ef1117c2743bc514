// What real Ironic's boot from volume promises, checked inside the guest that booted what
// Ironic wrote: it booted the boot_index 0 volume, the iBFT says what Cinder said, and no
// secret of the node reached bootproof's artifacts.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { BootRecord, Property } from "../../../harness/scenario.js";
import { fail, isOutcome, observedOrFailure, pass } from "../../common/outcomes.js";
import { ibftLunText } from "../properties.js";
import { bootVolumeOf, type IronicRealCase, type IronicVolume, volumeRole } from "./case.js";
import { BOOT_NAME } from "./driver.js";

/** iBFT CHAP type: 0 none, 1 one-way, 2 mutual. */
const chapType = (volume: IronicVolume) => (!volume.connection.chap ? "0" : volume.connection.chap.reverse ? "2" : "1");

/** (b) the guest booted the boot_index 0 volume (its role marker and its serial). */
const bootedBootVolume: Property<IronicRealCase> = {
  name: "booted-boot-index-0-volume",
  // The firmware boots the LU over INT13 / EFI SAN; the guest's kernel has no iSCSI session,
  // so the LU's own role marker (read from the booted medium) is the proof, not a disk serial.
  description: "the guest booted the boot_index 0 volume (the role marker on that LU's medium)",
  check: (input, boots) => {
    const boot = boots[BOOT_NAME];
    if (!boot) return pass(); // Ironic wrote no boot from volume: the static properties judge that
    const observation = observedOrFailure(boot);
    if (isOutcome(observation)) return observation;
    const volume = bootVolumeOf(input)!;
    if (observation.role !== volumeRole(volume))
      return fail(`the guest booted '${observation.role}', the boot_index 0 volume is '${volumeRole(volume)}'`);
    return pass();
  },
};

const ibftMismatch = (what: string, seen: string | undefined, want: string) =>
  fail(`iBFT ${what} is ${seen === undefined ? "missing" : `'${seen}'`}, Cinder said '${want}'`);

/** (c) the iBFT names the node's initiator and every volume as Cinder described it. */
const ibftMatchesCinder: Property<IronicRealCase> = {
  name: "ibft-matches-cinder",
  description:
    "the iBFT the firmware left names the connector's initiator IQN and, for every volume, Cinder's target IQN, first portal, LUN and CHAP type",
  check: (input, boots) => {
    const boot = boots[BOOT_NAME];
    if (!boot) return pass();
    // Why the boot never got there is booted-boot-index-0-volume's message; not repeated here.
    if (!boot.observation) return fail("no observation: the boot never reached the probe (see booted-boot-index-0-volume)");
    const ibft = boot.observation.ibft;
    if (!ibft) return fail("the guest found no iBFT (/sys/firmware/ibft is empty)");
    const initiator = ibft.initiator?.["initiator-name"];
    if (initiator !== input.connector?.connectorId)
      return ibftMismatch("initiator-name", initiator, input.connector?.connectorId ?? "");
    const targets = Object.entries(ibft).filter(([section]) => section.startsWith("target"));
    for (const volume of input.volumes) {
      const { connection } = volume;
      const target = targets.find(([, t]) => t["target-name"] === connection.targetIqn)?.[1];
      if (!target)
        return fail(
          `no iBFT target names volume ${volume.volumeId}'s ${connection.targetIqn} (boot_index ${volume.bootIndex}); targets: ${targets.map(([, t]) => t["target-name"]).join(", ") || "none"}`,
        );
      const portal = connection.portals[0]!;
      const checks: Array<[string, string | undefined, string]> = [
        ["ip-addr", target["ip-addr"], portal.host],
        ["port", target.port, String(portal.port)],
        ["lun", target.lun, ibftLunText(connection.targetLun)],
        ["chap-type", target["chap-type"], chapType(volume)],
      ];
      if (connection.chap) checks.push(["chap-name", target["chap-name"], connection.chap.username]);
      for (const [what, seen, want] of checks)
        if (seen !== want) return ibftMismatch(`${connection.targetIqn} ${what}`, seen, want);
    }
    return pass();
  },
};

/** Every regular file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    const stats = statSync(path, { throwIfNoEntry: false });
    if (!stats) return [];
    return stats.isDirectory() ? filesUnder(path) : stats.isFile() ? [path] : [];
  });
}

/** (e) the node's CHAP secrets never reach the boot's artifacts (Ironic's script holds them). */
const secretsStayOut: Property<IronicRealCase, BootRecord> = {
  name: "secrets-not-in-artifacts",
  description: "no CHAP secret of the node appears in any artifact of the boot (console log, Ironic's decision, its script)",
  check: (input, boots) => {
    const boot = boots[BOOT_NAME];
    if (!boot?.artifactDir) return pass();
    const secrets = input.volumes
      .flatMap((v) => [v.connection.chap?.password, v.connection.chap?.reverse?.password])
      .filter((s): s is string => typeof s === "string" && s.length >= 4);
    if (secrets.length === 0) return pass();
    for (const file of filesUnder(boot.artifactDir)) {
      const content = readFileSync(file, "latin1");
      const leaked = secrets.findIndex((s) => content.includes(s));
      if (leaked !== -1) return fail(`a CHAP secret (volume #${leaked}) appears in artifact ${file}`);
    }
    return pass();
  },
};

export const realIronicBootProperties: Array<Property<IronicRealCase>> = [bootedBootVolume, ibftMatchesCinder, secretsStayOut];
