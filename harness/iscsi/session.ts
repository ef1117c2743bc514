// Sessions and the targets they attach to. A session owns the CmdSN window and the I_T
// nexus state (unit attentions); its connections own tasks and StatSN.
import type { ChapCredentials } from "./login.js";
import type { LogicalUnit, Nexus } from "./scsi/lu.js";

export interface TargetRuntime {
  iqn: string;
  chap?: ChapCredentials;
  lus: Map<number, LogicalUnit>;
  /** LUN numbers ascending. */
  lunList: number[];
  sessions: Set<Session>;
}

/** How far ahead of ExpCmdSN the initiator may number its commands. */
export const CMDSN_WINDOW = 128;

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
  readonly nexus: Nexus = { unitAttention: new Map() };
  readonly connections = new Set<SessionConnection>();
  expCmdSN = 0;

  constructor(
    readonly tsih: number,
    readonly isid: string,
    readonly initiatorName: string,
    readonly target: TargetRuntime | undefined,
  ) {}

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
