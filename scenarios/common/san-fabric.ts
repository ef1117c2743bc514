// A SAN behind a machine's host bus adapters, as data: LUs with Fibre Channel identities (a
// WWN per LU), target ports (a WWPN each, one iSCSI portal of bootproof's target each) and
// paths (an HBA that sees a LU through a target port). QEMU has no FC HBA: each path is a
// scsi-hd on a SCSI HBA whose drive is the LU through QEMU's own iSCSI initiator, dialling
// that port's portal, with the LU's `wwn` and the port's `port_wwn` and relative port index,
// which the guest reads in VPD page 0x83. Several paths to one LU are several scsi-hd devices
// with the same wwn. Pure: the result is a services plan and a topology function.
import type { Firmware, MachineInput, ScsiControllerKind } from "../../emulator/machine.js";
import type { MediaSpec } from "../../firmware/media/spec.js";
import type { GuestEndpoints, ServicesPlan, Topology } from "../../harness/scenario.js";
import { downPortals, type SanPathFault } from "../../harness/services/san-paths.js";

export interface SanLu {
  /** Identifier in the machine (drive ids derive from it). */
  id: string;
  lun: number;
  /** NAA WWN, 16 hex digits without 0x: the same in the target's and the HBA's VPD 0x83. */
  wwn: string;
  media: MediaSpec;
  readOnly?: boolean;
  /** The unit serial number the guest reads in VPD page 0x80 (QEMU's scsi-hd reports it). */
  serial?: string;
}

export interface SanTargetPort {
  /** The port's WWPN, 16 hex digits. Its index in the list is its portal and relative port (index + 1). */
  wwpn: string;
}

export interface SanHba {
  id: string;
  kind: ScsiControllerKind;
  pciSlot: number;
  /** The initiator identity QEMU logs in with (an FC host WWPN, written as an iSCSI name). */
  initiatorName?: string;
}

export interface SanPath {
  hba: string;
  lu: string;
  /** Index into the fabric's target ports. */
  port: number;
  /** The firmware boots this path (bootindex); unset: not a boot device. */
  bootIndex?: number;
}

export interface SanFabric {
  machineName: string;
  firmware: Firmware["kind"];
  iqn: string;
  lus: SanLu[];
  ports: SanTargetPort[];
  hbas: SanHba[];
  paths: SanPath[];
  pathFaults?: SanPathFault[];
  /** Boot only the paths with a bootIndex (an HBA told its boot LUN tries nothing else). */
  bootStrict?: boolean;
  /**
   * Seconds before a request on a path that stopped answering fails with an I/O error the
   * guest sees; 0 waits forever. A down path needs it, or the firmware waits for ever.
   */
  requestTimeoutSeconds?: number;
  deadlineMs?: number;
}

/** Portals are allocated only once the target runs; before that a placeholder port keeps the machine valid. */
const PLACEHOLDER_PORT = 1;

/** "c05076ffe0000001" → "0xc05076ffe0000001" (QEMU's wwn property syntax). */
export const qemuWwn = (hex: string): string => `0x${hex.toLowerCase()}`;

/** A path's device id: the HBA, the target port and the LU. */
export const pathDeviceId = (path: SanPath): string => `${path.hba}-p${path.port}-${path.lu}`;

/**
 * The SCSI address of a path on its HBA: the target port is the SCSI target (its index among
 * the ports this HBA is zoned to, down ones included so a port going down renumbers none),
 * the LU's LUN the LUN, as a Linux FC HBA numbers its remote ports.
 */
export function pathScsiAddress(fabric: SanFabric, path: SanPath): { scsiId: number; lun: number } {
  const portsOfHba = [...new Set(fabric.paths.filter((p) => p.hba === path.hba).map((p) => p.port))].sort((a, b) => a - b);
  const lu = fabric.lus.find((l) => l.id === path.lu);
  if (!lu) throw new Error(`SAN path ${pathDeviceId(path)} names LU '${path.lu}', which the fabric does not have`);
  return { scsiId: portsOfHba.indexOf(path.port), lun: lu.lun };
}

function checkFabric(fabric: SanFabric): void {
  const hbas = new Set(fabric.hbas.map((h) => h.id));
  for (const path of fabric.paths) {
    if (!hbas.has(path.hba))
      throw new Error(`SAN path ${pathDeviceId(path)} names HBA '${path.hba}', which the fabric does not have`);
    if (!fabric.ports[path.port])
      throw new Error(`SAN path ${pathDeviceId(path)} names target port ${path.port}; the fabric has ${fabric.ports.length}`);
  }
}

export function sanServices(fabric: SanFabric): ServicesPlan {
  return {
    iscsi: {
      targets: [
        {
          iqn: fabric.iqn,
          luns: fabric.lus.map((lu) => ({ lun: lu.lun, media: lu.media, wwn: lu.wwn, serial: lu.serial, readOnly: lu.readOnly })),
        },
      ],
      portals: fabric.ports.length,
      pathFaults: fabric.pathFaults ?? [],
    },
  };
}

/** The paths the machine has: a target port down from power-on gives its HBAs no device. */
export function livePaths(fabric: SanFabric): SanPath[] {
  const down = new Set(downPortals(fabric.pathFaults ?? []));
  return fabric.paths.filter((p) => !down.has(p.port));
}

export function sanMachine(fabric: SanFabric, endpoints: GuestEndpoints): MachineInput {
  checkFabric(fabric);
  const paths = livePaths(fabric);
  const luById = new Map(fabric.lus.map((l) => [l.id, l]));
  const hbaById = new Map(fabric.hbas.map((h) => [h.id, h]));
  return {
    name: fabric.machineName,
    firmware: { kind: fabric.firmware },
    bootStrict: fabric.bootStrict ?? false,
    controllers: fabric.hbas.map((h) => ({ kind: h.kind, id: h.id, pciSlot: h.pciSlot })),
    drives: paths.map((path) => {
      const lu = luById.get(path.lu)!;
      const portal = endpoints.sanPortals?.[path.port];
      return {
        id: `d-${pathDeviceId(path)}`,
        file: "",
        readOnly: lu.readOnly ?? false,
        iscsi: {
          host: portal?.host ?? "127.0.0.1",
          port: portal?.port ?? PLACEHOLDER_PORT,
          target: fabric.iqn,
          lun: lu.lun,
          initiatorName: hbaById.get(path.hba)?.initiatorName,
          timeoutSeconds: fabric.requestTimeoutSeconds ?? 0,
        },
      };
    }),
    nics: noBootDevicePlaceholder(fabric, paths),
    disks: paths.map((path) => {
      const lu = luById.get(path.lu)!;
      const { scsiId, lun } = pathScsiAddress(fabric, path);
      return {
        kind: "scsi-hd" as const,
        id: pathDeviceId(path),
        drive: `d-${pathDeviceId(path)}`,
        controller: path.hba,
        scsiId,
        lun,
        wwn: qemuWwn(lu.wwn),
        ...(lu.serial ? { serial: lu.serial } : {}),
        portWwn: qemuWwn(fabric.ports[path.port]!.wwpn),
        portIndex: path.port + 1,
        bootIndex: path.bootIndex,
      };
    }),
  };
}

/**
 * With strict boot and the boot path gone (its target port down), the HBA has no boot LUN
 * and must boot nothing. QEMU writes a strict boot order (with its final HALT) only when some
 * device has a bootindex, and without one SeaBIOS and OVMF boot the first disk they find, the
 * very fallback an HBA told one LUN does not do. A NIC without an option ROM holds the
 * bootindex instead: the firmware cannot boot it, reaches HALT and stops.
 */
function noBootDevicePlaceholder(fabric: SanFabric, paths: readonly SanPath[]): MachineInput["nics"] {
  if (!fabric.bootStrict || paths.some((p) => p.bootIndex !== undefined) || !fabric.paths.some((p) => p.bootIndex !== undefined))
    return [];
  return [{ id: "no-boot-lun", model: "virtio-net-pci", romFile: "none", bootIndex: 0, pciSlot: 30 }];
}

export function sanTopology(fabric: SanFabric): (endpoints: GuestEndpoints) => Topology {
  return (endpoints) => ({
    machine: sanMachine(fabric, endpoints),
    ...(fabric.deadlineMs !== undefined ? { deadlineMs: fabric.deadlineMs } : {}),
  });
}
