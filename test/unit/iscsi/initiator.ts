// A small iSCSI initiator for tests: real TCP, real PDUs, written from RFC 7143 so the
// target is checked against an independent reading of the protocol (one command at a time).
import net from "node:net";
import { chapResponse, decodeBinaryValue, encodeHex } from "../../../harness/iscsi/chap.js";
import {
  encodeLun,
  encodeTextKeys,
  NO_TAG,
  newBhs,
  Op,
  opcodeOf,
  type Pdu,
  PduFramer,
  parseTextKeys,
  pduWireParts,
} from "../../../harness/iscsi/pdu.js";

export interface LoginOptions {
  target?: string;
  discovery?: boolean;
  initiatorName?: string;
  chap?: { username: string; secret: string; mutual?: { username: string; secret: string } };
  /** Operational keys to offer (override the defaults below). */
  keys?: Record<string, string>;
  isid?: Buffer;
}

export interface LoginResult {
  statusClass: number;
  statusDetail: number;
  keys: Map<string, string>;
  tsih: number;
}

export interface ScsiOutcome {
  status: number;
  data: Buffer;
  sense?: Buffer;
  residual: number;
  flags: number;
}

let isidCounter = 0;
function nextIsid(): Buffer {
  isidCounter = (isidCounter + 1) & 0xffff;
  return Buffer.from([0x80, 0, 0, 0x12, isidCounter >> 8, isidCounter & 0xff]);
}

export class TestInitiator {
  private readonly framer = new PduFramer();
  private readonly queue: Pdu[] = [];
  private waiters: Array<() => void> = [];
  private closed = false;
  private itt = 1;
  cmdSN = 1;
  expStatSN = 0;
  headerDigest = false;
  dataDigest = false;
  negotiated = new Map<string, string>();

  private constructor(readonly socket: net.Socket) {
    this.framer.maxDataSegment = 1 << 24;
    socket.on("data", (d: Buffer) => {
      this.framer.push(d);
      for (;;) {
        const r = this.framer.next();
        if (!r) break;
        if ("error" in r) {
          socket.destroy();
          break;
        }
        this.queue.push(r.pdu);
      }
      this.wake();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number, host = "127.0.0.1"): Promise<TestInitiator> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host, () => resolve(new TestInitiator(s)));
      s.once("error", reject);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  async recv(timeoutMs = 5000): Promise<Pdu> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = this.queue.shift();
      if (p) {
        if (opcodeOf(p.bhs) !== Op.R2T && opcodeOf(p.bhs) !== Op.DataIn) this.expStatSN = (p.bhs.readUInt32BE(24) + 1) >>> 0;
        else if (opcodeOf(p.bhs) === Op.DataIn && p.bhs[1]! & 0x01) this.expStatSN = (p.bhs.readUInt32BE(24) + 1) >>> 0;
        return p;
      }
      if (this.closed) throw new Error("connection closed by target");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no PDU from target within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  send(bhs: Buffer, data?: Buffer): void {
    const parts = pduWireParts(bhs, data, this.headerDigest, this.dataDigest);
    this.socket.write(Buffer.concat(parts));
  }

  sendRaw(buf: Buffer): void {
    this.socket.write(buf);
  }

  close(): void {
    this.socket.destroy();
  }

  private loginPdu(csg: number, nsg: number, transit: boolean, keys: Array<[string, string]>, isid: Buffer): Buffer {
    const bhs = newBhs(Op.Login | 0x40, (transit ? 0x80 : 0) | (csg << 2) | (transit ? nsg : 0));
    isid.copy(bhs, 8);
    bhs.writeUInt32BE(this.itt, 16);
    bhs.writeUInt32BE(this.cmdSN, 24);
    bhs.writeUInt32BE(this.expStatSN, 28);
    this.send(bhs, encodeTextKeys(keys));
    return bhs;
  }

  private async loginReply(): Promise<LoginResult & { transit: boolean; nsg: number }> {
    const p = await this.recv();
    if (opcodeOf(p.bhs) !== Op.LoginResponse)
      throw new Error(`expected Login Response, got opcode 0x${opcodeOf(p.bhs).toString(16)}`);
    const parsed = parseTextKeys(p.data);
    if ("error" in parsed) throw new Error(parsed.error);
    return {
      statusClass: p.bhs[36]!,
      statusDetail: p.bhs[37]!,
      keys: new Map(parsed),
      tsih: p.bhs.readUInt16BE(14),
      transit: (p.bhs[1]! & 0x80) !== 0,
      nsg: p.bhs[1]! & 3,
    };
  }

  async login(o: LoginOptions = {}): Promise<LoginResult> {
    // Each login gets its own ISID: two sessions sharing one would be a session
    // reinstatement (RFC 7143 §6.3.5) and the target would drop the older one.
    const isid = o.isid ?? nextIsid();
    const first: Array<[string, string]> = [
      ["InitiatorName", o.initiatorName ?? "iqn.2024-01.org.bootproof:test-initiator"],
      ["SessionType", o.discovery ? "Discovery" : "Normal"],
    ];
    if (o.target) first.push(["TargetName", o.target]);
    first.push(["AuthMethod", o.chap ? "CHAP,None" : "None"]);
    this.loginPdu(0, 1, !o.chap, first, isid);
    let r = await this.loginReply();
    if (r.statusClass !== 0) return r;
    if (o.chap) {
      this.loginPdu(0, 1, false, [["CHAP_A", "5"]], isid);
      r = await this.loginReply();
      if (r.statusClass !== 0) return r;
      const id = Number(r.keys.get("CHAP_I"));
      const challenge = decodeBinaryValue(r.keys.get("CHAP_C") ?? "")!;
      const keys: Array<[string, string]> = [
        ["CHAP_N", o.chap.username],
        ["CHAP_R", encodeHex(chapResponse(id, o.chap.secret, challenge))],
      ];
      const myChallenge = Buffer.from("0123456789abcdef");
      if (o.chap.mutual) keys.push(["CHAP_I", "77"], ["CHAP_C", encodeHex(myChallenge)]);
      this.loginPdu(0, 1, true, keys, isid);
      r = await this.loginReply();
      if (r.statusClass !== 0) return r;
      if (o.chap.mutual) {
        const want = encodeHex(chapResponse(77, o.chap.mutual.secret, myChallenge));
        if (r.keys.get("CHAP_N") !== o.chap.mutual.username || r.keys.get("CHAP_R") !== want)
          throw new Error("target failed mutual CHAP");
      }
    }
    const ops: Record<string, string> = {
      HeaderDigest: "None",
      DataDigest: "None",
      MaxRecvDataSegmentLength: "65536",
      InitialR2T: "No",
      ImmediateData: "Yes",
      MaxBurstLength: "262144",
      FirstBurstLength: "65536",
      MaxOutstandingR2T: "1",
      ErrorRecoveryLevel: "0",
      ...o.keys,
    };
    this.loginPdu(1, 3, true, Object.entries(ops), isid);
    r = await this.loginReply();
    if (r.statusClass === 0) {
      for (const [k, v] of r.keys) this.negotiated.set(k, v);
      this.headerDigest = r.keys.get("HeaderDigest") === "CRC32C";
      this.dataDigest = r.keys.get("DataDigest") === "CRC32C";
      this.framer.headerDigest = this.headerDigest;
      this.framer.dataDigest = this.dataDigest;
    }
    return r;
  }

  /** One SCSI command, waiting for its status; handles immediate/unsolicited data and R2Ts. */
  async scsi(lun: number, cdb: Buffer, opts: { read?: number; write?: Buffer; timeoutMs?: number } = {}): Promise<ScsiOutcome> {
    const tag = this.itt++;
    const write = opts.write;
    const edtl = write ? write.length : (opts.read ?? 0);
    const bhs = newBhs(Op.ScsiCommand, 0x80 | (opts.read ? 0x40 : 0) | (write ? 0x20 : 0) | 0x01);
    encodeLun(lun, bhs, 8);
    bhs.writeUInt32BE(tag, 16);
    bhs.writeUInt32BE(edtl, 20);
    bhs.writeUInt32BE(this.cmdSN, 24);
    this.cmdSN = (this.cmdSN + 1) >>> 0;
    bhs.writeUInt32BE(this.expStatSN, 28);
    const padded = Buffer.alloc(16);
    cdb.copy(padded);
    padded.copy(bhs, 32);
    const immediateOk = this.negotiated.get("ImmediateData") === "Yes";
    const unsolicitedOk = this.negotiated.get("InitialR2T") === "No";
    const fbl = Number(this.negotiated.get("FirstBurstLength") ?? 65536);
    const tmrdsl = Number(this.negotiated.get("MaxRecvDataSegmentLength") ?? 8192);
    let sent = 0;
    if (write && immediateOk) sent = Math.min(write.length, fbl, tmrdsl);
    const unsolicitedEnd = write && unsolicitedOk ? Math.min(write.length, fbl) : sent;
    if (sent < unsolicitedEnd) bhs[1] = bhs[1]! & ~0x80; // unsolicited Data-Out follows
    this.send(bhs, write && sent ? write.subarray(0, sent) : undefined);
    if (write && sent < unsolicitedEnd) {
      let dataSN = 0;
      for (let off = sent; off < unsolicitedEnd; ) {
        const n = Math.min(tmrdsl, unsolicitedEnd - off);
        this.dataOut(tag, NO_TAG, lun, off, write.subarray(off, off + n), dataSN++, off + n >= unsolicitedEnd);
        off += n;
      }
    }
    const chunks: Buffer[] = [];
    for (;;) {
      const p = await this.recv(opts.timeoutMs);
      const op = opcodeOf(p.bhs);
      if (p.bhs.readUInt32BE(16) !== tag) continue;
      if (op === Op.R2T && write) {
        const ttt = p.bhs.readUInt32BE(20);
        const off = p.bhs.readUInt32BE(40);
        const len = p.bhs.readUInt32BE(44);
        let dataSN = 0;
        for (let o = off; o < off + len; ) {
          const n = Math.min(tmrdsl, off + len - o);
          this.dataOut(tag, ttt, lun, o, write.subarray(o, o + n), dataSN++, o + n >= off + len);
          o += n;
        }
      } else if (op === Op.DataIn) {
        chunks.push(p.data);
        if (p.bhs[1]! & 0x01)
          return { status: p.bhs[3]!, data: Buffer.concat(chunks), residual: p.bhs.readUInt32BE(44), flags: p.bhs[1]! };
      } else if (op === Op.ScsiResponse) {
        const out: ScsiOutcome = {
          status: p.bhs[3]!,
          data: Buffer.concat(chunks),
          residual: p.bhs.readUInt32BE(44),
          flags: p.bhs[1]!,
        };
        if (p.data.length >= 2) out.sense = p.data.subarray(2, 2 + p.data.readUInt16BE(0));
        return out;
      } else throw new Error(`unexpected opcode 0x${op.toString(16)} for task ${tag}`);
    }
  }

  /** Sends a no-data SCSI command with an explicit CmdSN and returns its ITT without waiting. */
  sendCommand(lun: number, cdbBytes: Buffer, cmdSN: number): number {
    const tag = this.itt++;
    const bhs = newBhs(Op.ScsiCommand, 0x80 | 0x01);
    encodeLun(lun, bhs, 8);
    bhs.writeUInt32BE(tag, 16);
    bhs.writeUInt32BE(cmdSN, 24);
    bhs.writeUInt32BE(this.expStatSN, 28);
    cdbBytes.copy(bhs, 32);
    this.send(bhs);
    return tag;
  }

  private dataOut(tag: number, ttt: number, lun: number, offset: number, data: Buffer, dataSN: number, final: boolean): void {
    const bhs = newBhs(Op.DataOut, final ? 0x80 : 0);
    encodeLun(lun, bhs, 8);
    bhs.writeUInt32BE(tag, 16);
    bhs.writeUInt32BE(ttt, 20);
    bhs.writeUInt32BE(this.expStatSN, 28);
    bhs.writeUInt32BE(dataSN, 36);
    bhs.writeUInt32BE(offset, 40);
    this.send(bhs, data);
  }

  /** A PDU with CmdSN/ExpStatSN filled, for NOP/Text/Logout/TMF. */
  request(opcode: number, flags: number, fill?: (bhs: Buffer) => void, data?: Buffer, immediate = false): number {
    const tag = this.itt++;
    const bhs = newBhs(opcode | (immediate ? 0x40 : 0), flags);
    bhs.writeUInt32BE(tag, 16);
    bhs.writeUInt32BE(NO_TAG, 20);
    bhs.writeUInt32BE(this.cmdSN, 24);
    if (!immediate) this.cmdSN = (this.cmdSN + 1) >>> 0;
    bhs.writeUInt32BE(this.expStatSN, 28);
    fill?.(bhs);
    this.send(bhs, data);
    return tag;
  }

  async text(keys: Array<[string, string]>): Promise<Map<string, string[]>> {
    this.request(Op.Text, 0x80, undefined, encodeTextKeys(keys));
    const p = await this.recv();
    if (opcodeOf(p.bhs) !== Op.TextResponse) throw new Error(`expected Text Response, got 0x${opcodeOf(p.bhs).toString(16)}`);
    const out = new Map<string, string[]>();
    const parsed = parseTextKeys(p.data);
    if ("error" in parsed) throw new Error(parsed.error);
    for (const [k, v] of parsed) out.set(k, [...(out.get(k) ?? []), v]);
    return out;
  }

  async nop(payload?: Buffer): Promise<Pdu> {
    this.request(Op.NopOut, 0x80, undefined, payload, true);
    return this.recv();
  }

  async logout(): Promise<number> {
    this.request(Op.Logout, 0x80);
    const p = await this.recv();
    return p.bhs[2]!;
  }
}

/** CDB builders for the tests. */
export const cdb = {
  read10: (lba: number, blocks: number, flags = 0): Buffer => {
    const c = Buffer.alloc(10);
    c[0] = 0x28;
    c[1] = flags;
    c.writeUInt32BE(lba, 2);
    c.writeUInt16BE(blocks, 7);
    return c;
  },
  write10: (lba: number, blocks: number, flags = 0): Buffer => {
    const c = Buffer.alloc(10);
    c[0] = 0x2a;
    c[1] = flags;
    c.writeUInt32BE(lba, 2);
    c.writeUInt16BE(blocks, 7);
    return c;
  },
  sync10: (): Buffer => Buffer.from([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  tur: (): Buffer => Buffer.alloc(6),
  inquiry: (evpd = false, page = 0, alloc = 255): Buffer => Buffer.from([0x12, evpd ? 1 : 0, page, alloc >> 8, alloc & 0xff, 0]),
  readCapacity10: (): Buffer => Buffer.from([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
  /** PERSISTENT RESERVE IN with a service action and allocation length. */
  prIn: (serviceAction: number, alloc: number): Buffer =>
    Buffer.from([0x5e, serviceAction, 0, 0, 0, 0, 0, alloc >> 8, alloc & 0xff, 0]),
  /** PERSISTENT RESERVE OUT; `scopeType` is CDB byte 2 (SCOPE << 4 | TYPE). */
  prOut: (serviceAction: number, scopeType: number, paramLength: number): Buffer => {
    const c = Buffer.alloc(10);
    c[0] = 0x5f;
    c[1] = serviceAction;
    c[2] = scopeType;
    c.writeUInt32BE(paramLength, 5);
    return c;
  },
  reserve6: (): Buffer => Buffer.from([0x16, 0, 0, 0, 0, 0]),
  release6: (): Buffer => Buffer.from([0x17, 0, 0, 0, 0, 0]),
};

/** The 24-byte PERSISTENT RESERVE OUT basic parameter list (SPC-4 §6.14.3). */
export function prOutParams(f: { key?: bigint; serviceActionKey?: bigint; flags?: number; allTargetPorts?: boolean }): Buffer {
  const p = Buffer.alloc(24);
  p.writeBigUInt64BE(f.key ?? 0n, 0);
  p.writeBigUInt64BE(f.serviceActionKey ?? 0n, 8);
  p[20] = (f.flags ?? 0) | (f.allTargetPorts ? 0x04 : 0);
  return p;
}

/** Sense key and ASC/ASCQ of fixed-format sense. */
export const senseOf = (s: Buffer | undefined): { key: number; asc: number } | undefined =>
  s && s.length >= 14 ? { key: s[2]! & 0x0f, asc: (s[12]! << 8) | s[13]! } : undefined;
