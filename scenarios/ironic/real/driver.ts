// Real Ironic in the loop: a case → the records Ironic holds (request.ts) → what Ironic's own
// conductor code decides and writes (the Ironic worker) → the boot of what it wrote: its HTTP
// root served as Ironic lays it out, the DHCP bootfile it hands out, and bootproof's iSCSI
// target behind every portal Cinder named. bootproof changes nothing in what Ironic wrote;
// the two things it must point at itself (the bootfile's host and port, the portals' host
// forwards) are recorded in the boot's artifacts.
import type { MediaSpec } from "../../../firmware/media/spec.js";
import { dhcpBootfile, type IronicDecision, ironicDecide } from "../../../harness/openstack/ironic.js";
import { redactCredentials } from "../../../harness/report/redact.js";
import type { BootPlan, GuestEndpoints, IscsiTargetPlan, Topology } from "../../../harness/scenario.js";
import { nodeMachine } from "../node-machine.js";
import { type IronicRealCase, type IronicVolume, portalIqn, volumeRole, volumeSerial } from "./case.js";
import { ironicRequest } from "./request.js";

export const BOOT_NAME = "boot";
/**
 * Ironic's script retries a failed SAN attach every 10 s, forever (:fail_iscsi_retry). Two
 * retries prove the loop; waiting for the deadline would only hide it behind a timeout.
 */
export const IRONIC_RETRY_LINE = "Failed to attach iSCSI volume(s), retrying in 10 seconds.";
const RETRIES_BEFORE_GIVING_UP = 2;
/** A stalled login never reaches Ironic's retry: iPXE waits on it for ever. */
const STALL_DEADLINE_MS = 25_000;

/** Ironic's answers, by input: the static properties read the decision the boots came from. */
const decisions = new WeakMap<IronicRealCase, IronicDecision>();

export function decisionOf(input: IronicRealCase): IronicDecision {
  const decision = decisions.get(input);
  if (!decision) throw new Error("no Ironic decision recorded for this input: boots() must run before the properties");
  return decision;
}

/** The file of Ironic's http_root with this path, when Ironic wrote it. */
export function ironicFile(decision: IronicDecision, path: string): string | undefined {
  const file = decision.files?.find((f) => f.path === path);
  return file && "content" in file ? file.content : undefined;
}

/** The node's iPXE config: `<http_root>/<node uuid>/config`. */
export const nodeConfigOf = (input: IronicRealCase, decision: IronicDecision) =>
  ironicFile(decision, `${input.node.uuid}/config`);

/** iPXE `set` lines carrying secrets, with the value replaced (the artifacts' copy). */
export function redactScript(script: string): string {
  return script.replace(/^(\s*set\s+(?:reverse-)?password)\b.*$/gm, "$1 <redacted>");
}

function lunMedia(input: IronicRealCase, volume: IronicVolume): MediaSpec {
  if (volume.bootIndex !== 0) return { kind: "blank", sizeMiB: 8 };
  return { kind: input.node.bootMode === "uefi" ? "uefi-disk" : "bios-disk", role: volumeRole(volume) };
}

/**
 * Cinder's backend as the volumes say it exports them: one target per volume, or one per
 * IQN when each port has its own (the same LU behind each, as a multipath array serves it).
 */
export function storageTargets(input: IronicRealCase): IscsiTargetPlan[] {
  return input.volumes.flatMap((volume) => {
    const { chap } = volume.connection;
    const secret = input.storage.targetSecrets?.[volume.volumeId] ?? chap?.password;
    const iqns = [...new Set(volume.connection.portals.map((_, i) => portalIqn(volume, i)))];
    return iqns.map((iqn) => ({
      iqn,
      luns: [{ lun: volume.connection.targetLun, media: lunMedia(input, volume), serial: volumeSerial(volume) }],
      chap:
        chap && secret
          ? {
              username: chap.username,
              secret,
              mutual: chap.reverse && { username: chap.reverse.username, secret: chap.reverse.password },
            }
          : undefined,
    }));
  });
}

/** Every IPv4 portal the volumes name, once: each becomes a forward to bootproof's target. */
export function forwardedPortals(input: IronicRealCase): Array<{ host: string; port: number }> {
  const seen = new Map<string, { host: string; port: number }>();
  for (const volume of input.volumes)
    for (const portal of volume.connection.portals)
      if (portal.family === 4) seen.set(`${portal.host}:${portal.port}`, { host: portal.host, port: portal.port });
  return [...seen.values()];
}

/** Ironic's bootfile URL with its host and port replaced by where bootproof serves http_root. */
export function pointedBootfile(bootfile: string, endpoints: GuestEndpoints): string {
  const http = endpoints.http ?? { host: "10.0.2.2", port: 0 };
  const url = new URL(bootfile);
  return `http://${http.host}:${http.port}${url.pathname}`;
}

export function nodeTopology(input: IronicRealCase, bootfile: string, endpoints: GuestEndpoints): Topology {
  const iscsiPort = endpoints.iscsi?.port ?? 0;
  return {
    machine: nodeMachine({
      nodeUuid: input.node.uuid,
      bootMode: input.node.bootMode,
      bootFile: pointedBootfile(bootfile, endpoints),
      // Port 0 marks "not started yet" (planning): no forward can name it.
      guestForwards:
        iscsiPort === 0
          ? []
          : forwardedPortals(input).map((p) => ({ guestAddress: p.host, guestPort: p.port, hostPort: iscsiPort })),
    }),
    ...(input.storage.stallLogin ? { deadlineMs: STALL_DEADLINE_MS } : {}),
    giveUp: {
      line: IRONIC_RETRY_LINE,
      count: RETRIES_BEFORE_GIVING_UP,
      reason: "Ironic's script retries the SAN attach every 10 s without limit (its :fail_iscsi_retry loop) and would never end",
    },
  };
}

/** What bootproof changed to reach the guest, and why: recorded beside Ironic's own files. */
function pointingNote(input: IronicRealCase, bootfile: string, endpoints: GuestEndpoints): string {
  const forwards = forwardedPortals(input);
  return [
    `Ironic's DHCP bootfile: ${bootfile}`,
    `served as: ${pointedBootfile(bootfile, endpoints)} (bootproof's HTTP server over Ironic's http_root, unchanged)`,
    ...forwards.map(
      (p) =>
        `portal ${p.host}:${p.port} (from Cinder's connection data): QEMU guestfwd to bootproof's iSCSI target at 127.0.0.1:${endpoints.iscsi?.port ?? "?"}`,
    ),
    ...(input.volumes.some((v) => v.connection.portals.some((p) => p.family === 6))
      ? ["IPv6 portals: QEMU's user network forwards IPv4 only; the guest cannot reach them"]
      : []),
    "",
  ].join("\n");
}

/** The artifacts of Ironic's decision, secrets removed (the script and the targets carry them). */
export function decisionArtifacts(input: IronicRealCase, decision: IronicDecision): Record<string, string> {
  const files = (decision.files ?? []).map((f) => ("content" in f ? { ...f, content: redactScript(f.content) } : f));
  const recorded = redactCredentials({ ...decision, files }).value;
  const artifacts: Record<string, string> = { "ironic-decision.json": `${JSON.stringify(recorded, null, 2)}\n` };
  const config = nodeConfigOf(input, decision);
  if (config !== undefined) artifacts["ironic-node-config.ipxe"] = redactScript(config);
  return artifacts;
}

/** The boot of a case as real Ironic decides it: none when Ironic wrote no boot from volume. */
export async function realIronicBoots(input: IronicRealCase): Promise<BootPlan[]> {
  const decision = await ironicDecide(ironicRequest(input));
  decisions.set(input, decision);
  const bootfile = dhcpBootfile(decision);
  if (decision.refusal || !bootfile || nodeConfigOf(input, decision) === undefined) return [];
  if (!decision.driver_internal_info?.boot_from_volume) return [];
  const files = decision.files ?? [];
  return [
    {
      name: BOOT_NAME,
      services: {
        iscsi: {
          targets: storageTargets(input),
          faults: input.storage.stallLogin ? { rules: [{ match: { phase: "login" }, action: { kind: "stall" } }] } : undefined,
        },
        http: {
          files: () => Object.fromEntries(files.map((f) => [f.path, "content" in f ? f.content : { symlink: f.link }])),
        },
      },
      artifacts: (endpoints) => ({
        ...decisionArtifacts(input, decision),
        "pointing.txt": pointingNote(input, bootfile, endpoints),
      }),
      topology: (endpoints) => nodeTopology(input, bootfile, endpoints),
    },
  ];
}
