// The login phase of one connection (RFC 7143 §6): Login Request PDUs in, Login Responses
// out, the pure LoginMachine (./login.ts) deciding; on the final response the session is
// created (or reinstated, §6.3.5) and the connection enters Full Feature Phase.
import type { Connection, IscsiEvent } from "./connection.js";
import { LoginMachine, LoginStatus } from "./login.js";
import { encodeTextKeys, itt as ittOf, newBhs, Op, type Pdu, parseTextKeys, pduWireParts } from "./pdu.js";
import { adoptDetachedUnitAttentions, Session } from "./session.js";

export class LoginPhase {
  private readonly machine: LoginMachine;
  private started = false;
  private readonly isid = Buffer.alloc(6);

  constructor(private readonly conn: Connection) {
    this.machine = new LoginMachine(conn.host.directory, conn.host.limits);
  }

  private response(pdu: Pdu, flags: number, status: number, keys: Buffer | undefined, tsih: number): void {
    const c = this.conn;
    const bhs = newBhs(Op.LoginResponse, flags);
    bhs[2] = 0; // VersionMax
    bhs[3] = 0; // VersionActive
    pdu.bhs.copy(bhs, 8, 8, 14); // ISID
    bhs.writeUInt16BE(tsih, 14);
    bhs.writeUInt32BE(ittOf(pdu.bhs), 16);
    c.stamp(bhs, true);
    bhs[36] = status >> 8;
    bhs[37] = status & 0xff;
    // Login responses go out before digests take effect, so write them directly.
    c.writeRaw(pduWireParts(bhs, keys, false, false));
  }

  /** Answers with a failed status and closes the connection (RFC 7143 §11.13.5). */
  failure(pdu: Pdu, status: number, reason: string): void {
    const c = this.conn;
    c.host.log({ type: "login-failed", remote: c.remote, statusClass: status >> 8, statusDetail: status & 0xff, reason });
    if (!this.started) {
      this.started = true;
      c.statSN = pdu.bhs.readUInt32BE(28);
      c.loginCmdSN = pdu.bhs.readUInt32BE(24);
    }
    const csg = (pdu.bhs[1]! >> 2) & 3;
    this.response(pdu, csg << 2, status, undefined, 0);
    c.phase = "closed";
    c.endSoon(reason);
    // 'close' runs the usual cleanup; phase is already closed so mark it here.
    c.host.log({ type: "connection-closed", remote: c.remote, reason });
  }

  handle(pdu: Pdu): void {
    const c = this.conn;
    const b = pdu.bhs;
    const flags = b[1]!;
    const transit = (flags & 0x80) !== 0;
    const cont = (flags & 0x40) !== 0;
    const csg = (flags >> 2) & 3;
    const nsg = flags & 3;
    if (!this.started) {
      this.started = true;
      c.statSN = b.readUInt32BE(28);
      c.loginCmdSN = b.readUInt32BE(24);
      b.copy(this.isid, 0, 8, 14);
      c.cid = b.readUInt16BE(20);
      const tsih = b.readUInt16BE(14);
      if (tsih !== 0) {
        const existing = c.host.sessionByTsih(tsih);
        this.failure(
          pdu,
          existing ? LoginStatus.TooManyConnections : LoginStatus.SessionDoesNotExist,
          existing ? `session ${tsih} allows MaxConnections=1` : `no session with TSIH ${tsih}`,
        );
        return;
      }
    } else if (!b.subarray(8, 14).equals(this.isid)) {
      this.failure(pdu, LoginStatus.InitiatorError, "ISID changed during login");
      return;
    }
    if (transit && cont) {
      this.failure(pdu, LoginStatus.InitiatorError, "login request with both T and C bits");
      return;
    }
    if (cont) {
      this.machine.appendContinuation(pdu.data);
      this.response(pdu, csg << 2, LoginStatus.Success, undefined, 0);
      return;
    }
    const parsed = parseTextKeys(this.machine.takeContinuation(pdu.data));
    if ("error" in parsed) {
      this.failure(pdu, LoginStatus.InitiatorError, parsed.error);
      return;
    }
    const reply = this.machine.step({
      transit,
      continue: cont,
      csg,
      nsg,
      versionMax: b[2]!,
      versionMin: b[3]!,
      isid: this.isid,
      tsih: 0,
      cid: c.cid,
      keys: parsed,
    });
    if (reply.status !== LoginStatus.Success) {
      this.failure(pdu, reply.status, reply.reason ?? "login failed");
      return;
    }
    let tsih = 0;
    const params = this.machine.params;
    if (reply.fullFeature) {
      const target = params.targetName ? c.host.targets.get(params.targetName) : undefined;
      const isidHex = this.isid.toString("hex");
      // Session reinstatement (RFC 7143 §6.3.5): same initiator, ISID and target replaces the
      // old session. Its I_T nexus ends now, before the new one can reserve anything.
      const old = c.host.findSession(params.initiatorName, isidHex, target);
      if (old) {
        c.host.endSession(old);
        for (const other of [...old.connections]) other.destroy("session reinstated by a new login");
      }
      tsih = c.host.newTsih();
      const session = new Session(tsih, isidHex, params.initiatorName, target);
      session.expCmdSN = c.loginCmdSN;
      session.connections.add(c);
      adoptDetachedUnitAttentions(session);
      c.host.addSession(session);
      c.session = session;
      c.params = params;
    }
    const rflags = (reply.transit ? 0x80 : 0) | (reply.csg << 2) | (reply.transit ? reply.nsg : 0);
    this.response(pdu, rflags, LoginStatus.Success, encodeTextKeys(reply.keys), tsih);
    if (reply.fullFeature) c.enterFullFeature(params, loggedIn(c.remote, params));
  }
}

function loggedIn(remote: string, params: LoginMachine["params"]): IscsiEvent {
  const logged: IscsiEvent = {
    type: "login",
    remote,
    initiator: params.initiatorName,
    sessionType: params.sessionType,
  };
  if (params.targetName) logged.target = params.targetName;
  if (params.authenticatedUser) logged.user = params.authenticatedUser;
  return logged;
}
