// Fault injection: one interception point per received PDU. A plan is a list of rules; the
// first rule whose match accepts the PDU (and still has uses left) decides what happens.
// With no plan the connection never calls in here, so faults cost nothing when off.

export type FaultAction =
  /** Hold this PDU (and everything after it on the connection) for `ms` before processing. */
  | { kind: "delay"; ms: number }
  /** Accept the PDU and never answer anything on this connection again. */
  | { kind: "stall" }
  /** Close the TCP connection at once (RST). */
  | { kind: "drop" }
  /** Answer a Login Request with this status class/detail and close. */
  | { kind: "login-reject"; statusClass: number; statusDetail: number }
  /** Answer a SCSI Command with CHECK CONDITION and this sense. */
  | { kind: "sense"; key: number; asc: number; ascq?: number }
  /**
   * Take the connection's portal down, as when a path fails: it stops listening (reconnects
   * are refused) and every connection that came in through it is cut.
   */
  | { kind: "close-portal" };

/** What a rule can look at. */
export interface PduFacts {
  /** iSCSI opcode (0x01 SCSI Command, 0x03 Login, ...). */
  opcode: number;
  phase: "login" | "full-feature";
  targetIqn?: string;
  lun?: number;
  /** First CDB byte of a SCSI Command. */
  scsiOpcode?: number;
  /** Number of PDUs this connection received before this one. */
  index: number;
  /** Which of the target's portals (0-based, in the order given) the connection came in on. */
  portal: number;
}

export interface FaultRule {
  match: {
    opcode?: number;
    scsiOpcode?: number;
    phase?: "login" | "full-feature";
    targetIqn?: string;
    lun?: number;
    /** Only PDUs that came in through this portal (one path of a multipath LU). */
    portal?: number;
    /** Any extra condition. */
    when?: (pdu: PduFacts) => boolean;
  };
  action: FaultAction;
  /** Skip this many matching PDUs first (default 0). */
  after?: number;
  /** Fire at most this many times (default: every match). */
  times?: number;
}

export interface FaultPlan {
  rules: FaultRule[];
}

/** A plan plus its counters (shared by all connections of one target server). */
export class FaultInjector {
  private readonly seen: number[];
  private readonly fired: number[];
  constructor(private readonly plan: FaultPlan) {
    this.seen = plan.rules.map(() => 0);
    this.fired = plan.rules.map(() => 0);
  }

  decide(pdu: PduFacts): FaultAction | undefined {
    const rules = this.plan.rules;
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!;
      const m = r.match;
      if (m.opcode !== undefined && m.opcode !== pdu.opcode) continue;
      if (m.scsiOpcode !== undefined && m.scsiOpcode !== pdu.scsiOpcode) continue;
      if (m.phase !== undefined && m.phase !== pdu.phase) continue;
      if (m.targetIqn !== undefined && m.targetIqn !== pdu.targetIqn) continue;
      if (m.lun !== undefined && m.lun !== pdu.lun) continue;
      if (m.portal !== undefined && m.portal !== pdu.portal) continue;
      if (m.when && !m.when(pdu)) continue;
      this.seen[i]!++;
      if (this.seen[i]! <= (r.after ?? 0)) continue;
      if (r.times !== undefined && this.fired[i]! >= r.times) continue;
      this.fired[i]!++;
      return r.action;
    }
    return undefined;
  }
}
