// What Ironic's iSCSI boot from volume promises, checked inside the guest: it booted the
// boot_index 0 volume, and the iBFT the firmware left for the OS names the node's initiator
// and the boot target exactly; every extra volume was hooked (the target saw its login).
import type { BootRecord, Property, PropertyOutcome } from "../../harness/scenario.js";
import { isOutcome, observed } from "../common/identity.js";
import { bootVolume } from "./driver.js";
import { type IronicCase, volumeRole } from "./model.js";

/**
 * The 8-byte SAM LUN the iBFT carries, as Linux's iscsi_ibft prints it: each byte in %x
 * without zero padding (LUN 1 → bytes 00 01 00.. → "01000000"). Single-level addressing,
 * flat space (0x40) above 255.
 */
export function ibftLunText(lun: number): string {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt16BE(lun < 256 ? lun : 0x4000 | lun, 0);
  return [...bytes].map((b) => b.toString(16)).join("");
}

/** iBFT CHAP type: 0 none, 1 one-way, 2 mutual. */
function expectedChapType(testCase: IronicCase): string {
  const p = bootVolume(testCase.node).properties;
  if (p.authMethod !== "CHAP") return "0";
  return p.reverseUsername ? "2" : "1";
}

function ibftOf(boots: Record<string, BootRecord>) {
  const observation = observed(boots.boot, "boot");
  if (isOutcome(observation)) return observation;
  if (!observation.ibft)
    return { ok: false, message: "the guest found no iBFT (/sys/firmware/ibft is empty)" } satisfies PropertyOutcome;
  return observation.ibft;
}

const mismatch = (what: string, seen: string | undefined, want: string): PropertyOutcome => ({
  ok: false,
  message: `iBFT ${what} is ${seen === undefined ? "missing" : `'${seen}'`}, the node says '${want}'`,
});

export const ironicProperties: Array<Property<IronicCase>> = [
  {
    name: "booted-boot-index-0-volume",
    description: "the guest booted the volume with boot_index 0 (its role marker)",
    check: (testCase, boots) => {
      const observation = observed(boots.boot, "boot");
      if (isOutcome(observation)) return observation;
      const want = volumeRole(bootVolume(testCase.node));
      return observation.role === want
        ? { ok: true }
        : { ok: false, message: `booted '${observation.role}', expected '${want}'` };
    },
  },
  {
    name: "ibft-initiator",
    description: "the iBFT initiator name is the node's volume connector IQN",
    check: (testCase, boots) => {
      const ibft = ibftOf(boots);
      if (isOutcome(ibft)) return ibft;
      const seen = ibft.initiator?.["initiator-name"];
      const want = testCase.node.volumeConnector.connectorId;
      return seen === want ? { ok: true } : mismatch("initiator-name", seen, want);
    },
  },
  {
    name: "ibft-boot-target",
    description: "an iBFT target names the boot volume's IQN, the portal address and port, its LUN and CHAP type",
    check: (testCase, boots) => {
      const ibft = ibftOf(boots);
      if (isOutcome(ibft)) return ibft;
      const p = bootVolume(testCase.node).properties;
      const targets = Object.entries(ibft).filter(([section]) => section.startsWith("target"));
      const target = targets.find(([, attrs]) => attrs["target-name"] === p.targetIqn)?.[1];
      if (!target)
        return {
          ok: false,
          message: `no iBFT target names ${p.targetIqn}; targets: ${targets.map(([, a]) => a["target-name"]).join(", ") || "none"}`,
        };
      const portal = boots.boot!.endpoints.iscsi;
      const checks: Array<[string, string | undefined, string]> = [
        ["ip-addr", target["ip-addr"], portal?.host ?? "?"],
        ["port", target.port, String(portal?.port ?? "?")],
        ["lun", target.lun, ibftLunText(p.targetLun)],
        ["chap-type", target["chap-type"], expectedChapType(testCase)],
      ];
      if (p.authMethod === "CHAP") checks.push(["chap-name", target["chap-name"], p.authUsername!]);
      for (const [what, seen, want] of checks) if (seen !== want) return mismatch(`target ${what}`, seen, want);
      return { ok: true };
    },
  },
  {
    name: "extra-volumes-hooked",
    description: "every volume target other than boot_index 0 was logged in to by the guest's iPXE",
    check: (testCase, boots) => {
      const log = boots.boot?.serviceLog ?? [];
      const missing = testCase.node.volumeTargets
        .filter((t) => t.bootIndex !== 0)
        .filter(
          (t) =>
            !log.some((line) =>
              line.includes(`login: initiator ${testCase.node.volumeConnector.connectorId} → ${t.properties.targetIqn}`),
            ),
        );
      return missing.length === 0
        ? { ok: true }
        : { ok: false, message: `never hooked: ${missing.map((t) => t.properties.targetIqn).join(", ")}` };
    },
  },
];
