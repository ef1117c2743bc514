// One TCP connection: PDU framing, fault injection, the phase and CmdSN ordering that decide
// which handler gets a PDU, and the output path. The handlers live next to it, by purpose:
// the login phase (./connection-login.ts), NOP / Text / Logout (./connection-text.ts), task
// management (./task-management.ts) and the SCSI data path (./scsi-tasks.ts).
// Responses are written through a corked socket that is flushed once per event-loop turn,
// so a burst of completions leaves in one writev.
import type net from "node:net";
import { LoginPhase } from "./connection-login.js";
import { TextRequests } from "./connection-text.js";
import type { FaultAction, FaultInjector, PduFacts } from "./faults.js";
import { type LoginDirectory, LoginStatus, type NegotiatedParams, type TargetLimits } from "./login.js";
import {
  decodeLun,
  isImmediate,
  itt as ittOf,
  NO_TAG,
  newBhs,
  Op,
  opcodeOf,
  type Pdu,
  PduFramer,
  pduWireParts,
  RejectReason,
} from "./pdu.js";
import { checkCondition, type ScsiResult } from "./scsi/sense.js";
import { ScsiTasks } from "./scsi-tasks.js";
import type { Session, SessionConnection, TargetRuntime } from "./session.js";
import { handleTaskMgmt } from "./task-management.js";

export type IscsiEvent =
  /** `portal` is the listening address the connection came in on. */
  | { type: "connection-open"; remote: string; portal: string }
  | { type: "connection-closed"; remote: string; reason: string }
  | { type: "login"; remote: string; initiator: string; target?: string; sessionType: string; user?: string }
  | { type: "login-failed"; remote: string; statusClass: number; statusDetail: number; reason: string }
  | { type: "logout"; remote: string; reason: number }
  | { type: "reject"; remote: string; reason: number; opcode: number; why: string }
  | { type: "task-management"; remote: string; function: number; response: number }
  | { type: "fault"; remote: string; action: FaultAction["kind"]; opcode: number; portal: number };

/** What a connection needs from the server that accepted it. */
export interface ConnectionHost {
  directory: LoginDirectory;
  limits: TargetLimits;
  targets: Map<string, TargetRuntime>;
  faults: FaultInjector | undefined;
  log(event: IscsiEvent): void;
  newTsih(): number;
  sessionByTsih(tsih: number): Session | undefined;
  findSession(initiatorName: string, isid: string, target: TargetRuntime | undefined): Session | undefined;
  addSession(session: Session): void;
  removeSession(session: Session): void;
  /** The session's I_T nexus is gone (idempotent): what the SCSI layer kept for it ends. */
  endSession(session: Session): void;
  /** All sessions attached to a target (TMF resets reach across sessions). */
  sessionsOf(target: TargetRuntime): Iterable<Session>;
  /** The portals listening now (SendTargets answers with all of them). */
  portals(): Array<{ host: string; port: number }>;
  /** Takes a portal down (a fault plan's close-portal): no new connections, its connections cut. */
  closePortal(index: number): void;
}

const WRITE_HIGH_WATER = 16 << 20;
const LOGIN_MAX_SEGMENT = 65536;

export class Connection implements SessionConnection {
  cid = 0;
  // The fields below are shared with this connection's handler modules, not public API.
  phase: "login" | "full-feature" | "closed" = "login";
  params: NegotiatedParams | undefined;
  session: Session | undefined;
  statSN = 0;
  loginCmdSN = 0;
  readonly remote: string;
  readonly scsi: ScsiTasks;
  private readonly framer = new PduFramer();
  private readonly login: LoginPhase;
  private readonly text: TextRequests;
  private readonly ahead = new Map<number, Pdu>();
  private nextTtt = 1;
  private pduIndex = 0;
  private stalled = false;
  private paused = false;
  private corked = false;

  constructor(
    private readonly socket: net.Socket,
    readonly host: ConnectionHost,
    /** The portal (index among the target's listeners) this connection came in on. */
    readonly portal = 0,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.login = new LoginPhase(this);
    this.text = new TextRequests(this);
    this.scsi = new ScsiTasks(this);
    this.framer.maxDataSegment = LOGIN_MAX_SEGMENT;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => {}); // 'close' follows and does the cleanup
    socket.on("close", () => this.onClose());
    socket.on("drain", () => {
      if (this.phase !== "closed") socket.resume();
    });
    host.log({ type: "connection-open", remote: this.remote, portal: `${socket.localAddress}:${socket.localPort}` });
  }

  destroy(reason: string): void {
    if (this.phase === "closed") return;
    this.closeReason = reason;
    this.socket.destroy();
  }

  private closeReason = "peer closed";

  private onClose(): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.abortTasks(undefined);
    this.ahead.clear();
    const s = this.session;
    if (s) {
      s.connections.delete(this);
      if (s.connections.size === 0) this.host.removeSession(s);
    }
    this.host.log({ type: "connection-closed", remote: this.remote, reason: this.closeReason });
  }

  abortTasks(lun: number | undefined): void {
    this.scsi.abort(lun);
  }

  /** The address and port this connection was accepted on. */
  localAddress(): { host: string; port: number } {
    return { host: this.socket.localAddress ?? "127.0.0.1", port: this.socket.localPort ?? 0 };
  }

  /** The login phase is over: digests and our receive limit apply from the next PDU on. */
  enterFullFeature(params: NegotiatedParams, logged: IscsiEvent): void {
    this.phase = "full-feature";
    this.flush(); // the final login response leaves without digests
    this.framer.headerDigest = params.headerDigest;
    this.framer.dataDigest = params.dataDigest;
    this.framer.maxDataSegment = Math.max(this.host.limits.maxRecvDataSegmentLength, 8192);
    this.host.log(logged);
  }

  // ---- input ------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.stalled || this.phase === "closed") return;
    this.framer.push(chunk);
    this.pump();
  }

  private pump(): void {
    while (!this.paused && !this.stalled && this.phase !== "closed") {
      const r = this.framer.next();
      if (!r) break;
      if ("error" in r) {
        const e = r.error;
        if (e.kind === "header-digest") {
          this.destroy("header digest mismatch");
          return;
        }
        if (e.kind === "too-long") {
          this.reject(e.bhs, RejectReason.ProtocolError, `data segment ${e.length} exceeds ${e.limit}`);
          this.flush();
          this.endSoon(`data segment ${e.length} bytes exceeds the negotiated ${e.limit}`);
          return;
        }
        this.reject(e.pdu.bhs, RejectReason.DataDigestError, "data digest mismatch");
        continue;
      }
      this.receive(r.pdu);
    }
    if (this.socket.writableLength > WRITE_HIGH_WATER) this.socket.pause();
  }

  private receive(pdu: Pdu): void {
    const index = this.pduIndex++;
    const faults = this.host.faults;
    if (faults) {
      const action = faults.decide(this.factsOf(pdu, index));
      if (action && this.applyFault(action, pdu)) return;
    }
    this.dispatch(pdu, undefined);
  }

  private factsOf(pdu: Pdu, index: number): PduFacts {
    const op = opcodeOf(pdu.bhs);
    const facts: PduFacts = { opcode: op, phase: this.phase === "login" ? "login" : "full-feature", index, portal: this.portal };
    const target = this.session?.target?.iqn ?? this.params?.targetName;
    if (target) facts.targetIqn = target;
    if (op === Op.ScsiCommand) {
      facts.lun = decodeLun(pdu.bhs);
      facts.scsiOpcode = pdu.bhs[32]!;
    }
    return facts;
  }

  /** Applies a fault; true when the PDU was consumed by it. */
  private applyFault(action: FaultAction, pdu: Pdu): boolean {
    const op = opcodeOf(pdu.bhs);
    this.host.log({ type: "fault", remote: this.remote, action: action.kind, opcode: op, portal: this.portal });
    switch (action.kind) {
      case "delay":
        this.paused = true;
        setTimeout(() => {
          this.paused = false;
          if (this.phase === "closed") return;
          this.dispatch(pdu, undefined);
          this.pump();
        }, action.ms).unref();
        return true;
      case "stall":
        this.stalled = true;
        return true;
      case "drop":
        this.socket.resetAndDestroy();
        return true;
      case "close-portal":
        this.host.closePortal(this.portal);
        return true;
      case "login-reject":
        if (op !== Op.Login) return false;
        this.login.failure(pdu, (action.statusClass << 8) | action.statusDetail, "fault plan rejected the login");
        return true;
      case "sense":
        if (op !== Op.ScsiCommand) return false;
        this.dispatch(pdu, checkCondition(action.key, (action.asc << 8) | (action.ascq ?? 0)));
        return true;
    }
  }

  private dispatch(pdu: Pdu, forced: ScsiResult | undefined): void {
    const op = opcodeOf(pdu.bhs);
    if (this.phase === "login") {
      if (op !== Op.Login) {
        this.login.failure(pdu, LoginStatus.InitiatorError, `opcode 0x${op.toString(16)} before login completed`);
        return;
      }
      this.login.handle(pdu);
      return;
    }
    if (this.phase !== "full-feature") return;
    if (op === Op.DataOut) {
      this.scsi.dataOut(pdu);
      return;
    }
    if (op === Op.Snack) {
      this.reject(pdu.bhs, RejectReason.ProtocolError, "SNACK needs ErrorRecoveryLevel > 0");
      return;
    }
    if (op === Op.Login) {
      this.reject(pdu.bhs, RejectReason.ProtocolError, "Login Request in full feature phase");
      return;
    }
    if (op !== Op.NopOut && op !== Op.ScsiCommand && op !== Op.TaskMgmt && op !== Op.Text && op !== Op.Logout) {
      this.reject(pdu.bhs, RejectReason.CommandNotSupported, `unknown opcode 0x${op.toString(16)}`);
      return;
    }
    const s = this.session!;
    if (isImmediate(pdu.bhs) || (op === Op.NopOut && ittOf(pdu.bhs) === NO_TAG)) {
      this.command(pdu, forced);
      return;
    }
    const cmdSN = pdu.bhs.readUInt32BE(24);
    const where = s.classify(cmdSN);
    if (where === "outside") return; // RFC 7143 §3.2.2.1: silently ignored
    if (where === "ahead") {
      if (!this.ahead.has(cmdSN)) this.ahead.set(cmdSN, pdu);
      return;
    }
    s.expCmdSN = (s.expCmdSN + 1) >>> 0;
    this.command(pdu, forced);
    // Commands that arrived early and are now in order.
    while (this.ahead.size > 0 && this.phase === "full-feature") {
      const next = this.ahead.get(s.expCmdSN);
      if (!next) break;
      this.ahead.delete(s.expCmdSN);
      s.expCmdSN = (s.expCmdSN + 1) >>> 0;
      this.command(next, undefined);
    }
  }

  private command(pdu: Pdu, forced: ScsiResult | undefined): void {
    switch (opcodeOf(pdu.bhs)) {
      case Op.NopOut:
        this.text.nopOut(pdu);
        return;
      case Op.ScsiCommand:
        this.scsi.command(pdu, forced);
        return;
      case Op.TaskMgmt:
        handleTaskMgmt(this, pdu);
        return;
      case Op.Text:
        this.text.text(pdu);
        return;
      case Op.Logout:
        this.text.logout(pdu);
        return;
    }
  }

  // ---- output -----------------------------------------------------------------------

  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(() => this.flush());
  }

  send(bhs: Buffer, data?: Buffer): void {
    if (this.phase === "closed" || this.stalled) return;
    this.cork();
    const hd = this.params !== undefined && this.phase === "full-feature" && this.framer.headerDigest;
    const dd = this.params !== undefined && this.phase === "full-feature" && this.framer.dataDigest;
    for (const part of pduWireParts(bhs, data, hd, dd)) this.socket.write(part);
  }

  /** Writes PDU parts as they are (login responses: digests do not apply yet). */
  writeRaw(parts: Iterable<Buffer>): void {
    this.cork();
    for (const part of parts) this.socket.write(part);
  }

  private flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  endSoon(reason: string): void {
    this.closeReason = reason;
    this.flush();
    this.socket.end();
    // A peer that never reads would keep the socket half-open; give it a moment, then cut.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Fills StatSN (advancing it when `advance`), ExpCmdSN and MaxCmdSN at bytes 24..35. */
  stamp(bhs: Buffer, advance: boolean): void {
    bhs.writeUInt32BE(this.statSN, 24);
    if (advance) this.statSN = (this.statSN + 1) >>> 0;
    const s = this.session;
    const exp = s ? s.expCmdSN : this.loginCmdSN;
    bhs.writeUInt32BE(exp, 28);
    bhs.writeUInt32BE(s ? s.maxCmdSN : exp, 32);
  }

  reject(rejected: Buffer, reason: number, why: string): void {
    this.host.log({ type: "reject", remote: this.remote, reason, opcode: opcodeOf(rejected), why });
    if (this.phase !== "full-feature") return;
    const bhs = newBhs(Op.Reject, 0x80);
    bhs[2] = reason;
    bhs.writeUInt32BE(NO_TAG, 16);
    this.stamp(bhs, true);
    this.send(bhs, Buffer.from(rejected.subarray(0, 48)));
  }

  allocTtt(): number {
    const t = this.nextTtt;
    this.nextTtt = (this.nextTtt + 1) >>> 0;
    if (this.nextTtt === NO_TAG) this.nextTtt = 1;
    return t;
  }
}
