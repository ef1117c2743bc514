// Boot-free properties: real Ironic's decision against the spec's model (seed 002), and what
// Ironic wrote for the node's boot against what Cinder said. They run over every generated
// node before any guest starts (the sweep) and again on each booted case.
import type { IronicDecision } from "../../../harness/openstack/ironic.js";
import type { StaticProperty, Topology } from "../../../harness/scenario.js";
import { attachDetachProblem } from "../../common/cinder-calls.js";
import { fail, pass } from "../../common/outcomes.js";
import { bootVolumeOf, type IronicRealCase, type IronicVolume, portalIqn } from "./case.js";
import { decisionOf, nodeConfigOf } from "./driver.js";
import { type HookedDrive, hookedDrives, ipxeSetValue } from "./script.js";
import { specDecision } from "./spec-model.js";

const BOOT_DRIVE = 0x80;

const refusalText = (decision: IronicDecision) =>
  decision.refusal ? `${decision.refusal.stage}: ${decision.refusal.error.type}: ${decision.refusal.error.message}` : "";

/** What real Ironic ended up doing: refusing, writing an image, or booting from the volume. */
export function ironicOutcome(input: IronicRealCase, decision: IronicDecision): "refused" | "writes-image" | "boots-from-volume" {
  if (decision.refusal) return "refused";
  const bootFromVolume = Boolean(decision.driver_internal_info?.boot_from_volume) && nodeConfigOf(input, decision) !== undefined;
  return bootFromVolume && decision.should_write_image === false ? "boots-from-volume" : "writes-image";
}

/** (a) Ironic's decision agrees with the spec's conditions. */
const decisionAgrees: StaticProperty<IronicRealCase, Topology> = {
  name: "ironic-decision-matches-spec",
  description:
    "Ironic accepts exactly the nodes the spec accepts (storage interface, iscsi_boot, boot_index 0, an iqn connector) and boots from the volume exactly when the spec says so",
  check: (input) => {
    const decision = decisionOf(input);
    const spec = specDecision(input);
    const outcome = ironicOutcome(input, decision);
    const want = !spec.accepts ? "refused" : spec.bootsFromVolume ? "boots-from-volume" : "writes-image";
    if (outcome === want) return pass();
    if (outcome === "refused") return fail(`Ironic refused a node the spec accepts (${want}): ${refusalText(decision)}`);
    if (want === "refused")
      return fail(
        `Ironic accepted a node the spec refuses (${spec.refusals.join("; ")}): it went on to ${outcome === "boots-from-volume" ? "write the node's iSCSI boot" : "write an image"}`,
      );
    return fail(
      `the spec says the node ${want === "boots-from-volume" ? "boots from its boot_index 0 volume" : "gets an image written"}, Ironic's deploy ${outcome === "boots-from-volume" ? "boots from the volume" : `writes an image (should_write_image ${JSON.stringify(decision.should_write_image)})`}`,
    );
  },
};

/** The spec's storage interface: attach at deploy, detach at power off, attach again at power on. */
const attachDetach: StaticProperty<IronicRealCase, Topology> = {
  name: "cinder-attach-detach",
  description:
    "with Cinder storage every volume is attached (initialize_connection) at deploy, detached at power off and attached again at power on; other storage interfaces never call Cinder",
  check: (input) => {
    const decision = decisionOf(input);
    if (decision.refusal) return pass();
    const spec = specDecision(input);
    const problem = attachDetachProblem(decision, input.node.storageInterface, spec.cinderVolumes);
    return problem ? fail(problem) : pass();
  },
};

/** The root paths a volume's sanhook must carry: one per portal Cinder named. */
function checkHook(volume: IronicVolume, hook: HookedDrive): string | undefined {
  const { connection } = volume;
  const bad = hook.paths.find((p) => p.error);
  if (bad) return `Ironic wrote '${bad.text}', which iPXE cannot parse (${bad.error})`;
  const wanted = connection.portals.map((p) => `${p.host}:${p.port}`);
  const written = hook.paths.map((p) => `${p.parsed!.server}:${p.parsed!.port}`);
  if (wanted.join(" ") !== written.join(" "))
    return `Cinder named portals ${wanted.join(", ")}; Ironic's sanhook reaches ${written.join(", ")}`;
  for (const [i, path] of hook.paths.entries()) {
    const parsed = path.parsed!;
    if (parsed.lun !== connection.targetLun)
      return `Cinder said LUN ${connection.targetLun}; Ironic wrote '${path.text}', whose LUN iPXE reads as ${parsed.lun} (iPXE reads the LUN field in hex)`;
    if (parsed.targetIqn !== portalIqn(volume, i))
      return `Cinder said portal ${wanted[i]} leads to ${portalIqn(volume, i)} (target_iqns); Ironic wrote '${path.text}'`;
  }
  return undefined;
}

function checkCredentials(volume: IronicVolume, hook: HookedDrive): string | undefined {
  const { chap } = volume.connection;
  const s = hook.settings;
  if (!chap)
    return s.username || s.password
      ? "the volume has no CHAP, yet Ironic's script logs in to it with credentials set"
      : undefined;
  if (s.username !== chap.username)
    return `CHAP username: Ironic's script sets '${s.username ?? "(nothing)"}', Cinder said '${chap.username}'`;
  if (s.password !== chap.password) return "CHAP secret: the password Ironic's script sets is not the volume's (values withheld)";
  if (ipxeSetValue(s.password) !== chap.password)
    return "CHAP secret: Ironic writes it into the script unquoted, and iPXE reads a different one (a run of spaces becomes one, a $-brace setting reference expands; values withheld)";
  if (ipxeSetValue(s.username) !== chap.username)
    return "CHAP username: Ironic writes it unquoted, and iPXE reads a different one (spaces collapse, a $-brace setting reference expands)";
  if (chap.reverse && (s["reverse-username"] !== chap.reverse.username || s["reverse-password"] !== chap.reverse.password))
    return "mutual CHAP: Ironic's script sets no reverse-username/reverse-password, so iPXE never authenticates the target";
  return undefined;
}

/** (c, statically) what Ironic wrote addresses every volume as Cinder described it. */
const scriptMatchesCinder: StaticProperty<IronicRealCase, Topology> = {
  name: "ipxe-script-matches-cinder",
  description:
    "the node's iPXE config hooks the boot_index 0 volume as drive 0x80 and every other volume after it, each with Cinder's portals, LUN (as iPXE parses it), IQN and CHAP credentials",
  check: (input) => {
    const decision = decisionOf(input);
    if (ironicOutcome(input, decision) !== "boots-from-volume") return pass();
    const hooks = hookedDrives(nodeConfigOf(input, decision)!);
    if (!hooks) return fail("the node config Ironic wrote has no :boot_iscsi section");
    const boot = bootVolumeOf(input)!;
    const ordered = [boot, ...input.volumes.filter((v) => v !== boot).sort((a, b) => a.bootIndex - b.bootIndex)];
    for (const [i, volume] of ordered.entries()) {
      const hook = hooks.find((h) => h.drive === BOOT_DRIVE + i);
      const what = `volume ${volume.volumeId} (boot_index ${volume.bootIndex}, drive 0x${(BOOT_DRIVE + i).toString(16)})`;
      if (!hook) return fail(`${what}: Ironic's script never hooks it`);
      const problem = checkHook(volume, hook) ?? checkCredentials(volume, hook);
      if (problem) return fail(`${what}: ${problem}`);
    }
    const initiator = hooks[0]?.settings["initiator-iqn"];
    if (initiator !== input.connector?.connectorId)
      return fail(
        `initiator-iqn: Ironic's script sets '${initiator ?? "(nothing)"}', the node's connector is '${input.connector?.connectorId}'`,
      );
    return pass();
  },
};

export const realIronicStaticProperties: Array<StaticProperty<IronicRealCase, Topology>> = [
  decisionAgrees,
  attachDetach,
  scriptMatchesCinder,
];
