// Sessions and the targets they attach to. A session owns the CmdSN window and the I_T
// nexus state (unit attentions); its connections own tasks and StatSN. A target's fabric
// reaches the other nexuses when a reservation command must tell or stop them.
import type { ChapCredentials } from "./login.js";
import type { Fabric, LogicalUnit, Nexus } from "./scsi/lu.js";
import { initiatorPortName } from "./scsi/transport-id.js";

export interface TargetRuntime {
  iqn: string;
  chap?: ChapCredentials;
  lus: Map<number, LogicalUnit>;
  /** LUN numbers ascending. */
  lunList: number[];
  sessions: Set<Session>;
  /** Unit attentions for registered nexuses that are not logged in (handed over at login). */
  detachedUnitAttention: Map<string, Map<number, number>>;
  fabric: Fabric;
}

/** How far ahead of ExpCmdSN the initiator may number its commands. */
export const CMDSN_WINDOW = 128;
/** Nexuses whose unit attentions wait for them to log in again (oldest forgotten first). */
const MAX_DETACHED_NEXUSES = 1024;

/** Serial number arithmetic on 32 bits (RFC 1982): a < b. */
export function snLessThan(a: number, b: number): boolean {
  return a !== b && (b - a) >>> 0 < 0x80000000;
}

export interface SessionConnection {
  readonly cid: number;
  /** Abort tasks (no responses) for the given LUN, or all when undefined. */
  abortTasks(lun: number | undefined): void;
  /** Close the connection immediately. */
  destroy(reason: string): void;
}

export class Session {
  readonly nexus: Nexus;
  readonly connections = new Set<SessionConnection>();
  expCmdSN = 0;
  /** Set once the I_T nexus is gone (logout, lost connection, reinstatement). */
  ended = false;

  constructor(
    readonly tsih: number,
    readonly isid: string,
    readonly initiatorName: string,
    readonly target: TargetRuntime | undefined,
  ) {
    this.nexus = { id: initiatorPortName(initiatorName, isid), unitAttention: new Map() };
  }

  get maxCmdSN(): number {
    return (this.expCmdSN + CMDSN_WINDOW - 1) >>> 0;
  }

  /** Where a non-immediate CmdSN falls: the next one, ahead in the window, or outside. */
  classify(cmdSN: number): "next" | "ahead" | "outside" {
    if (cmdSN === this.expCmdSN) return "next";
    if (snLessThan(this.expCmdSN, cmdSN) && !snLessThan(this.maxCmdSN, cmdSN)) return "ahead";
    return "outside";
  }
}

/** The fabric of one target: every session logged in to it, across all portals. */
export function targetFabric(target: Omit<TargetRuntime, "fabric">): Fabric {
  return {
    unitAttention(nexus, lun, asc) {
      let delivered = false;
      for (const s of target.sessions) {
        if (s.ended || s.nexus.id !== nexus) continue;
        s.nexus.unitAttention.set(lun, asc);
        delivered = true;
      }
      if (delivered) return;
      // A unit attention belongs to the I_T nexus, which may log in again later.
      const pending = target.detachedUnitAttention.get(nexus) ?? new Map<number, number>();
      pending.set(lun, asc);
      target.detachedUnitAttention.delete(nexus);
      target.detachedUnitAttention.set(nexus, pending);
      if (target.detachedUnitAttention.size > MAX_DETACHED_NEXUSES)
        target.detachedUnitAttention.delete(target.detachedUnitAttention.keys().next().value!);
    },
    abortTasks(nexus, lun) {
      for (const s of target.sessions) if (s.nexus.id === nexus) for (const c of s.connections) c.abortTasks(lun);
    },
  };
}

/** A new session of a nexus takes over the unit attentions that waited for it. */
export function adoptDetachedUnitAttentions(session: Session): void {
  const target = session.target;
  const pending = target?.detachedUnitAttention.get(session.nexus.id);
  if (!target || !pending) return;
  target.detachedUnitAttention.delete(session.nexus.id);
  for (const [lun, asc] of pending) session.nexus.unitAttention.set(lun, asc);
}
