// The spec's storage interface as seen in the Cinder calls real Ironic made (recorded at
// Ironic's Cinder client boundary): with Cinder storage every volume is attached at deploy,
// detached at power off and attached again at power on; other storage interfaces call nothing.
// Shared by the Ironic scenarios' `cinder-attach-detach` properties.
import type { CinderCall, IronicDecision } from "../../harness/openstack/ironic.js";

/** Cinder calls of one method, split at Ironic's power actions (the "-- …" markers). */
export function callsByPhase(calls: CinderCall[], method: string): CinderCall[][] {
  const phases: CinderCall[][] = [[]];
  for (const call of calls) {
    if (call.method.startsWith("-- ")) phases.push([]);
    else if (call.method === method) phases.at(-1)!.push(call);
  }
  return phases;
}

export const sameSet = (a: string[], b: string[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

/**
 * What is wrong with the Cinder calls of an accepted node whose storage must attach exactly
 * `volumes` (none: Cinder must not be called at all); undefined when nothing is.
 */
export function attachDetachProblem(decision: IronicDecision, storageInterface: string, volumes: string[]): string | undefined {
  if (volumes.length === 0) {
    const any = decision.cinder_calls.filter((c) => !c.method.startsWith("-- "));
    return any.length === 0
      ? undefined
      : `storage_interface ${storageInterface} called Cinder: ${any.map((c) => `${c.method}(${c.volume_id})`).join(", ")}`;
  }
  const attached = callsByPhase(decision.cinder_calls, "initialize_connection");
  const detached = callsByPhase(decision.cinder_calls, "terminate_connection");
  const expectations: Array<[string, CinderCall[] | undefined]> = [["attached at deploy", attached[0]]];
  // A deploy that waits for the agent (an image write) never reaches the power actions.
  if (!decision.deploy_wait)
    expectations.push(["detached at power off", detached[1]], ["attached again at power on", attached[2]]);
  for (const [what, seen] of expectations) {
    const ids = (seen ?? []).map((c) => c.volume_id);
    if (!seen || !sameSet(ids, volumes))
      return `volumes ${what}: ${ids.join(", ") || "none"}; the node has ${volumes.join(", ")}`;
  }
  return undefined;
}
