// Real Ironic in the loop for an HBA boot: a case → Ironic's records (request.ts) → what
// Ironic's conductor code decides (the Ironic worker) → when Ironic boots the node from its
// volume, the node as a machine: one SCSI HBA per FC port (wwpn connector), each seeing every
// volume through the target ports Ironic's volume target records name (after attach: Cinder's
// answer as Ironic stored it), through QEMU's iSCSI initiator to bootproof's target. The HBA
// BIOS boots the boot_index 0 volume through the first HBA and the first target port, as the
// spec's "infrastructure and HBA BIOS configuration" does; nothing else is a boot device.
import { type IronicDecision, ironicDecide } from "../../harness/openstack/ironic.js";
import { redactCredentials } from "../../harness/report/redact.js";
import type { BootPlan } from "../../harness/scenario.js";
import type { SanFabric, SanPath } from "../common/san-fabric.js";
import { sanServices, sanTopology } from "../common/san-fabric.js";
import { type IronicHbaCase, STORAGE_PORTS, volumeRole } from "./case.js";
import { deployBoots } from "./deploy.js";
import { hbaIronicRequest } from "./request.js";

export const BOOT_NAME = "boot";
export const STORAGE_IQN = "iqn.2024-01.dev.bootproof:fc-array";
export const FIRST_HBA_SLOT = 5;

const decisions = new WeakMap<IronicHbaCase, IronicDecision>();

export function hbaDecisionOf(input: IronicHbaCase): IronicDecision {
  const decision = decisions.get(input);
  if (!decision) throw new Error("no Ironic decision recorded for this input: boots() must run before the properties");
  return decision;
}

/** Record a decision for an input (the worker does it in boots(); unit tests with a made-up one). */
export function recordHbaDecision(input: IronicHbaCase, decision: IronicDecision): void {
  decisions.set(input, decision);
}

/** The boot device Ironic left the node with: the last one it set persistently. */
export function persistentBootDevice(decision: IronicDecision): string | undefined {
  return decision.boot_devices.filter((d) => d.persistent).at(-1)?.device;
}

/** The HBA of the node's FC port `index` (one without an identity when the node has no wwpn). */
export const hbaId = (index: number) => `fc${index}`;
export const hbaSlot = (index: number) => FIRST_HBA_SLOT + index;

/** A volume target as Ironic holds it after attach: its LUN and target WWPNs, and the zoning. */
interface RecordedFcTarget {
  lun: number;
  targetWwns: string[];
  initiatorTargetMap: Record<string, string[]>;
}

const asWwnList = (value: unknown): string[] =>
  (Array.isArray(value) ? value : typeof value === "string" ? [value] : []).map((w) => String(w).toLowerCase());

function recordedTarget(decision: IronicDecision, volumeId: string): RecordedFcTarget {
  const record = decision.attached_properties?.find((t) => t.volume_id === volumeId);
  if (!record) throw new Error(`Ironic's answer has no volume target record for volume ${volumeId} (attached_properties)`);
  const p = record.properties;
  const lun = typeof p.target_lun === "number" ? p.target_lun : Number(p.target_lun);
  if (!Number.isInteger(lun))
    throw new Error(`volume ${volumeId}: Ironic's target record has target_lun ${JSON.stringify(p.target_lun)}, not a LUN`);
  const map = (p.initiator_target_map ?? {}) as Record<string, unknown>;
  return {
    lun,
    targetWwns: asWwnList(p.target_wwn),
    initiatorTargetMap: Object.fromEntries(Object.entries(map).map(([k, v]) => [k.toLowerCase(), asWwnList(v)])),
  };
}

/** The node and its SAN as a fabric, from the case's identities and Ironic's target records. */
export function hbaFabric(input: IronicHbaCase, decision: IronicDecision): SanFabric {
  const ports = input.connectors.wwpns.length > 0 ? input.connectors.wwpns : [undefined];
  const bootMedia = input.node.bootMode === "uefi" ? ("uefi-disk" as const) : ("bios-disk" as const);
  const paths: SanPath[] = [];
  const lus = input.volumes.map((volume, index) => {
    // Device ids derive from it and QEMU's are short: the volume's position, not its uuid.
    const id = `v${index}`;
    const target = recordedTarget(decision, volume.volumeId);
    ports.forEach((wwpn, hba) => {
      // A port the map leaves out sees every target port named (no zoning recorded for it).
      const zoned = (wwpn && target.initiatorTargetMap[wwpn.toLowerCase()]) || target.targetWwns;
      zoned.forEach((targetWwpn, i) => {
        const port = STORAGE_PORTS.indexOf(targetWwpn as (typeof STORAGE_PORTS)[number]);
        if (port === -1)
          throw new Error(
            `volume ${volume.volumeId}: Ironic's record names target WWPN ${targetWwpn}, which the array does not have (${STORAGE_PORTS.join(", ")})`,
          );
        const boots = volume.bootIndex === 0 && hba === 0 && i === 0;
        paths.push({ hba: hbaId(hba), lu: id, port, ...(boots ? { bootIndex: 0 } : {}) });
      });
    });
    return {
      id,
      lun: target.lun,
      wwn: volume.lunWwn,
      media: volume.bootIndex === 0 ? { kind: bootMedia, role: volumeRole(volume) } : { kind: "blank" as const, sizeMiB: 8 },
    };
  });
  return {
    machineName: `ironic-${input.node.uuid.slice(0, 8)}`,
    firmware: input.node.bootMode === "uefi" ? "ovmf" : "seabios",
    iqn: STORAGE_IQN,
    lus,
    ports: STORAGE_PORTS.map((wwpn) => ({ wwpn })),
    hbas: ports.map((wwpn, i) => ({
      id: hbaId(i),
      kind: input.hba,
      pciSlot: hbaSlot(i),
      ...(wwpn ? { initiatorName: `iqn.2024-01.dev.bootproof.hba:${wwpn}` } : {}),
    })),
    paths,
    // An HBA told its boot LUN boots that one and nothing else.
    bootStrict: true,
    deadlineMs: input.node.bootMode === "uefi" ? 90_000 : 60_000,
  };
}

/** Ironic boots the node from its volume: accepted, nothing to write, and the boot device left at disk. */
export function ironicBootsFromVolume(decision: IronicDecision): boolean {
  return (
    !decision.refusal &&
    decision.should_write_image === false &&
    decision.deploy_wait === undefined &&
    persistentBootDevice(decision) === "disk"
  );
}

/** Ironic deploys an image: accepted, should_write_image, and waiting for its deploy agent. */
export function ironicWritesImage(decision: IronicDecision): boolean {
  return !decision.refusal && decision.should_write_image === true && decision.deploy_wait !== undefined;
}

export function decisionArtifacts(decision: IronicDecision): Record<string, string> {
  return { "ironic-decision.json": `${JSON.stringify(redactCredentials(decision).value, null, 2)}\n` };
}

/** The boot of a case as real Ironic decides it: none unless Ironic boots the node from its volume. */
export async function realHbaBoots(input: IronicHbaCase): Promise<BootPlan[]> {
  const decision = await ironicDecide(hbaIronicRequest(input));
  decisions.set(input, decision);
  if (!input.volumes.some((v) => v.bootIndex === 0)) return [];
  // Scenario 4: Ironic accepted the node and waits for its agent to write the image.
  if (ironicWritesImage(decision) && input.node.storageInterface !== "noop") return deployBoots(input, decision);
  if (!ironicBootsFromVolume(decision)) return [];
  const fabric = hbaFabric(input, decision);
  return [
    {
      name: BOOT_NAME,
      services: sanServices(fabric),
      topology: sanTopology(fabric),
      artifacts: () => ({
        ...decisionArtifacts(decision),
        "hba-fabric.json": `${JSON.stringify({ hbas: fabric.hbas, ports: fabric.ports, lus: fabric.lus.map(({ media: _, ...lu }) => lu), paths: fabric.paths }, null, 2)}\n`,
      }),
    },
  ];
}
