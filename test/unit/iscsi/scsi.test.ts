import { describe, expect, it } from "vitest";
import { executeScsi } from "../../../harness/iscsi/scsi/dispatch.js";
import type { LogicalUnit, ScsiContext } from "../../../harness/iscsi/scsi/lu.js";
import { Asc, SenseKey, Status } from "../../../harness/iscsi/scsi/sense.js";
import { memoryLu } from "./memory-lu.js";

const lu = memoryLu;
const ctxFor = (u: LogicalUnit | undefined, lun = 0): ScsiContext => ({
  lu: u,
  lun,
  luns: [0, 3],
  nexus: { id: "iqn.2024-01.org.bootproof:i,i,0x800000000001", unitAttention: new Map() },
});
const sense = (r: { sense?: Buffer }) =>
  r.sense ? { key: r.sense[2]! & 0xf, asc: (r.sense[12]! << 8) | r.sense[13]! } : undefined;
const cdb10 = (op: number, lba: number, n: number, b1 = 0) => {
  const c = Buffer.alloc(10);
  c[0] = op;
  c[1] = b1;
  c.writeUInt32BE(lba, 2);
  c.writeUInt16BE(n, 7);
  return c;
};
const cdb16 = (op: number, lba: number, n: number, b1 = 0) => {
  const c = Buffer.alloc(16);
  c[0] = op;
  c[1] = b1;
  c.writeBigUInt64BE(BigInt(lba), 2);
  c.writeUInt32BE(n, 10);
  return c;
};

describe("SCSI command handlers", () => {
  it("INQUIRY: standard data, VPD list, serial, device identification, limits", async () => {
    const c = ctxFor(lu());
    const std = await executeScsi(Buffer.from([0x12, 0, 0, 0, 96, 0]), c, undefined);
    expect(std.status).toBe(Status.Good);
    expect(std.data![0]).toBe(0);
    expect(std.data!.subarray(8, 16).toString()).toBe("BOOTPRF ");
    const list = await executeScsi(Buffer.from([0x12, 1, 0x00, 0, 255, 0]), c, undefined);
    expect([...list.data!.subarray(4)]).toEqual([0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]);
    const serial = await executeScsi(Buffer.from([0x12, 1, 0x80, 0, 255, 0]), c, undefined);
    expect(serial.data!.subarray(4).toString()).toBe("SERIAL0001");
    const ids = await executeScsi(Buffer.from([0x12, 1, 0x83, 0, 255, 0]), c, undefined);
    expect(ids.data!.subarray(8, 16).toString("hex")).toBe("3000000000000001"); // first designator: NAA
    for (const page of [0xb0, 0xb1, 0xb2])
      expect((await executeScsi(Buffer.from([0x12, 1, page, 0, 255, 0]), c, undefined)).status).toBe(0);
    const bad = await executeScsi(Buffer.from([0x12, 1, 0x99, 0, 255, 0]), c, undefined);
    expect(sense(bad)).toEqual({ key: SenseKey.IllegalRequest, asc: Asc.InvalidFieldInCdb });
    const trunc = await executeScsi(Buffer.from([0x12, 0, 0, 0, 5, 0]), c, undefined);
    expect(trunc.data!.length).toBe(5);
  });

  it("READ CAPACITY (10/16) report the last LBA and 512-byte blocks", async () => {
    const c = ctxFor(lu(4096));
    const r10 = await executeScsi(cdb10(0x25, 0, 0), c, undefined);
    expect(r10.data!.readUInt32BE(0)).toBe(4095);
    expect(r10.data!.readUInt32BE(4)).toBe(512);
    const c16 = Buffer.alloc(16);
    c16[0] = 0x9e;
    c16[1] = 0x10;
    c16.writeUInt32BE(32, 10);
    const r16 = await executeScsi(c16, c, undefined);
    expect(Number(r16.data!.readBigUInt64BE(0))).toBe(4095);
  });

  it("writes and reads back through READ/WRITE 6, 10, 12 and 16", async () => {
    const c = ctxFor(lu());
    const data = Buffer.alloc(1024, 0x5a);
    expect((await executeScsi(cdb16(0x8a, 100, 2), c, data)).status).toBe(0);
    const r = await executeScsi(cdb10(0x28, 100, 2), c, undefined);
    expect(r.data).toEqual(data);
    const r6 = await executeScsi(Buffer.from([0x08, 0, 0, 100, 1, 0]), c, undefined);
    expect(r6.data).toEqual(data.subarray(0, 512));
    const c12 = Buffer.alloc(12);
    c12[0] = 0xa8;
    c12.writeUInt32BE(101, 2);
    c12.writeUInt32BE(1, 6);
    expect((await executeScsi(c12, c, undefined)).data).toEqual(data.subarray(0, 512));
  });

  it("refuses out-of-range LBAs with LBA OUT OF RANGE", async () => {
    const c = ctxFor(lu(100));
    for (const cdb of [
      cdb10(0x28, 99, 2),
      cdb10(0x2a, 100, 1),
      cdb16(0x88, 2 ** 40, 1),
      cdb10(0x2f, 100, 1),
      cdb10(0x35, 200, 1),
    ]) {
      const r = await executeScsi(cdb, c, Buffer.alloc(1024));
      expect(sense(r)).toEqual({ key: SenseKey.IllegalRequest, asc: Asc.LbaOutOfRange });
    }
  });

  it("answers unknown opcodes and missing LUNs with ILLEGAL REQUEST", async () => {
    const c = ctxFor(lu());
    expect(sense(await executeScsi(Buffer.from([0xc7, 0, 0, 0, 0, 0]), c, undefined))).toEqual({
      key: 5,
      asc: Asc.InvalidOpcode,
    });
    const missing = ctxFor(undefined, 7);
    expect(sense(await executeScsi(cdb10(0x28, 0, 1), missing, undefined))).toEqual({ key: 5, asc: Asc.LunNotSupported });
    const inq = await executeScsi(Buffer.from([0x12, 0, 0, 0, 36, 0]), missing, undefined);
    expect(inq.data![0]).toBe(0x7f);
  });

  it("read-only LUNs answer writes with DATA PROTECT / WRITE PROTECTED", async () => {
    const c = ctxFor(lu(100, true));
    for (const cdb of [cdb10(0x2a, 0, 1), cdb16(0x93, 0, 1)]) {
      expect(sense(await executeScsi(cdb, c, Buffer.alloc(512)))).toEqual({ key: SenseKey.DataProtect, asc: Asc.WriteProtected });
    }
    const ms = await executeScsi(Buffer.from([0x1a, 0, 0x3f, 0, 255, 0]), c, undefined);
    expect(ms.data![2]! & 0x80).toBe(0x80); // WP in MODE SENSE
  });

  it("reports a unit attention once, then runs commands again", async () => {
    const c = ctxFor(lu());
    c.nexus.unitAttention.set(0, Asc.ResetOccurred);
    expect((await executeScsi(Buffer.from([0x12, 0, 0, 0, 36, 0]), c, undefined)).status).toBe(0); // INQUIRY is exempt
    expect(sense(await executeScsi(Buffer.alloc(6), c, undefined))).toEqual({
      key: SenseKey.UnitAttention,
      asc: Asc.ResetOccurred,
    });
    expect((await executeScsi(Buffer.alloc(6), c, undefined)).status).toBe(0);
  });

  it("REPORT LUNS lists every LUN", async () => {
    const c = Buffer.alloc(12);
    c[0] = 0xa0;
    c.writeUInt32BE(64, 6);
    const r = await executeScsi(c, ctxFor(lu()), undefined);
    expect(r.data!.readUInt32BE(0)).toBe(16);
    expect(r.data![8 + 8 + 1]).toBe(3);
  });

  it("WRITE SAME, UNMAP and VERIFY behave", async () => {
    const c = ctxFor(lu());
    const pat = Buffer.alloc(512, 7);
    expect((await executeScsi(cdb10(0x41, 10, 4), c, pat)).status).toBe(0);
    expect((await executeScsi(cdb10(0x28, 10, 4), c, undefined)).data).toEqual(Buffer.alloc(2048, 7));
    // VERIFY with BYTCHK=1: same data passes, different data is a MISCOMPARE.
    expect((await executeScsi(cdb10(0x2f, 10, 1, 0x02), c, Buffer.alloc(512, 7))).status).toBe(0);
    expect(sense(await executeScsi(cdb10(0x2f, 10, 1, 0x02), c, Buffer.alloc(512, 8)))).toEqual({
      key: SenseKey.Miscompare,
      asc: Asc.MiscompareDuringVerify,
    });
    const param = Buffer.alloc(24);
    param.writeUInt16BE(22, 0);
    param.writeUInt16BE(16, 2);
    param.writeBigUInt64BE(10n, 8);
    param.writeUInt32BE(2, 16);
    expect((await executeScsi(Buffer.from([0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0]), c, param)).status).toBe(0);
    expect((await executeScsi(cdb10(0x28, 10, 4), c, undefined)).data).toEqual(
      Buffer.concat([Buffer.alloc(1024), Buffer.alloc(1024, 7)]),
    );
  });

  it("REPORT SUPPORTED OPERATION CODES lists READ(10) and answers one-command queries", async () => {
    const all = Buffer.alloc(12);
    all[0] = 0xa3;
    all[1] = 0x0c;
    all.writeUInt32BE(4096, 6);
    const r = await executeScsi(all, ctxFor(lu()), undefined);
    const len = r.data!.readUInt32BE(0);
    const ops = [];
    for (let o = 4; o < 4 + len; o += 8) ops.push(r.data![o]);
    expect(ops).toContain(0x28);
    expect(ops).toContain(0x42);
    const one = Buffer.from(all);
    one[2] = 1;
    one[3] = 0x28;
    const r1 = await executeScsi(one, ctxFor(lu()), undefined);
    expect(r1.data![1]! & 7).toBe(3);
    expect(r1.data!.readUInt16BE(2)).toBe(10);
  });

  it("MODE SENSE reports the caching page with WCE so initiators flush", async () => {
    const r = await executeScsi(Buffer.from([0x1a, 0x08, 0x08, 0, 255, 0]), ctxFor(lu()), undefined);
    expect(r.data![4]).toBe(0x08);
    expect(r.data![6]! & 0x04).toBe(0x04);
    const saved = await executeScsi(Buffer.from([0x1a, 0, 0xc8, 0, 255, 0]), ctxFor(lu()), undefined);
    expect(sense(saved)).toEqual({ key: 5, asc: Asc.SavingParametersNotSupported });
  });
});
