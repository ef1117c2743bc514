// One TCP connection: PDU framing, the login phase, then the full feature phase (SCSI
// commands with Data-In / R2T / Data-Out, NOP, Text, Logout, Task Management, Reject).
// Responses are written through a corked socket that is flushed once per event-loop turn,
// so a burst of completions leaves in one writev.
import type net from "node:net";
import type { FaultAction, FaultInjector, PduFacts } from "./faults.js";
import { type LoginDirectory, LoginMachine, LoginStatus, type NegotiatedParams, type TargetLimits } from "./login.js";
import {
  decodeLun,
  encodeLun,
  encodeTextKeys,
  finalBit,
  isImmediate,
  itt as ittOf,
  NO_TAG,
  newBhs,
  Op,
  opcodeOf,
  type Pdu,
  PduFramer,
  parseTextKeys,
  pduWireParts,
  RejectReason,
} from "./pdu.js";
import { dataOutLength, executeScsi, findCommand } from "./scsi/dispatch.js";
import type { ScsiContext } from "./scsi/lu.js";
import { Asc, checkCondition, fixedSense, illegalRequest, type ScsiResult, SenseKey, Status } from "./scsi/sense.js";
import { Session, type SessionConnection, type TargetRuntime } from "./session.js";

export type IscsiEvent =
  | { type: "connection-open"; remote: string }
  | { type: "connection-closed"; remote: string; reason: string }
  | { type: "login"; remote: string; initiator: string; target?: string; sessionType: string; user?: string }
  | { type: "login-failed"; remote: string; statusClass: number; statusDetail: number; reason: string }
  | { type: "logout"; remote: string; reason: number }
  | { type: "reject"; remote: string; reason: number; opcode: number; why: string }
  | { type: "task-management"; remote: string; function: number; response: number }
  | { type: "fault"; remote: string; action: FaultAction["kind"]; opcode: number };

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
  /** All sessions attached to a target (TMF resets reach across sessions). */
  sessionsOf(target: TargetRuntime): Iterable<Session>;
}

interface R2TState {
  offset: number;
  length: number;
  received: number;
  /** DataSN the next Data-Out of this burst must carry. */
  nextDataSN: number;
}

interface Task {
  itt: number;
  lun: number;
  cdb: Buffer;
  edtl: number;
  read: boolean;
  write: boolean;
  cmdSN: number;
  buffer: Buffer | undefined;
  received: number;
  unsolicitedDone: boolean;
  unsolicitedHigh: number;
  unsolicitedDataSN: number;
  nextR2TOffset: number;
  r2ts: Map<number, R2TState>;
  r2tsn: number;
  executing: boolean;
  aborted: boolean;
}

const WRITE_HIGH_WATER = 16 << 20;
const MAX_WRITE_EDTL = 32 << 20;
const LOGIN_MAX_SEGMENT = 65536;

export class Connection implements SessionConnection {
  cid = 0;
  private readonly framer = new PduFramer();
  private readonly login: LoginMachine;
  private phase: "login" | "full-feature" | "closed" = "login";
  private params: NegotiatedParams | undefined;
  private session: Session | undefined;
  private statSN = 0;
  private loginCmdSN = 0;
  private loginStarted = false;
  private isid = Buffer.alloc(6);
  private readonly tasks = new Map<number, Task>();
  private readonly ahead = new Map<number, Pdu>();
  /** Tasks ended before their data arrived, whose late Data-Out is dropped quietly. */
  private readonly terminated = new Set<number>();
  private nextTtt = 1;
  private pduIndex = 0;
  private stalled = false;
  private paused = false;
  private corked = false;
  private textPending: Buffer[] = [];
  private textRemainder: { ttt: number; itt: number; data: Buffer } | undefined;
  private readonly remote: string;

  constructor(
    private readonly socket: net.Socket,
    private readonly host: ConnectionHost,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.login = new LoginMachine(host.directory, host.limits);
    this.framer.maxDataSegment = LOGIN_MAX_SEGMENT;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", () => {}); // 'close' follows and does the cleanup
    socket.on("close", () => this.onClose());
    socket.on("drain", () => {
      if (this.phase !== "closed") socket.resume();
    });
    host.log({ type: "connection-open", remote: this.remote });
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
    for (const [tag, t] of this.tasks) {
      if (lun === undefined || t.lun === lun) {
        t.aborted = true;
        this.tasks.delete(tag);
      }
    }
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
    const facts: PduFacts = { opcode: op, phase: this.phase === "login" ? "login" : "full-feature", index };
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
    this.host.log({ type: "fault", remote: this.remote, action: action.kind, opcode: op });
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
      case "login-reject":
        if (op !== Op.Login) return false;
        this.loginFailure(pdu, (action.statusClass << 8) | action.statusDetail, "fault plan rejected the login");
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
        this.loginFailure(pdu, LoginStatus.InitiatorError, `opcode 0x${op.toString(16)} before login completed`);
        return;
      }
      this.handleLogin(pdu);
      return;
    }
    if (this.phase !== "full-feature") return;
    if (op === Op.DataOut) {
      this.handleDataOut(pdu);
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
        this.handleNopOut(pdu);
        return;
      case Op.ScsiCommand:
        this.handleScsiCommand(pdu, forced);
        return;
      case Op.TaskMgmt:
        this.handleTaskMgmt(pdu);
        return;
      case Op.Text:
        this.handleText(pdu);
        return;
      case Op.Logout:
        this.handleLogout(pdu);
        return;
    }
  }

  // ---- output -----------------------------------------------------------------------

  private send(bhs: Buffer, data?: Buffer): void {
    if (this.phase === "closed" || this.stalled) return;
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => this.flush());
    }
    const hd = this.params !== undefined && this.phase === "full-feature" && this.framer.headerDigest;
    const dd = this.params !== undefined && this.phase === "full-feature" && this.framer.dataDigest;
    for (const part of pduWireParts(bhs, data, hd, dd)) this.socket.write(part);
  }

  private flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  private endSoon(reason: string): void {
    this.closeReason = reason;
    this.flush();
    this.socket.end();
    // A peer that never reads would keep the socket half-open; give it a moment, then cut.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Fills StatSN (advancing it when `advance`), ExpCmdSN and MaxCmdSN at bytes 24..35. */
  private stamp(bhs: Buffer, advance: boolean): void {
    bhs.writeUInt32BE(this.statSN, 24);
    if (advance) this.statSN = (this.statSN + 1) >>> 0;
    const s = this.session;
    const exp = s ? s.expCmdSN : this.loginCmdSN;
    bhs.writeUInt32BE(exp, 28);
    bhs.writeUInt32BE(s ? s.maxCmdSN : exp, 32);
  }

  private reject(rejected: Buffer, reason: number, why: string): void {
    this.host.log({ type: "reject", remote: this.remote, reason, opcode: opcodeOf(rejected), why });
    if (this.phase !== "full-feature") return;
    const bhs = newBhs(Op.Reject, 0x80);
    bhs[2] = reason;
    bhs.writeUInt32BE(NO_TAG, 16);
    this.stamp(bhs, true);
    this.send(bhs, Buffer.from(rejected.subarray(0, 48)));
  }

  // ---- login ------------------------------------------------------------------------

  private loginResponse(pdu: Pdu, flags: number, status: number, keys: Buffer | undefined, tsih: number): void {
    const bhs = newBhs(Op.LoginResponse, flags);
    bhs[2] = 0; // VersionMax
    bhs[3] = 0; // VersionActive
    pdu.bhs.copy(bhs, 8, 8, 14); // ISID
    bhs.writeUInt16BE(tsih, 14);
    bhs.writeUInt32BE(ittOf(pdu.bhs), 16);
    this.stamp(bhs, true);
    bhs[36] = status >> 8;
    bhs[37] = status & 0xff;
    // Login responses go out before digests take effect, so write them directly.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      setImmediate(() => this.flush());
    }
    for (const part of pduWireParts(bhs, keys, false, false)) this.socket.write(part);
  }

  private loginFailure(pdu: Pdu, status: number, reason: string): void {
    this.host.log({ type: "login-failed", remote: this.remote, statusClass: status >> 8, statusDetail: status & 0xff, reason });
    if (!this.loginStarted) {
      this.loginStarted = true;
      this.statSN = pdu.bhs.readUInt32BE(28);
      this.loginCmdSN = pdu.bhs.readUInt32BE(24);
    }
    const csg = (pdu.bhs[1]! >> 2) & 3;
    this.loginResponse(pdu, csg << 2, status, undefined, 0);
    this.phase = "closed";
    this.endSoon(reason);
    // 'close' runs the usual cleanup; phase is already closed so mark it here.
    this.host.log({ type: "connection-closed", remote: this.remote, reason });
  }

  private handleLogin(pdu: Pdu): void {
    const b = pdu.bhs;
    const flags = b[1]!;
    const transit = (flags & 0x80) !== 0;
    const cont = (flags & 0x40) !== 0;
    const csg = (flags >> 2) & 3;
    const nsg = flags & 3;
    if (!this.loginStarted) {
      this.loginStarted = true;
      this.statSN = b.readUInt32BE(28);
      this.loginCmdSN = b.readUInt32BE(24);
      b.copy(this.isid, 0, 8, 14);
      this.cid = b.readUInt16BE(20);
      const tsih = b.readUInt16BE(14);
      if (tsih !== 0) {
        const existing = this.host.sessionByTsih(tsih);
        this.loginFailure(
          pdu,
          existing ? LoginStatus.TooManyConnections : LoginStatus.SessionDoesNotExist,
          existing ? `session ${tsih} allows MaxConnections=1` : `no session with TSIH ${tsih}`,
        );
        return;
      }
    } else if (!b.subarray(8, 14).equals(this.isid)) {
      this.loginFailure(pdu, LoginStatus.InitiatorError, "ISID changed during login");
      return;
    }
    if (transit && cont) {
      this.loginFailure(pdu, LoginStatus.InitiatorError, "login request with both T and C bits");
      return;
    }
    if (cont) {
      this.login.appendContinuation(pdu.data);
      this.loginResponse(pdu, csg << 2, LoginStatus.Success, undefined, 0);
      return;
    }
    const parsed = parseTextKeys(this.login.takeContinuation(pdu.data));
    if ("error" in parsed) {
      this.loginFailure(pdu, LoginStatus.InitiatorError, parsed.error);
      return;
    }
    const reply = this.login.step({
      transit,
      continue: cont,
      csg,
      nsg,
      versionMax: b[2]!,
      versionMin: b[3]!,
      isid: this.isid,
      tsih: 0,
      cid: this.cid,
      keys: parsed,
    });
    if (reply.status !== LoginStatus.Success) {
      this.loginFailure(pdu, reply.status, reply.reason ?? "login failed");
      return;
    }
    let tsih = 0;
    const params = this.login.params;
    if (reply.fullFeature) {
      const target = params.targetName ? this.host.targets.get(params.targetName) : undefined;
      const isidHex = this.isid.toString("hex");
      // Session reinstatement (RFC 7143 §6.3.5): same initiator, ISID and target replaces the old session.
      const old = this.host.findSession(params.initiatorName, isidHex, target);
      if (old) for (const c of [...old.connections]) c.destroy("session reinstated by a new login");
      tsih = this.host.newTsih();
      const session = new Session(tsih, isidHex, params.initiatorName, target);
      session.expCmdSN = this.loginCmdSN;
      session.connections.add(this);
      this.host.addSession(session);
      this.session = session;
      this.params = params;
    }
    const rflags = (reply.transit ? 0x80 : 0) | (reply.csg << 2) | (reply.transit ? reply.nsg : 0);
    this.loginResponse(pdu, rflags, LoginStatus.Success, encodeTextKeys(reply.keys), tsih);
    if (reply.fullFeature) {
      this.phase = "full-feature";
      this.flush(); // the final login response leaves without digests
      this.framer.headerDigest = params.headerDigest;
      this.framer.dataDigest = params.dataDigest;
      this.framer.maxDataSegment = Math.max(this.host.limits.maxRecvDataSegmentLength, 8192);
      const logged: IscsiEvent = {
        type: "login",
        remote: this.remote,
        initiator: params.initiatorName,
        sessionType: params.sessionType,
      };
      if (params.targetName) logged.target = params.targetName;
      if (params.authenticatedUser) logged.user = params.authenticatedUser;
      this.host.log(logged);
    }
  }

  // ---- NOP, Text, Logout ---------------------------------------------------------------

  private handleNopOut(pdu: Pdu): void {
    const tag = ittOf(pdu.bhs);
    if (tag === NO_TAG) return; // an answer to a NOP-In of ours, or a ping that wants none
    const bhs = newBhs(Op.NopIn, 0x80);
    pdu.bhs.copy(bhs, 8, 8, 16);
    bhs.writeUInt32BE(tag, 16);
    bhs.writeUInt32BE(NO_TAG, 20);
    this.stamp(bhs, true);
    const max = this.params!.sendDataSegmentLength;
    this.send(bhs, pdu.data.length > 0 ? Buffer.from(pdu.data.subarray(0, max)) : undefined);
  }

  private handleText(pdu: Pdu): void {
    const b = pdu.bhs;
    const tag = ittOf(b);
    const ttt = b.readUInt32BE(20);
    const cont = (b[1]! & 0x40) !== 0;
    if (ttt !== NO_TAG) {
      const rem = this.textRemainder;
      if (!rem || rem.ttt !== ttt) {
        this.reject(b, RejectReason.InvalidPduField, "Text Request with an unknown Target Transfer Tag");
        return;
      }
      this.textRemainder = undefined;
      this.sendText(tag, rem.data);
      return;
    }
    this.textRemainder = undefined;
    if (cont) {
      this.textPending.push(pdu.data);
      const bhs = newBhs(Op.TextResponse, 0);
      bhs.writeUInt32BE(tag, 16);
      bhs.writeUInt32BE(NO_TAG, 20);
      this.stamp(bhs, true);
      this.send(bhs);
      return;
    }
    const data = this.textPending.length ? Buffer.concat([...this.textPending, pdu.data]) : pdu.data;
    this.textPending = [];
    const parsed = parseTextKeys(data);
    if ("error" in parsed) {
      this.reject(b, RejectReason.ProtocolError, parsed.error);
      return;
    }
    const out: Array<[string, string]> = [];
    for (const [key, value] of parsed) {
      if (key === "SendTargets") out.push(...this.sendTargets(value));
      else out.push([key, "NotUnderstood"]);
    }
    this.sendText(tag, encodeTextKeys(out));
  }

  private sendTargets(value: string): Array<[string, string]> {
    const s = this.session!;
    let names: string[];
    if (value === "All") names = s.target ? [s.target.iqn] : [...this.host.targets.keys()];
    else if (value === "") names = s.target ? [s.target.iqn] : [];
    else names = this.host.targets.has(value) ? [value] : [];
    if (s.target && value === "All" && this.params?.sessionType === "Normal") names = [...this.host.targets.keys()];
    const addr = this.socket.localAddress ?? "127.0.0.1";
    const host = addr.includes(":") ? `[${addr}]` : addr;
    const out: Array<[string, string]> = [];
    for (const n of names)
      out.push(["TargetName", n], ["TargetAddress", `${host}:${this.socket.localPort},${this.host.directory.portalGroupTag}`]);
    return out;
  }

  private sendText(tag: number, data: Buffer): void {
    const max = this.params!.sendDataSegmentLength;
    const bhs = newBhs(Op.TextResponse, 0);
    bhs.writeUInt32BE(tag, 16);
    if (data.length > max) {
      // Break at a key boundary where possible so each piece is whole keys.
      let cut = data.lastIndexOf(0, max - 1) + 1;
      if (cut <= 0) cut = max;
      const ttt = this.allocTtt();
      bhs[1] = 0x40; // C
      bhs.writeUInt32BE(ttt, 20);
      this.textRemainder = { ttt, itt: tag, data: data.subarray(cut) };
      this.stamp(bhs, true);
      this.send(bhs, data.subarray(0, cut));
      return;
    }
    bhs[1] = 0x80;
    bhs.writeUInt32BE(NO_TAG, 20);
    this.stamp(bhs, true);
    this.send(bhs, data.length ? data : undefined);
  }

  private handleLogout(pdu: Pdu): void {
    const reason = pdu.bhs[1]! & 0x7f;
    const cid = pdu.bhs.readUInt16BE(20);
    let response = 0;
    if (reason === 2)
      response = 2; // connection recovery needs ErrorRecoveryLevel 2
    else if (reason === 1 && cid !== this.cid) response = 1;
    else if (reason > 2) {
      this.reject(pdu.bhs, RejectReason.InvalidPduField, `logout reason ${reason}`);
      return;
    }
    const bhs = newBhs(Op.LogoutResponse, 0x80);
    bhs[2] = response;
    bhs.writeUInt32BE(ittOf(pdu.bhs), 16);
    this.stamp(bhs, true);
    this.send(bhs);
    this.host.log({ type: "logout", remote: this.remote, reason });
    if (response !== 0) return;
    if (reason === 0) for (const c of [...this.session!.connections]) if (c !== this) c.destroy("session logged out");
    this.endSoon("logout");
  }

  // ---- task management ----------------------------------------------------------------

  private handleTaskMgmt(pdu: Pdu): void {
    const b = pdu.bhs;
    const fn = b[1]! & 0x7f;
    const lun = decodeLun(b);
    const s = this.session!;
    const target = s.target;
    let response = 0;
    let afterResponse: (() => void) | undefined;
    const lunExists = target?.lus.has(lun) ?? false;
    switch (fn) {
      case 1: {
        // ABORT TASK
        const ref = b.readUInt32BE(20);
        const task = this.tasks.get(ref);
        if (task && task.lun === lun) {
          task.aborted = true;
          this.tasks.delete(ref);
        } else {
          // RFC 7143 §11.5.1: a task we never saw but whose RefCmdSN is inside the window counts as done.
          const refCmdSN = b.readUInt32BE(32);
          const cmdSN = b.readUInt32BE(24);
          const inWindow = s.classify(refCmdSN) !== "outside" || (cmdSN - refCmdSN) >>> 0 < 0x80000000;
          response = inWindow && refCmdSN !== cmdSN ? 0 : 1;
        }
        break;
      }
      case 2: // ABORT TASK SET
      case 4: // CLEAR TASK SET
        if (!lunExists) response = 2;
        else this.abortTasks(lun);
        break;
      case 5: // LOGICAL UNIT RESET
        if (!lunExists || !target) response = 2;
        else
          for (const other of this.host.sessionsOf(target)) {
            for (const c of other.connections) c.abortTasks(lun);
            other.nexus.unitAttention.set(lun, Asc.ResetOccurred);
          }
        break;
      case 6: // TARGET WARM RESET
      case 7: // TARGET COLD RESET
        if (!target) response = 255;
        else {
          for (const other of this.host.sessionsOf(target)) {
            for (const c of other.connections) c.abortTasks(undefined);
            for (const l of target.lunList) other.nexus.unitAttention.set(l, Asc.ResetOccurred);
          }
          if (fn === 7) {
            afterResponse = () => {
              for (const other of [...this.host.sessionsOf(target)])
                for (const c of [...other.connections]) if (c !== this) c.destroy("target cold reset");
              this.endSoon("target cold reset");
            };
          }
        }
        break;
      case 3: // CLEAR ACA: no ACA support
        response = 5;
        break;
      case 8: // TASK REASSIGN needs ErrorRecoveryLevel 2
        response = 4;
        break;
      default:
        response = 255;
    }
    const bhs = newBhs(Op.TaskMgmtResponse, 0x80);
    bhs[2] = response;
    bhs.writeUInt32BE(ittOf(b), 16);
    this.stamp(bhs, true);
    this.send(bhs);
    this.host.log({ type: "task-management", remote: this.remote, function: fn, response });
    afterResponse?.();
  }

  // ---- SCSI -------------------------------------------------------------------------

  private allocTtt(): number {
    const t = this.nextTtt;
    this.nextTtt = (this.nextTtt + 1) >>> 0;
    if (this.nextTtt === NO_TAG) this.nextTtt = 1;
    return t;
  }

  private handleScsiCommand(pdu: Pdu, forced: ScsiResult | undefined): void {
    const b = pdu.bhs;
    const s = this.session!;
    const p = this.params!;
    if (!s.target) {
      this.reject(b, RejectReason.ProtocolError, "SCSI command in a discovery session");
      return;
    }
    const flags = b[1]!;
    const read = (flags & 0x40) !== 0;
    const write = (flags & 0x20) !== 0;
    const tag = ittOf(b);
    const edtl = b.readUInt32BE(20);
    if (this.tasks.has(tag)) {
      this.reject(b, RejectReason.TaskInProgress, `ITT 0x${tag.toString(16)} already in use`);
      return;
    }
    if (pdu.data.length > 0 && (!write || !p.immediateData || pdu.data.length > edtl || pdu.data.length > p.firstBurstLength)) {
      this.reject(b, RejectReason.ProtocolError, "immediate data not allowed here or longer than negotiated");
      return;
    }
    let cdb = b.subarray(32, 48);
    if (pdu.ahs.length >= 4 && pdu.ahs[2] === 1) {
      const ahsLen = pdu.ahs.readUInt16BE(0);
      const extra = pdu.ahs.subarray(4, Math.min(pdu.ahs.length, 3 + ahsLen));
      cdb = Buffer.concat([cdb, extra]);
    }
    const lun = decodeLun(b);
    const task: Task = {
      itt: tag,
      lun,
      cdb,
      edtl,
      read,
      write,
      cmdSN: b.readUInt32BE(24),
      buffer: undefined,
      received: 0,
      unsolicitedDone: (flags & 0x80) !== 0 || p.initialR2T,
      unsolicitedHigh: pdu.data.length,
      unsolicitedDataSN: 0,
      nextR2TOffset: 0,
      r2ts: new Map(),
      r2tsn: 0,
      executing: false,
      aborted: false,
    };
    this.tasks.set(tag, task);
    if (forced) {
      this.finish(task, forced);
      return;
    }
    const lu = s.target.lus.get(lun);
    if (write && edtl > 0 && lu && findCommand(cdb)) {
      if (edtl > MAX_WRITE_EDTL) {
        this.finish(task, illegalRequest(Asc.InvalidFieldInCdb));
        return;
      }
      if (pdu.data.length === edtl) task.buffer = pdu.data;
      else {
        task.buffer = Buffer.allocUnsafe(edtl);
        pdu.data.copy(task.buffer, 0);
      }
      task.received = pdu.data.length;
      if (task.received < edtl) {
        if (task.unsolicitedDone) {
          task.nextR2TOffset = task.received;
          this.issueR2Ts(task);
        }
        return;
      }
    }
    void this.execute(task);
  }

  private handleDataOut(pdu: Pdu): void {
    const b = pdu.bhs;
    const tag = ittOf(b);
    const ttt = b.readUInt32BE(20);
    const task = this.tasks.get(tag);
    if (task === undefined || task.buffer === undefined || task.executing) {
      // Data for a command already answered (rejected early, or ended by a data error) is dropped quietly.
      if (ttt === NO_TAG || this.terminated.has(tag)) return;
      this.reject(b, RejectReason.InvalidPduField, `Data-Out for unknown task 0x${tag.toString(16)}`);
      return;
    }
    const offset = b.readUInt32BE(40);
    const len = pdu.data.length;
    if (offset + len > task.edtl) {
      this.reject(b, RejectReason.ProtocolError, "Data-Out beyond the expected transfer length");
      return;
    }
    const dataSN = b.readUInt32BE(36);
    if (ttt === NO_TAG) {
      // At ErrorRecoveryLevel 0 a lost or reordered Data-Out cannot be recovered: end the command.
      if (dataSN !== task.unsolicitedDataSN++) {
        this.failDataPhase(task, `Data-Out DataSN ${dataSN} out of order`);
        return;
      }
      if (task.unsolicitedDone && task.r2ts.size > 0) {
        this.reject(b, RejectReason.ProtocolError, "unsolicited Data-Out after its sequence ended");
        return;
      }
      pdu.data.copy(task.buffer, offset);
      task.received += len;
      task.unsolicitedHigh = Math.max(task.unsolicitedHigh, offset + len);
      if (finalBit(b) && !task.unsolicitedDone) {
        task.unsolicitedDone = true;
        task.nextR2TOffset = task.unsolicitedHigh;
      }
    } else {
      const r2t = task.r2ts.get(ttt);
      if (!r2t) {
        this.reject(b, RejectReason.InvalidPduField, `Data-Out with unknown Target Transfer Tag 0x${ttt.toString(16)}`);
        return;
      }
      if (offset < r2t.offset || offset + len > r2t.offset + r2t.length) {
        this.reject(b, RejectReason.ProtocolError, "Data-Out outside its R2T");
        return;
      }
      if (dataSN !== r2t.nextDataSN++) {
        this.failDataPhase(task, `Data-Out DataSN ${dataSN} out of order`);
        return;
      }
      pdu.data.copy(task.buffer, offset);
      task.received += len;
      r2t.received += len;
      if (finalBit(b) || r2t.received >= r2t.length) task.r2ts.delete(ttt);
    }
    if (task.received >= task.edtl && task.r2ts.size === 0) {
      void this.execute(task);
      return;
    }
    if (task.unsolicitedDone) this.issueR2Ts(task);
  }

  /** Ends a write whose Data-Out stream is broken: ABORTED COMMAND / DATA PHASE ERROR. */
  private failDataPhase(task: Task, why: string): void {
    this.host.log({ type: "reject", remote: this.remote, reason: RejectReason.ProtocolError, opcode: Op.DataOut, why });
    task.r2ts.clear();
    this.terminated.add(task.itt);
    if (this.terminated.size > 256) this.terminated.delete(this.terminated.values().next().value!);
    this.finish(task, checkCondition(SenseKey.AbortedCommand, Asc.DataPhaseError));
  }

  private issueR2Ts(task: Task): void {
    const p = this.params!;
    while (task.r2ts.size < p.maxOutstandingR2T && task.nextR2TOffset < task.edtl) {
      const offset = task.nextR2TOffset;
      const length = Math.min(p.maxBurstLength, task.edtl - offset);
      const ttt = this.allocTtt();
      task.r2ts.set(ttt, { offset, length, received: 0, nextDataSN: 0 });
      task.nextR2TOffset += length;
      const bhs = newBhs(Op.R2T, 0x80);
      encodeLun(task.lun, bhs, 8);
      bhs.writeUInt32BE(task.itt, 16);
      bhs.writeUInt32BE(ttt, 20);
      this.stamp(bhs, false);
      bhs.writeUInt32BE(task.r2tsn++, 36);
      bhs.writeUInt32BE(offset, 40);
      bhs.writeUInt32BE(length, 44);
      this.send(bhs);
    }
  }

  private async execute(task: Task): Promise<void> {
    task.executing = true;
    const s = this.session!;
    const target = s.target!;
    const ctx: ScsiContext = { lu: target.lus.get(task.lun), lun: task.lun, luns: target.lunList, nexus: s.nexus };
    const dataOut = task.buffer ?? (task.write && task.edtl === 0 ? undefined : undefined);
    let result: ScsiResult;
    try {
      result = await executeScsi(task.cdb, ctx, dataOut);
    } catch {
      result = checkCondition(SenseKey.HardwareError, Asc.InternalTargetFailure);
    }
    this.finish(task, result);
  }

  private finish(task: Task, result: ScsiResult): void {
    if (task.aborted || this.phase !== "full-feature") return;
    this.tasks.delete(task.itt);
    const edtl = task.edtl;
    const ok = result.status === Status.Good || result.status === Status.ConditionMet;
    let residual = 0;
    let resFlags = 0;
    if (ok && result.data) {
      const len = result.data.length;
      const sendable = task.read ? edtl : 0;
      if (len < sendable) {
        resFlags = 0x02;
        residual = sendable - len;
      } else if (len > sendable) {
        resFlags = 0x04;
        residual = len - sendable;
      }
      const n = Math.min(len, sendable);
      if (n > 0 && result.status === Status.Good) {
        this.sendDataIn(task, result.data.subarray(0, n), resFlags, residual);
        return;
      }
      if (n > 0) this.sendDataIn(task, result.data.subarray(0, n), -1, 0);
    } else if (task.write && ok) {
      const want = dataOutLength(task.cdb);
      if (want !== undefined && want !== edtl) {
        if (want < edtl) {
          resFlags = 0x02;
          residual = edtl - want;
        } else {
          resFlags = 0x04;
          residual = want - edtl;
        }
      }
    } else if (ok && task.read && edtl > 0) {
      resFlags = 0x02;
      residual = edtl;
    }
    this.sendResponse(task, result, resFlags, residual);
  }

  /** Data-In PDUs for a read; the last carries the status when `resFlags >= 0`. */
  private sendDataIn(task: Task, data: Buffer, resFlags: number, residual: number): void {
    const p = this.params!;
    const maxSeg = p.sendDataSegmentLength;
    const burst = p.maxBurstLength;
    let dataSN = 0;
    for (let off = 0; off < data.length; ) {
      const n = Math.min(maxSeg, data.length - off, burst - (off % burst));
      const last = off + n >= data.length;
      const endOfBurst = last || (off + n) % burst === 0;
      const bhs = newBhs(Op.DataIn, endOfBurst ? 0x80 : 0);
      bhs.writeUInt32BE(task.itt, 16);
      bhs.writeUInt32BE(NO_TAG, 20);
      if (last && resFlags >= 0) {
        bhs[1] = 0x80 | 0x01 | resFlags;
        bhs[3] = Status.Good;
        bhs.writeUInt32BE(residual, 44);
        this.stamp(bhs, true);
      } else this.stamp(bhs, false);
      bhs.writeUInt32BE(dataSN++, 36);
      bhs.writeUInt32BE(off, 40);
      this.send(bhs, data.subarray(off, off + n));
      off += n;
    }
    (task as Task & { dataInCount?: number }).dataInCount = dataSN;
  }

  private sendResponse(task: Task, result: ScsiResult, resFlags: number, residual: number): void {
    const bhs = newBhs(Op.ScsiResponse, 0x80 | resFlags);
    bhs[2] = 0;
    bhs[3] = result.status;
    bhs.writeUInt32BE(task.itt, 16);
    this.stamp(bhs, true);
    bhs.writeUInt32BE((task as Task & { dataInCount?: number }).dataInCount ?? task.r2tsn, 36);
    bhs.writeUInt32BE(residual, 44);
    let data: Buffer | undefined;
    if (result.sense) {
      data = Buffer.allocUnsafe(2 + result.sense.length);
      data.writeUInt16BE(result.sense.length, 0);
      result.sense.copy(data, 2);
    }
    this.send(bhs, data);
  }
}

export { fixedSense };
