// The small full-feature requests of one connection: NOP-Out (RFC 7143 §11.18), Text with
// SendTargets (§11.10, appendix C) split over several responses when long, and Logout
// (§11.14).
import net from "node:net";
import type { Connection } from "./connection.js";
import { encodeTextKeys, itt as ittOf, NO_TAG, newBhs, Op, type Pdu, parseTextKeys, RejectReason } from "./pdu.js";

export class TextRequests {
  private pending: Buffer[] = [];
  private remainder: { ttt: number; itt: number; data: Buffer } | undefined;

  constructor(private readonly conn: Connection) {}

  nopOut(pdu: Pdu): void {
    const c = this.conn;
    const tag = ittOf(pdu.bhs);
    if (tag === NO_TAG) return; // an answer to a NOP-In of ours, or a ping that wants none
    const bhs = newBhs(Op.NopIn, 0x80);
    pdu.bhs.copy(bhs, 8, 8, 16);
    bhs.writeUInt32BE(tag, 16);
    bhs.writeUInt32BE(NO_TAG, 20);
    c.stamp(bhs, true);
    const max = c.params!.sendDataSegmentLength;
    c.send(bhs, pdu.data.length > 0 ? Buffer.from(pdu.data.subarray(0, max)) : undefined);
  }

  text(pdu: Pdu): void {
    const c = this.conn;
    const b = pdu.bhs;
    const tag = ittOf(b);
    const ttt = b.readUInt32BE(20);
    const cont = (b[1]! & 0x40) !== 0;
    if (ttt !== NO_TAG) {
      const rem = this.remainder;
      if (!rem || rem.ttt !== ttt) {
        c.reject(b, RejectReason.InvalidPduField, "Text Request with an unknown Target Transfer Tag");
        return;
      }
      this.remainder = undefined;
      this.sendText(tag, rem.data);
      return;
    }
    this.remainder = undefined;
    if (cont) {
      this.pending.push(pdu.data);
      const bhs = newBhs(Op.TextResponse, 0);
      bhs.writeUInt32BE(tag, 16);
      bhs.writeUInt32BE(NO_TAG, 20);
      c.stamp(bhs, true);
      c.send(bhs);
      return;
    }
    const data = this.pending.length ? Buffer.concat([...this.pending, pdu.data]) : pdu.data;
    this.pending = [];
    const parsed = parseTextKeys(data);
    if ("error" in parsed) {
      c.reject(b, RejectReason.ProtocolError, parsed.error);
      return;
    }
    const out: Array<[string, string]> = [];
    for (const [key, value] of parsed) {
      if (key === "SendTargets") out.push(...this.sendTargets(value));
      else out.push([key, "NotUnderstood"]);
    }
    this.sendText(tag, encodeTextKeys(out));
  }

  /** Every portal of the portal group is an address of every target (appendix C). */
  private sendTargets(value: string): Array<[string, string]> {
    const c = this.conn;
    const s = c.session!;
    let names: string[];
    if (value === "All") names = s.target ? [s.target.iqn] : [...c.host.targets.keys()];
    else if (value === "") names = s.target ? [s.target.iqn] : [];
    else names = c.host.targets.has(value) ? [value] : [];
    if (s.target && value === "All" && c.params?.sessionType === "Normal") names = [...c.host.targets.keys()];
    const local = c.localAddress();
    const addresses = c.host.portals().map((p) => {
      // A wildcard listener, or this connection's own portal bound by host name, is reached
      // at the address this connection came in on.
      const wildcard = p.host === "0.0.0.0" || p.host === "::";
      const addr = wildcard || (p.port === local.port && net.isIP(p.host) === 0) ? local.host : p.host;
      const host = addr.includes(":") ? `[${addr}]` : addr;
      return `${host}:${p.port},${c.host.directory.portalGroupTag}`;
    });
    const out: Array<[string, string]> = [];
    for (const n of names) {
      out.push(["TargetName", n]);
      for (const a of addresses) out.push(["TargetAddress", a]);
    }
    return out;
  }

  private sendText(tag: number, data: Buffer): void {
    const c = this.conn;
    const max = c.params!.sendDataSegmentLength;
    const bhs = newBhs(Op.TextResponse, 0);
    bhs.writeUInt32BE(tag, 16);
    if (data.length > max) {
      // Break at a key boundary where possible so each piece is whole keys.
      let cut = data.lastIndexOf(0, max - 1) + 1;
      if (cut <= 0) cut = max;
      const ttt = c.allocTtt();
      bhs[1] = 0x40; // C
      bhs.writeUInt32BE(ttt, 20);
      this.remainder = { ttt, itt: tag, data: data.subarray(cut) };
      c.stamp(bhs, true);
      c.send(bhs, data.subarray(0, cut));
      return;
    }
    bhs[1] = 0x80;
    bhs.writeUInt32BE(NO_TAG, 20);
    c.stamp(bhs, true);
    c.send(bhs, data.length ? data : undefined);
  }

  logout(pdu: Pdu): void {
    const c = this.conn;
    const reason = pdu.bhs[1]! & 0x7f;
    const cid = pdu.bhs.readUInt16BE(20);
    let response = 0;
    if (reason === 2)
      response = 2; // connection recovery needs ErrorRecoveryLevel 2
    else if (reason === 1 && cid !== c.cid) response = 1;
    else if (reason > 2) {
      c.reject(pdu.bhs, RejectReason.InvalidPduField, `logout reason ${reason}`);
      return;
    }
    const bhs = newBhs(Op.LogoutResponse, 0x80);
    bhs[2] = response;
    bhs.writeUInt32BE(ittOf(pdu.bhs), 16);
    c.stamp(bhs, true);
    c.send(bhs);
    c.host.log({ type: "logout", remote: c.remote, reason });
    if (response !== 0) return;
    if (reason === 0) for (const other of [...c.session!.connections]) if (other !== c) other.destroy("session logged out");
    c.endSoon("logout");
  }
}
