// Socket-level tests: a real TCP initiator (./initiator.ts) and, where installed, the
// libiscsi command-line tools against a live target.
import { execFile, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IscsiEvent } from "../../../harness/iscsi/connection.js";
import { NO_TAG, Op, opcodeOf } from "../../../harness/iscsi/pdu.js";
import { type IscsiTargetHandle, startIscsiTarget } from "../../../harness/iscsi/target.js";
import { cdb, senseOf, TestInitiator } from "./initiator.js";

const IQN = "iqn.2024-01.org.bootproof.test:disk";
const CHAP_IQN = "iqn.2024-01.org.bootproof.test:chap";
const RO_IQN = "iqn.2024-01.org.bootproof.test:ro";
const CHAP = { username: "node-1", secret: "correct-horse-9", mutual: { username: "target-1", secret: "battery-staple-7" } };

let dir: string;
let target: IscsiTargetHandle;
const events: IscsiEvent[] = [];
const base = () => path.join(dir, "base.img");

function hasTool(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "bootproof-iscsi-test-"));
  fs.writeFileSync(path.join(dir, "disk.img"), Buffer.alloc(8 << 20));
  fs.writeFileSync(base(), Buffer.alloc(4 << 20, 0x42));
  target = await startIscsiTarget({
    targets: [
      {
        iqn: IQN,
        luns: [
          { lun: 0, backend: { kind: "file", path: path.join(dir, "disk.img") } },
          { lun: 1, backend: { kind: "memory", sizeBytes: 1 << 20 } },
          { lun: 2, backend: { kind: "overlay", base: base() } },
        ],
      },
      { iqn: CHAP_IQN, luns: [{ lun: 0, backend: { kind: "memory", sizeBytes: 1 << 20 } }], chap: CHAP },
      { iqn: RO_IQN, luns: [{ lun: 0, backend: { kind: "file", path: base(), readOnly: true } }] },
    ],
    logger: (e) => events.push(e),
  });
});

afterAll(async () => {
  await target?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function session(opts: Parameters<TestInitiator["login"]>[0] = { target: IQN }): Promise<TestInitiator> {
  const ini = await TestInitiator.connect(target.port);
  const r = await ini.login(opts);
  expect(r.statusClass, `login status ${r.statusClass}/${r.statusDetail}`).toBe(0);
  return ini;
}

describe("built-in iSCSI target over TCP", () => {
  it("binds loopback on an ephemeral port", () => {
    expect(target.host).toBe("127.0.0.1");
    expect(target.port).toBeGreaterThan(0);
  });

  it("writes and reads back with immediate + unsolicited data (InitialR2T=No)", async () => {
    const ini = await session();
    const data = Buffer.alloc(200 * 512);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const w = await ini.scsi(0, cdb.write10(10, 200), { write: data });
    expect(w.status).toBe(0);
    const r = await ini.scsi(0, cdb.read10(10, 200), { read: data.length });
    expect(r.status).toBe(0);
    expect(r.data.equals(data)).toBe(true);
    ini.close();
  });

  it("writes through R2Ts only when the initiator asks for InitialR2T=Yes, ImmediateData=No (iPXE's keys)", async () => {
    const ini = await session({
      target: IQN,
      keys: { InitialR2T: "Yes", ImmediateData: "No", MaxRecvDataSegmentLength: "8192", MaxBurstLength: "16384" },
    });
    expect(ini.negotiated.get("InitialR2T")).toBe("Yes");
    const data = Buffer.alloc(64 * 512, 0x3c);
    expect((await ini.scsi(1, cdb.write10(0, 64), { write: data })).status).toBe(0);
    const r = await ini.scsi(1, cdb.read10(0, 64), { read: data.length });
    expect(r.data.equals(data)).toBe(true);
    ini.close();
  });

  it("works with CRC32C header and data digests", async () => {
    const ini = await session({ target: IQN, keys: { HeaderDigest: "CRC32C", DataDigest: "CRC32C" } });
    expect(ini.headerDigest && ini.dataDigest).toBe(true);
    const data = Buffer.alloc(8 * 512, 0x99);
    expect((await ini.scsi(1, cdb.write10(5, 8), { write: data })).status).toBe(0);
    expect((await ini.scsi(1, cdb.read10(5, 8), { read: data.length })).data.equals(data)).toBe(true);
    ini.close();
  });

  it("reports residuals and puts status in the final Data-In", async () => {
    const ini = await session();
    const r = await ini.scsi(0, cdb.inquiry(false, 0, 255), { read: 255 });
    expect(r.status).toBe(0);
    expect(r.flags & 0x01).toBe(0x01); // S bit: status came with the data
    expect(r.flags & 0x02).toBe(0x02); // underflow
    expect(r.residual).toBe(255 - r.data.length);
    ini.close();
  });

  it("answers bad LBAs and unknown opcodes with CHECK CONDITION and sense", async () => {
    const ini = await session();
    const r = await ini.scsi(0, cdb.read10(1 << 30, 1), { read: 512 });
    expect(r.status).toBe(2);
    expect(senseOf(r.sense)).toEqual({ key: 5, asc: 0x2100 });
    const u = await ini.scsi(0, Buffer.from([0xd9, 0, 0, 0, 0, 0]));
    expect(senseOf(u.sense)).toEqual({ key: 5, asc: 0x2000 });
    ini.close();
  });

  it("refuses writes to a read-only LUN with DATA PROTECT", async () => {
    const ini = await session({ target: RO_IQN });
    const r = await ini.scsi(0, cdb.write10(0, 1), { write: Buffer.alloc(512) });
    expect(senseOf(r.sense)).toEqual({ key: 7, asc: 0x2700 });
    ini.close();
  });

  it("keeps the overlay base image untouched", async () => {
    const before = fs.readFileSync(base());
    const ini = await session();
    expect((await ini.scsi(2, cdb.write10(3, 2), { write: Buffer.alloc(1024, 0xee) })).status).toBe(0);
    const r = await ini.scsi(2, cdb.read10(2, 4), { read: 2048 });
    expect([...r.data.subarray(0, 512)].every((b) => b === 0x42)).toBe(true);
    expect([...r.data.subarray(512, 1536)].every((b) => b === 0xee)).toBe(true);
    expect([...r.data.subarray(1536)].every((b) => b === 0x42)).toBe(true);
    ini.close();
    expect(fs.readFileSync(base()).equals(before)).toBe(true);
  });

  it("authenticates with mutual CHAP and refuses a wrong secret with status 0201, never logging it", async () => {
    const ok = await session({ target: CHAP_IQN, chap: CHAP });
    expect((await ok.scsi(0, cdb.tur())).status).toBe(0);
    ok.close();
    const bad = await TestInitiator.connect(target.port);
    const r = await bad.login({ target: CHAP_IQN, chap: { username: "node-1", secret: "wrong-secret-00" } });
    expect([r.statusClass, r.statusDetail]).toEqual([2, 1]);
    const none = await TestInitiator.connect(target.port);
    const rn = await none.login({ target: CHAP_IQN });
    expect([rn.statusClass, rn.statusDetail]).toEqual([2, 1]);
    const text = JSON.stringify(events);
    expect(text).not.toContain(CHAP.secret);
    expect(text).not.toContain(CHAP.mutual.secret);
    expect(text).not.toContain("wrong-secret-00");
  });

  it("fails logins to unknown targets with 0203", async () => {
    const ini = await TestInitiator.connect(target.port);
    const r = await ini.login({ target: "iqn.2024-01.org.bootproof.test:nope" });
    expect([r.statusClass, r.statusDetail]).toEqual([2, 3]);
    await expect(ini.recv(2000)).rejects.toThrow(/closed/);
  });

  it("lists targets in a SendTargets discovery session", async () => {
    const ini = await session({ discovery: true });
    const keys = await ini.text([["SendTargets", "All"]]);
    expect(keys.get("TargetName")).toEqual([IQN, CHAP_IQN, RO_IQN]);
    expect(keys.get("TargetAddress")![0]).toBe(`127.0.0.1:${target.port},1`);
    expect(await ini.logout()).toBe(0);
  });

  it("answers NOP-Out pings with the same payload", async () => {
    const ini = await session();
    const p = await ini.nop(Buffer.from("ping!"));
    expect(opcodeOf(p.bhs)).toBe(Op.NopIn);
    expect(p.data.toString()).toBe("ping!");
    expect(p.bhs.readUInt32BE(20)).toBe(NO_TAG);
    ini.close();
  });

  it("raises a unit attention on other sessions after LOGICAL UNIT RESET", async () => {
    const a = await session();
    const b = await session();
    expect((await b.scsi(1, cdb.tur())).status).toBe(0);
    a.request(
      Op.TaskMgmt,
      0x80 | 5,
      (bhs) => {
        bhs[9] = 1; // LUN 1
      },
      undefined,
      true,
    );
    const resp = await a.recv();
    expect(opcodeOf(resp.bhs)).toBe(Op.TaskMgmtResponse);
    expect(resp.bhs[2]).toBe(0);
    const ua = await b.scsi(1, cdb.tur());
    expect(senseOf(ua.sense)).toEqual({ key: 6, asc: 0x2900 });
    expect((await b.scsi(1, cdb.tur())).status).toBe(0);
    a.close();
    b.close();
  });

  it("rejects an unknown opcode with a Reject PDU and keeps the session", async () => {
    const ini = await session();
    ini.request(0x1c, 0x80, undefined, undefined, true);
    const rej = await ini.recv();
    expect(opcodeOf(rej.bhs)).toBe(Op.Reject);
    expect(rej.bhs[2]).toBe(0x05);
    expect((await ini.scsi(0, cdb.tur())).status).toBe(0);
    ini.close();
  });

  it("holds commands that arrive ahead of ExpCmdSN until the gap fills", async () => {
    const ini = await session();
    const first = ini.cmdSN;
    const later = ini.sendCommand(0, cdb.tur(), first + 1);
    // Nothing may come back while CmdSN `first` is missing.
    await expect(ini.recv(300)).rejects.toThrow(/no PDU/);
    const earlier = ini.sendCommand(0, cdb.tur(), first);
    const tags = [(await ini.recv()).bhs.readUInt32BE(16), (await ini.recv()).bhs.readUInt32BE(16)];
    expect(tags).toEqual([earlier, later]);
    ini.cmdSN = first + 2;
    expect((await ini.scsi(0, cdb.tur())).status).toBe(0);
    ini.close();
  });

  it("logs out cleanly", async () => {
    const ini = await session();
    expect(await ini.logout()).toBe(0);
    await expect(ini.recv(2000)).rejects.toThrow(/closed/);
  });

  it.skipIf(!hasTool("iscsi-inq"))("is readable by libiscsi's iscsi-inq, iscsi-readcapacity16 and iscsi-ls", async () => {
    // Async: the target runs in this process, so a blocking spawn would starve it.
    const run = async (cmd: string, args: string[]) =>
      (await promisify(execFile)(cmd, args, { encoding: "utf8", timeout: 10_000 })).stdout;
    const inq = await run("iscsi-inq", [target.url(IQN, 0)]);
    expect(inq).toMatch(/Vendor:BOOTPRF/);
    const cap = await run("iscsi-readcapacity16", [target.url(IQN, 0)]);
    expect(cap).toMatch(/RETURNED LOGICAL BLOCK ADDRESS:16383/);
    // Discovery only: with -s iscsi-ls would also log in to the CHAP target and fail there.
    const ls = await run("iscsi-ls", [`iscsi://127.0.0.1:${target.port}`]);
    expect(ls).toContain(`Target:${IQN} Portal:127.0.0.1:${target.port},1`);
  });
});

describe("fault plan", () => {
  it("rejects a login with the chosen status, answers a chosen sense, stalls and drops", async () => {
    const t = await startIscsiTarget({
      targets: [{ iqn: IQN, luns: [{ lun: 0, backend: { kind: "memory", sizeBytes: 1 << 20 } }] }],
      faults: {
        rules: [
          {
            match: { opcode: Op.Login, when: (p) => p.index === 0 },
            action: { kind: "login-reject", statusClass: 3, statusDetail: 1 },
            times: 1,
          },
          { match: { scsiOpcode: 0x28 }, action: { kind: "sense", key: 3, asc: 0x11, ascq: 0 }, times: 1 },
          { match: { scsiOpcode: 0x25 }, action: { kind: "stall" }, times: 1 },
          { match: { scsiOpcode: 0x35 }, action: { kind: "drop" }, times: 1 },
        ],
      },
    });
    try {
      const first = await TestInitiator.connect(t.port);
      expect(await first.login({ target: IQN }).then((r) => [r.statusClass, r.statusDetail])).toEqual([3, 1]);
      const ini = await TestInitiator.connect(t.port);
      expect((await ini.login({ target: IQN })).statusClass).toBe(0);
      expect(senseOf((await ini.scsi(0, cdb.read10(0, 1), { read: 512 })).sense)).toEqual({ key: 3, asc: 0x1100 });
      expect((await ini.scsi(0, cdb.read10(0, 1), { read: 512 })).status).toBe(0); // times: 1
      // Stall: the command is accepted and never answered; the connection stays open.
      await expect(ini.scsi(0, cdb.readCapacity10(), { read: 8, timeoutMs: 500 })).rejects.toThrow(/no PDU/);
      expect(ini.isClosed).toBe(false);
      ini.close();
      // Other connections are unaffected by the stalled one.
      const other = await TestInitiator.connect(t.port);
      expect((await other.login({ target: IQN })).statusClass).toBe(0);
      expect((await other.scsi(0, cdb.readCapacity10(), { read: 8 })).status).toBe(0);
      other.close();
      const dropped = await TestInitiator.connect(t.port);
      expect((await dropped.login({ target: IQN })).statusClass).toBe(0);
      await expect(dropped.scsi(0, cdb.sync10())).rejects.toThrow(/closed/);
    } finally {
      await t.close();
    }
  });
});
