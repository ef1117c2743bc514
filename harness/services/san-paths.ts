// The faults one SAN path (a portal of bootproof's iSCSI target, one target port of a
// multipath LU) can have, as the target's fault plan. Pure: a path fault in a scenario
// becomes rules the target applies to the PDUs that come in through that portal only.
import type { FaultRule } from "../iscsi/faults.js";

/**
 * - `down`: the target port is down from power-on: its portal is closed before the machine
 *   starts, so the HBA's fabric login finds no such port and the machine has no device for
 *   it (scenarios/common/san-fabric.ts leaves those paths out; QEMU could not open them).
 * - `unresponsive`: the port fails after power-on, the first time data crosses it (after
 *   QEMU's initiator logged in and sized the LU at start-up): no data command through it is
 *   ever answered; each fails in the guest once the drive's request timeout and QEMU's
 *   retries have passed (≈ 38 s with a 3 s timeout, measured).
 * - `erroring`: every read and write through it ends in CHECK CONDITION (MEDIUM ERROR).
 * - `slow`: every command through it waits `delayMs` (default 50) before the target runs it.
 */
export type SanPathFault =
  | { portal: number; kind: "down" }
  | { portal: number; kind: "unresponsive" }
  | { portal: number; kind: "erroring" }
  | { portal: number; kind: "slow"; delayMs?: number };

/** SCSI Command PDU opcode. */
const SCSI_COMMAND = 0x01;
/** READ(6/10/12/16) and WRITE(6/10/12/16): the commands that move a LU's data. */
const READS = new Set([0x08, 0x28, 0xa8, 0x88]);
const WRITES = new Set([0x0a, 0x2a, 0xaa, 0x8a]);
/** MEDIUM ERROR with UNRECOVERED READ ERROR / WRITE ERROR (SPC-4 sense codes). */
const MEDIUM_ERROR = 0x03;

export const DEFAULT_SLOW_PATH_DELAY_MS = 50;

/** The portals that are down from power-on (the services close them before the machine starts). */
export function downPortals(faults: readonly SanPathFault[]): number[] {
  return [...new Set(faults.filter((f) => f.kind === "down").map((f) => f.portal))].sort((a, b) => a - b);
}

export function sanPathFaultRules(faults: readonly SanPathFault[], portals: number): FaultRule[] {
  return faults.flatMap((fault) => {
    if (!Number.isInteger(fault.portal) || fault.portal < 0 || fault.portal >= portals)
      throw new Error(
        `SAN path fault '${fault.kind}' names portal ${fault.portal}, but the target has ${portals} portal(s) (0..${portals - 1}); set services.iscsi.portals`,
      );
    return rulesOf(fault);
  });
}

function rulesOf(fault: SanPathFault): FaultRule[] {
  const onPortal = { portal: fault.portal, phase: "full-feature" as const, opcode: SCSI_COMMAND };
  switch (fault.kind) {
    case "down":
      return [];
    case "unresponsive":
      return [
        {
          match: { ...onPortal, when: (pdu) => READS.has(pdu.scsiOpcode ?? -1) || WRITES.has(pdu.scsiOpcode ?? -1) },
          // Not close-portal: QEMU 7.2's initiator (libiscsi 1.19) retries a refused
          // reconnect without end and the requests queued for it never time out, so the
          // whole guest would wait for ever (measured). An unanswered command instead times
          // out after the drive's request timeout, and the guest sees an I/O error.
          action: { kind: "stall" },
          // QEMU's scsi-hd reads the LU's first sector once while it starts (its geometry
          // guess, before the guest runs); the path fails at the first read after it.
          after: 1,
        },
      ];
    case "erroring":
      return [
        {
          match: { ...onPortal, when: (pdu) => READS.has(pdu.scsiOpcode ?? -1) },
          action: { kind: "sense", key: MEDIUM_ERROR, asc: 0x11, ascq: 0x00 },
        },
        {
          match: { ...onPortal, when: (pdu) => WRITES.has(pdu.scsiOpcode ?? -1) },
          action: { kind: "sense", key: MEDIUM_ERROR, asc: 0x0c, ascq: 0x00 },
        },
      ];
    case "slow": {
      const ms = fault.delayMs ?? DEFAULT_SLOW_PATH_DELAY_MS;
      if (!Number.isInteger(ms) || ms < 1 || ms > 60_000)
        throw new Error(`slow SAN path on portal ${fault.portal}: delayMs ${ms} must be an integer 1..60000`);
      return [{ match: onPortal, action: { kind: "delay", ms } }];
    }
  }
}
