// One LU through two portals at once, over real TCP: the same data and the same
// reservations on every path, unit attentions and aborts that reach the other path,
// registrations that outlive a lost connection (SPC-4 §5.7.1), SPC-2 reservations that do
// not, and a portal taken down while the other keeps serving.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeLun, newBhs, Op, opcodeOf } from "../../../harness/iscsi/pdu.js";
import { type IscsiTargetHandle, startIscsiTarget } from "../../../harness/iscsi/target.js";
import { cdb, prOutParams, senseOf, TestInitiator } from "./initiator.js";

const IQN = "iqn.2024-01.org.bootproof.test:multipath";
const INITIATOR = "iqn.2024-01.org.bootproof:host";
let target: IscsiTargetHandle;
let isidSeq = 0x100;
const freshIsid = () => Buffer.from([0x80, 0, 0, 0x77, (++isidSeq >> 8) & 0xff, isidSeq & 0xff]);

beforeAll(async () => {
  target = await startIscsiTarget({
    portals: [{ port: 0 }, { port: 0 }],
    targets: [{ iqn: IQN, luns: [{ lun: 0, backend: { kind: "memory", sizeBytes: 4 << 20 } }] }],
  });
});
afterAll(async () => {
  await target?.close();
});

async function session(portal: number, opts: { isid?: Buffer; keys?: Record<string, string> } = {}): Promise<TestInitiator> {
  const ini = await TestInitiator.connect(target.portals[portal]!.port);
  const r = await ini.login({ target: IQN, initiatorName: INITIATOR, isid: opts.isid ?? freshIsid(), keys: opts.keys });
  expect(r.statusClass).toBe(0);
  return ini;
}

const prOut = (ini: TestInitiator, action: number, type: number, fields: Parameters<typeof prOutParams>[0]) =>
  ini.scsi(0, cdb.prOut(action, type, 24), { write: prOutParams(fields) });

/** Clears every registration through a fresh session, so each test starts from nothing. */
async function clearAll(): Promise<void> {
  const ini = await session(1);
  await ini.scsi(0, cdb.tur());
  await prOut(ini, 6, 0, { serviceActionKey: 0xdeadn });
  expect((await prOut(ini, 3, 0, { key: 0xdeadn })).status).toBe(0);
  ini.close();
}

/** Polls until `check` holds (the target learns of a closed socket a moment later). */
async function eventually(check: () => Promise<boolean>, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition never held");
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("one LU through two portals", () => {
  it("listens on both and names both in SendTargets", async () => {
    expect(target.portals).toHaveLength(2);
    expect(target.portals[0]!.port).not.toBe(target.portals[1]!.port);
    const ini = await TestInitiator.connect(target.portals[1]!.port);
    expect((await ini.login({ discovery: true })).statusClass).toBe(0);
    const keys = await ini.text([["SendTargets", "All"]]);
    expect(keys.get("TargetName")).toEqual([IQN]);
    expect(keys.get("TargetAddress")).toEqual(target.portals.map((p) => `127.0.0.1:${p.port},1`));
    ini.close();
  });

  it("shows through one path what was written through the other", async () => {
    const a = await session(0);
    const b = await session(1);
    const data = Buffer.alloc(16 * 512);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    expect((await a.scsi(0, cdb.write10(64, 16), { write: data })).status).toBe(0);
    const r = await b.scsi(0, cdb.read10(64, 16), { read: data.length });
    expect(r.data.equals(data)).toBe(true);
    a.close();
    b.close();
  });

  it("enforces one path's persistent reservation on the other, and tells it when preempted", async () => {
    await clearAll();
    const a = await session(0);
    const b = await session(1);
    expect((await prOut(a, 6, 0, { serviceActionKey: 0xan })).status).toBe(0);
    expect((await prOut(a, 1, 0x03, { key: 0xan })).status).toBe(0); // EXCLUSIVE ACCESS
    expect((await b.scsi(0, cdb.read10(0, 1), { read: 512 })).status).toBe(0x18);
    expect((await b.scsi(0, cdb.prIn(1, 64), { read: 64 })).data.readBigUInt64BE(8)).toBe(0xan);
    expect((await prOut(b, 6, 0, { serviceActionKey: 0xbn })).status).toBe(0);
    expect((await prOut(b, 4, 0x01, { key: 0xbn, serviceActionKey: 0xan })).status).toBe(0); // PREEMPT → WE
    const ua = await a.scsi(0, cdb.tur());
    expect(senseOf(ua.sense)).toEqual({ key: 6, asc: 0x2a05 }); // REGISTRATIONS PREEMPTED
    expect((await a.scsi(0, cdb.read10(0, 1), { read: 512 })).status).toBe(0); // WE: reads pass
    expect((await a.scsi(0, cdb.write10(0, 1), { write: Buffer.alloc(512) })).status).toBe(0x18);
    expect((await b.scsi(0, cdb.write10(0, 1), { write: Buffer.alloc(512) })).status).toBe(0);
    a.close();
    b.close();
  });

  it("PREEMPT AND ABORT ends the other path's outstanding write without a response", async () => {
    await clearAll();
    const a = await session(0, { keys: { InitialR2T: "Yes", ImmediateData: "No" } });
    const b = await session(1);
    expect((await prOut(a, 6, 0, { serviceActionKey: 1n })).status).toBe(0);
    expect((await prOut(b, 6, 0, { serviceActionKey: 2n })).status).toBe(0);
    // A WRITE whose data A never sends: the target waits for it after its R2T.
    const tag = 0x7777;
    const bhs = newBhs(Op.ScsiCommand, 0x80 | 0x20 | 0x01);
    encodeLun(0, bhs, 8);
    bhs.writeUInt32BE(tag, 16);
    bhs.writeUInt32BE(512, 20);
    bhs.writeUInt32BE(a.cmdSN, 24);
    a.cmdSN = (a.cmdSN + 1) >>> 0;
    bhs.writeUInt32BE(a.expStatSN, 28);
    cdb.write10(8, 1).copy(bhs, 32);
    a.send(bhs);
    const r2t = await a.recv();
    expect(opcodeOf(r2t.bhs)).toBe(Op.R2T);
    expect((await prOut(b, 5, 0x03, { key: 2n, serviceActionKey: 1n })).status).toBe(0);
    expect(senseOf((await a.scsi(0, cdb.tur())).sense)).toEqual({ key: 6, asc: 0x2a05 });
    await new Promise((r) => setTimeout(r, 100));
    const nop = await a.nop(); // anything still queued for the aborted write would come first
    expect(opcodeOf(nop.bhs)).toBe(Op.NopIn);
    expect(nop.bhs.readUInt32BE(16)).not.toBe(tag);
    a.close();
    b.close();
  });

  it("keeps a registration and its reservation for a nexus whose connection dropped (SPC-4 §5.7.1)", async () => {
    await clearAll();
    const isid = freshIsid();
    const a = await session(0, { isid });
    expect((await prOut(a, 6, 0, { serviceActionKey: 0x51n })).status).toBe(0);
    expect((await prOut(a, 1, 0x01, { key: 0x51n })).status).toBe(0);
    a.close(); // no logout: the I_T nexus is lost
    const b = await session(1);
    await eventually(async () => target.sessionCount() === 1);
    expect((await b.scsi(0, cdb.write10(0, 1), { write: Buffer.alloc(512) })).status).toBe(0x18);
    // The same initiator port logs in again, through the other portal: the same nexus.
    const again = await session(1, { isid });
    expect((await again.scsi(0, cdb.write10(0, 1), { write: Buffer.alloc(512) })).status).toBe(0);
    const full = await again.scsi(0, cdb.prIn(3, 1024), { read: 1024 });
    expect(full.data[8 + 12]).toBe(0x01); // R_HOLDER
    again.close();
    b.close();
  });

  it("hands a unit attention to a registered nexus that comes back after it was preempted", async () => {
    await clearAll();
    const isid = freshIsid();
    const a = await session(0, { isid });
    expect((await prOut(a, 6, 0, { serviceActionKey: 0x61n })).status).toBe(0);
    a.close();
    await eventually(async () => target.sessionCount() === 0);
    const b = await session(1);
    expect((await prOut(b, 6, 0, { serviceActionKey: 0x62n })).status).toBe(0);
    expect((await prOut(b, 3, 0, { key: 0x62n })).status).toBe(0); // CLEAR
    const back = await session(0, { isid });
    expect(senseOf((await back.scsi(0, cdb.tur())).sense)).toEqual({ key: 6, asc: 0x2a03 }); // RESERVATIONS PREEMPTED
    expect((await back.scsi(0, cdb.tur())).status).toBe(0);
    back.close();
    b.close();
  });

  it("ends an SPC-2 reservation with its nexus (connection loss) and with a LOGICAL UNIT RESET", async () => {
    await clearAll();
    const a = await session(0);
    const b = await session(1);
    expect((await a.scsi(0, cdb.reserve6())).status).toBe(0);
    expect((await b.scsi(0, cdb.reserve6())).status).toBe(0x18);
    expect((await b.scsi(0, cdb.inquiry(), { read: 255 })).status).toBe(0);
    a.close();
    await eventually(async () => (await b.scsi(0, cdb.reserve6())).status === 0);
    const c = await session(0);
    expect((await c.scsi(0, cdb.tur())).status).toBe(0x18);
    c.request(Op.TaskMgmt, 0x80 | 5, undefined, undefined, true); // LOGICAL UNIT RESET on LUN 0
    expect(opcodeOf((await c.recv()).bhs)).toBe(Op.TaskMgmtResponse);
    expect(senseOf((await c.scsi(0, cdb.tur())).sense)?.asc).toBe(0x2900);
    expect((await c.scsi(0, cdb.reserve6())).status).toBe(0);
    expect((await c.scsi(0, cdb.release6())).status).toBe(0);
    b.close();
    c.close();
  });

  it("replaces a session reinstated through the other portal and ends its SPC-2 reservation at once", async () => {
    const isid = freshIsid();
    const a = await session(0, { isid });
    expect((await a.scsi(0, cdb.reserve6())).status).toBe(0);
    const again = await session(1, { isid });
    expect((await again.scsi(0, cdb.reserve6())).status).toBe(0);
    await eventually(async () => a.isClosed);
    // The old session's close, arriving later, must not release the new reservation.
    const other = await session(0);
    expect((await other.scsi(0, cdb.reserve6())).status).toBe(0x18);
    expect((await again.scsi(0, cdb.release6())).status).toBe(0);
    again.close();
    other.close();
  });
});

describe("a portal taken down", () => {
  it("refuses new connections and cuts its sessions while the other portal serves on", async () => {
    const t = await startIscsiTarget({
      portals: [{ port: 0 }, { port: 0 }],
      targets: [{ iqn: IQN, luns: [{ lun: 0, backend: { kind: "memory", sizeBytes: 1 << 20 } }] }],
    });
    try {
      const onFirst = await TestInitiator.connect(t.portals[0]!.port);
      expect((await onFirst.login({ target: IQN })).statusClass).toBe(0);
      const onSecond = await TestInitiator.connect(t.portals[1]!.port);
      expect((await onSecond.login({ target: IQN })).statusClass).toBe(0);
      await t.closePortal(0);
      expect(t.portals.map((p) => p.open)).toEqual([false, true]);
      await eventually(async () => onFirst.isClosed);
      const refused = await new Promise<string>((resolve) => {
        const s = net.connect(t.portals[0]!.port, "127.0.0.1");
        s.once("connect", () => {
          s.destroy();
          resolve("connected");
        });
        s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
      });
      expect(refused).toBe("ECONNREFUSED");
      expect((await onSecond.scsi(0, cdb.tur())).status).toBe(0);
      const keys = await onSecond.text([["SendTargets", "All"]]);
      expect(keys.get("TargetAddress")).toEqual([`127.0.0.1:${t.portals[1]!.port},1`]);
      onSecond.close();
      expect(() => t.url(IQN, 0, 2)).toThrow(/portal 2/);
      expect(t.url(IQN, 0, 1)).toBe(`iscsi://127.0.0.1:${t.portals[1]!.port}/${IQN}/0`);
    } finally {
      await t.close();
    }
  });
});
