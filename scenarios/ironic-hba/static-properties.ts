// Boot-free properties: real Ironic's decision for an HBA boot against the spec's model
// (seed 002, scenarios 3 and 4): whether it deploys, whether it writes anything, the boot
// device it leaves, and the Cinder calls with the node's FC ports. They run over every
// generated node before any guest starts (the sweep) and again on each booted case.
import type { CinderCall, IronicDecision } from "../../harness/openstack/ironic.js";
import type { StaticProperty, Topology } from "../../harness/scenario.js";
import { attachDetachProblem, sameSet } from "../common/cinder-calls.js";
import { fail, pass } from "../common/outcomes.js";
import type { IronicHbaCase } from "./case.js";
import { hbaDecisionOf, persistentBootDevice } from "./driver.js";
import { hbaSpecDecision } from "./spec-model.js";

type Outcome = "refused" | "writes-image" | "boots-from-volume";

const refusalText = (decision: IronicDecision) =>
  decision.refusal ? `${decision.refusal.stage}: ${decision.refusal.error.type}: ${decision.refusal.error.message}` : "";

/** What real Ironic ended up doing: refusing, writing an image (waiting for its agent), or booting the volume. */
export function hbaIronicOutcome(decision: IronicDecision): Outcome {
  if (decision.refusal) return "refused";
  return decision.should_write_image === false && decision.deploy_wait === undefined ? "boots-from-volume" : "writes-image";
}

const OUTCOME_TEXT: Record<Outcome, string> = {
  refused: "refuses the deploy",
  "writes-image": "writes an image to the node",
  "boots-from-volume": "boots the node from its boot_index 0 volume, writing nothing",
};

const decisionAgrees: StaticProperty<IronicHbaCase, Topology> = {
  name: "ironic-decision-matches-spec",
  description:
    "Ironic accepts exactly the nodes the spec accepts (hba_boot, a boot_index 0 volume, the node's WWPNs, an image only with force_deployment) and writes an image exactly when the spec says so",
  check: (input) => {
    const decision = hbaDecisionOf(input);
    const spec = hbaSpecDecision(input);
    const outcome = hbaIronicOutcome(decision);
    const want: Outcome = !spec.accepts ? "refused" : spec.bootsFromVolume ? "boots-from-volume" : "writes-image";
    if (outcome === want) return pass();
    if (outcome === "refused")
      return fail(`Ironic refused a node the spec accepts (it ${OUTCOME_TEXT[want]}): ${refusalText(decision)}`);
    if (want === "refused")
      return fail(`Ironic accepted a node the spec refuses (${spec.refusals.join("; ")}): it ${OUTCOME_TEXT[outcome]}`);
    return fail(
      `the spec ${OUTCOME_TEXT[want]}; Ironic ${OUTCOME_TEXT[outcome]} (should_write_image ${JSON.stringify(decision.should_write_image)})`,
    );
  },
};

/** Scenario 3: nothing written, no deploy ramdisk booted, the next boot from the block device. */
const writesNothing: StaticProperty<IronicHbaCase, Topology> = {
  name: "boot-from-volume-writes-nothing",
  description:
    "when Ironic boots the node from its volume it writes nothing: no agent wait, no network boot of a deploy ramdisk, and the boot device left at disk (the spec: 'defaults the next boot state to local disk')",
  check: (input) => {
    const decision = hbaDecisionOf(input);
    if (hbaIronicOutcome(decision) !== "boots-from-volume") return pass();
    const pxe = decision.boot_devices.find((d) => d.device === "pxe");
    if (pxe)
      return fail(`Ironic set the boot device to pxe${pxe.persistent ? " (persistent)" : ""}: the deploy ramdisk would boot`);
    const staged = (decision.files ?? []).filter((f) => /deploy_(kernel|ramdisk)$/.test(f.path)).map((f) => f.path);
    if (staged.length > 0) return fail(`Ironic staged the deploy ramdisk in its http_root: ${staged.join(", ")}`);
    const device = persistentBootDevice(decision);
    if (device !== "disk")
      return fail(
        `Ironic left the boot device at ${device ?? "(never set)"}; the spec boots the node from its block storage device`,
      );
    return pass();
  },
};

/** The FC ports in the connector Ironic hands Cinder, compared with the node's connectors. */
function connectorProblem(input: IronicHbaCase, call: CinderCall): string | undefined {
  const connector = (call.connector ?? {}) as { wwpns?: unknown; wwnns?: unknown };
  const sent = (key: "wwpns" | "wwnns") => (Array.isArray(connector[key]) ? (connector[key] as string[]) : []);
  if (!sameSet(sent("wwpns"), input.connectors.wwpns))
    return `initialize_connection(${call.volume_id}) got wwpns ${JSON.stringify(sent("wwpns"))}, the node's are ${JSON.stringify(input.connectors.wwpns)}`;
  if (!sameSet(sent("wwnns"), input.connectors.wwnns))
    return `initialize_connection(${call.volume_id}) got wwnns ${JSON.stringify(sent("wwnns"))}, the node's are ${JSON.stringify(input.connectors.wwnns)}`;
  return undefined;
}

const attachDetach: StaticProperty<IronicHbaCase, Topology> = {
  name: "cinder-attach-detach",
  description:
    "with Cinder storage every volume is attached at deploy with the node's WWPNs and WWNNs as the connector, detached at power off and attached again at power on; other storage interfaces never call Cinder",
  check: (input) => {
    const decision = hbaDecisionOf(input);
    if (decision.refusal) return pass();
    // What the storage interface must do once Ironic accepted the node (whether it should
    // have is ironic-decision-matches-spec's question, not repeated here).
    const volumes = input.node.storageInterface === "cinder" ? input.volumes.map((v) => v.volumeId) : [];
    const problem =
      attachDetachProblem(decision, input.node.storageInterface, volumes) ??
      decision.cinder_calls
        .filter((call) => call.method === "initialize_connection")
        .map((call) => connectorProblem(input, call))
        .find((p) => p !== undefined);
    return problem ? fail(problem) : pass();
  },
};

export const hbaStaticProperties: Array<StaticProperty<IronicHbaCase, Topology>> = [decisionAgrees, writesNothing, attachDetach];
