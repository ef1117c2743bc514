// The real Nova in the loop for seed 001: the original volume-backed server is created and
// snapshotted by Nova's own API (the placeholder image and the volume snapshots), then the
// new server is created from that image by Nova's compute API and built by nova-compute and
// the libvirt driver; libvirt defines the domain and a real guest boots it. bootproof decides
// only which medium backs each volume: the contents the case gave the volumes.
import type { NovaDomainDisk, NovaWorkerOptions } from "../../harness/openstack/nova.js";
import {
  type NovaServerAnswer,
  type NovaServerBuilt,
  type NovaServerRequest,
  type NovaSnapshotAnswer,
  novaServerCreate,
  novaSnapshot,
} from "../../harness/openstack/nova-server.js";
import type { BootPlan } from "../../harness/scenario.js";
import { type DiskBacking, gibToMiB, novaServerBoot } from "../common/nova-server-boot.js";
import type { PlaceholderCase, PlaceholderVolume } from "./case.js";
import { originalServerRequest, placeholderServerRequest } from "./requests.js";

export const PLACEHOLDER_BOOT = "placeholder";

/** What real Nova decided for one case: the snapshot, the request made from it, the build. */
export interface PlaceholderDecision {
  snapshot: NovaSnapshotAnswer;
  request?: NovaServerRequest;
  server?: NovaServerAnswer;
}

const decisions = new WeakMap<PlaceholderCase, PlaceholderDecision>();

export function decisionOf(input: PlaceholderCase): PlaceholderDecision {
  const decision = decisions.get(input);
  if (!decision) throw new Error("no Nova decision recorded for this input: boots() must run before the properties");
  return decision;
}

/** The case's volume a disk of the new server holds: itself, or what its snapshot was taken of. */
export function volumeBehind(input: PlaceholderCase, built: NovaServerBuilt, volumeId: string): PlaceholderVolume | undefined {
  const all = [input.original.root, ...input.original.data, ...input.request.volumes];
  const created = built.createdVolumes.find((v) => v.id === volumeId);
  if (!created) return all.find((v) => v.id === volumeId);
  const source = created.sourceVolumeId ? all.find((v) => v.id === created.sourceVolumeId) : undefined;
  // A volume Cinder made from a snapshot holds the snapshotted volume's data; a blank one nothing.
  return { id: created.id, sizeGb: created.size, content: source?.content ?? "data" };
}

function backingFor(input: PlaceholderCase) {
  return (disk: NovaDomainDisk, firmware: "bios" | "efi", built: NovaServerBuilt): DiskBacking => {
    const volume = disk.volumeId ? volumeBehind(input, built, disk.volumeId) : undefined;
    // Nova built no local disk for these flavors; anything else is an unknown 1 MiB blank.
    if (!volume) return { media: { kind: "blank", sizeMiB: 1 } };
    const sizeMiB = gibToMiB(volume.sizeGb);
    if (volume.content === "data") return { media: { kind: "blank", sizeMiB } };
    return { media: { kind: firmware === "efi" ? "uefi-disk" : "bios-disk", role: volume.content }, sizeMiB };
  };
}

export async function placeholderBoots(input: PlaceholderCase, options: NovaWorkerOptions = {}): Promise<BootPlan[]> {
  const snapshot = await novaSnapshot(originalServerRequest(input), options);
  const decision: PlaceholderDecision = { snapshot };
  decisions.set(input, decision);
  const artifacts: Record<string, string> = { "nova-snapshot.json": `${JSON.stringify(snapshot, null, 2)}\n` };
  if (snapshot.outcome !== "snapshotted") {
    const refused: NovaServerAnswer = snapshot;
    return [await novaServerBoot(PLACEHOLDER_BOOT, refused, backingFor(input), artifacts)];
  }
  decision.request = placeholderServerRequest(input, snapshot);
  decision.server = await novaServerCreate(decision.request, options);
  artifacts["nova-request.json"] = `${JSON.stringify(decision.request, null, 2)}\n`;
  return [await novaServerBoot(PLACEHOLDER_BOOT, decision.server, backingFor(input), artifacts)];
}
