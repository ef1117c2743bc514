// The reservation commands as the SCSI layer sees them (executeScsi): CDBs and parameter
// lists decoded and checked exactly as SPC-4 §6.13-6.14 says, PERSISTENT RESERVE IN data
// encoded byte for byte, RESERVATION CONFLICT with no sense, unit attentions and aborts
// handed to the fabric; plus ORWRITE and WRITE SAME with zero blocks (SBC-3).
import { describe, expect, it } from "vitest";
import { executeScsi } from "../../../harness/iscsi/scsi/dispatch.js";
import type { Fabric, LogicalUnit, ScsiContext } from "../../../harness/iscsi/scsi/lu.js";
import { Asc, SenseKey, Status } from "../../../harness/iscsi/scsi/sense.js";
import { decodeTransportId, encodeTransportId, initiatorPortName } from "../../../harness/iscsi/scsi/transport-id.js";
import { cdb as cdbs, prOutParams } from "./initiator.js";
import { memoryLu } from "./memory-lu.js";

const PORT_A = initiatorPortName("iqn.2024-01.org.bootproof:a", "800000000001");
const PORT_B = initiatorPortName("iqn.2024-01.org.bootproof:b", "800000000002");

const lu = memoryLu;

interface Told {
  ua: Array<[string, number, number]>;
  aborted: Array<[string, number]>;
}

function nexuses(u: LogicalUnit) {
  const told: Told = { ua: [], aborted: [] };
  const fabric: Fabric = {
    unitAttention: (n, l, asc) => told.ua.push([n, l, asc]),
    abortTasks: (n, l) => told.aborted.push([n, l]),
  };
  const ctx = (id: string): ScsiContext => ({ lu: u, lun: 0, luns: [0], nexus: { id, unitAttention: new Map() }, fabric });
  return { a: ctx(PORT_A), b: ctx(PORT_B), told };
}

const sense = (r: { sense?: Buffer }) =>
  r.sense ? { key: r.sense[2]! & 0xf, asc: (r.sense[12]! << 8) | r.sense[13]!, sks: r.sense.subarray(15, 18) } : undefined;
const run = (ctx: ScsiContext, c: Buffer, data?: Buffer) => executeScsi(c, ctx, data);

async function prOut(ctx: ScsiContext, action: number, fields: Parameters<typeof prOutParams>[0] = {}, type = 0) {
  const params = prOutParams(fields);
  return run(ctx, cdbs.prOut(action, type, params.length), params);
}

describe("PERSISTENT RESERVE IN data (SPC-4 §6.13)", () => {
  it("READ KEYS lists every registered key after PRGENERATION, truncated to the allocation length", async () => {
    const u = lu();
    const { a, b } = nexuses(u);
    expect((await prOut(a, 6, { serviceActionKey: 0x1122334455667788n })).status).toBe(Status.Good);
    expect((await prOut(b, 6, { serviceActionKey: 0xabn })).status).toBe(Status.Good);
    const r = await run(a, cdbs.prIn(0, 1024));
    expect(r.status).toBe(Status.Good);
    expect(r.data!.readUInt32BE(0)).toBe(2); // generation
    expect(r.data!.readUInt32BE(4)).toBe(16);
    expect(r.data!.readBigUInt64BE(8)).toBe(0x1122334455667788n);
    expect(r.data!.readBigUInt64BE(16)).toBe(0xabn);
    const short = await run(a, cdbs.prIn(0, 8));
    expect(short.data!.length).toBe(8);
    expect(short.data!.readUInt32BE(4)).toBe(16); // the length is not cut with the data
    expect((await run(a, cdbs.prIn(0, 0))).data!.length).toBe(0);
  });

  it("READ RESERVATION reports the holder's key, scope and type; key 0 for all-registrants", async () => {
    const u = lu();
    const { a } = nexuses(u);
    expect((await run(a, cdbs.prIn(1, 64))).data!.readUInt32BE(4)).toBe(0);
    await prOut(a, 6, { serviceActionKey: 7n });
    await prOut(a, 1, { key: 7n }, 3);
    const r = await run(a, cdbs.prIn(1, 64));
    expect(r.data!.readUInt32BE(4)).toBe(16);
    expect(r.data!.readBigUInt64BE(8)).toBe(7n);
    expect(r.data![21]).toBe(0x03);
    await prOut(a, 2, { key: 7n }, 3);
    await prOut(a, 1, { key: 7n }, 8);
    const all = await run(a, cdbs.prIn(1, 64));
    expect(all.data!.readBigUInt64BE(8)).toBe(0n);
    expect(all.data![21]).toBe(0x08);
  });

  it("REPORT CAPABILITIES: length 8, CRH and ATP_C, TMV with every type, ALLOW COMMANDS 1", async () => {
    const { a } = nexuses(lu());
    const r = await run(a, cdbs.prIn(2, 64));
    expect([...r.data!]).toEqual([0, 8, 0x14, 0x90, 0xea, 0x01, 0, 0]);
  });

  it("READ FULL STATUS gives one descriptor per registration with an iSCSI TransportID", async () => {
    const u = lu();
    const { a, b } = nexuses(u);
    await prOut(a, 6, { serviceActionKey: 5n, allTargetPorts: true });
    await prOut(b, 6, { serviceActionKey: 6n });
    await prOut(b, 1, { key: 6n }, 1);
    const r = await run(a, cdbs.prIn(3, 4096));
    const d = r.data!;
    const len = d.readUInt32BE(4);
    expect(d.length).toBe(8 + len);
    const first = d.subarray(8);
    expect(first.readBigUInt64BE(0)).toBe(5n);
    expect(first[12]).toBe(0x02); // ALL_TG_PT, not the holder
    expect(first.readUInt16BE(18)).toBe(1);
    const tidLen = first.readUInt32BE(20);
    expect(decodeTransportId(first.subarray(24, 24 + tidLen))).toEqual({ port: PORT_A });
    const second = first.subarray(24 + tidLen);
    expect(second.readBigUInt64BE(0)).toBe(6n);
    expect(second[12]).toBe(0x01); // R_HOLDER
    expect(second[13]).toBe(0x01); // scope 0, type WE
  });

  it("answers an unknown service action with INVALID FIELD IN CDB, not INVALID OPCODE", async () => {
    const { a } = nexuses(lu());
    for (const sa of [4, 0x10, 0x1f]) {
      const r = await run(a, cdbs.prIn(sa, 64));
      expect(sense(r)).toMatchObject({ key: SenseKey.IllegalRequest, asc: Asc.InvalidFieldInCdb });
      expect([...sense(r)!.sks]).toEqual([0xc8 | 4, 0, 1]); // SKSV, C/D, BPV, bit 4 of byte 1
    }
  });
});

describe("PERSISTENT RESERVE OUT checks (SPC-4 §6.14)", () => {
  it("needs a 24-byte parameter list, all of it sent", async () => {
    const { a } = nexuses(lu());
    for (const n of [0, 8, 23, 25, 32]) {
      const params = Buffer.alloc(n);
      const r = await run(a, cdbs.prOut(6, 0, n), params);
      expect(sense(r)).toMatchObject({ key: SenseKey.IllegalRequest, asc: Asc.ParameterListLengthError });
    }
    // The CDB says 24 but only 16 bytes arrived.
    const r = await run(a, cdbs.prOut(6, 0, 24), Buffer.alloc(16));
    expect(sense(r)?.asc).toBe(Asc.ParameterListLengthError);
  });

  it("refuses SPEC_I_PT and APTPL (not supported) with INVALID FIELD IN PARAMETER LIST at their bits", async () => {
    const { a } = nexuses(lu());
    const spec = await prOut(a, 0, { serviceActionKey: 1n, flags: 0x08 });
    expect(sense(spec)).toMatchObject({ asc: Asc.InvalidFieldInParameterList });
    expect([...sense(spec)!.sks]).toEqual([0x80 | 0x08 | 3, 0, 20]);
    const aptpl = await prOut(a, 0, { serviceActionKey: 1n, flags: 0x01 });
    expect([...sense(aptpl)!.sks]).toEqual([0x80 | 0x08 | 0, 0, 20]);
  });

  it("refuses service actions past REGISTER AND MOVE and bad TYPE / SCOPE in the CDB", async () => {
    const { a } = nexuses(lu());
    expect(sense(await prOut(a, 8))?.asc).toBe(Asc.InvalidFieldInCdb);
    expect(sense(await prOut(a, 1, {}, 0x02))?.asc).toBe(Asc.InvalidFieldInCdb);
    expect(sense(await prOut(a, 1, {}, 0x13))?.asc).toBe(Asc.InvalidFieldInCdb); // scope 1
  });

  it("answers a conflict with status 0x18 and no sense data", async () => {
    const { a } = nexuses(lu());
    const r = await prOut(a, 1, { key: 1n }, 1); // not registered
    expect(r).toEqual({ status: Status.ReservationConflict });
  });

  it("REGISTER AND MOVE takes an iSCSI TransportID and moves the reservation", async () => {
    const u = lu();
    const { a, b } = nexuses(u);
    await prOut(a, 6, { serviceActionKey: 1n });
    await prOut(a, 1, { key: 1n }, 1);
    const tid = encodeTransportId(PORT_B);
    const params = Buffer.alloc(24 + tid.length);
    params.writeBigUInt64BE(1n, 0);
    params.writeBigUInt64BE(2n, 8);
    params[17] = 0x02; // UNREG
    params.writeUInt16BE(1, 18);
    params.writeUInt32BE(tid.length, 20);
    tid.copy(params, 24);
    const r = await run(a, cdbs.prOut(7, 1, params.length), params);
    expect(r.status).toBe(Status.Good);
    expect(u.reservations.reservation?.holder).toBe(PORT_B);
    expect([...u.reservations.registrations.keys()]).toEqual([PORT_B]);
    expect((await run(b, cdbs.prIn(1, 64))).data!.readBigUInt64BE(8)).toBe(2n);
    const bad = Buffer.from(params);
    bad[24] = 0x01; // FC, not iSCSI
    expect(sense(await run(b, cdbs.prOut(7, 1, bad.length), bad))?.asc).toBe(Asc.InvalidFieldInParameterList);
  });
});

describe("reservations against other commands", () => {
  it("EXCLUSIVE ACCESS stops another nexus's READ and WRITE but not INQUIRY, TEST UNIT READY or READ CAPACITY", async () => {
    const u = lu();
    const { a, b } = nexuses(u);
    await prOut(a, 6, { serviceActionKey: 1n });
    await prOut(a, 1, { key: 1n }, 3);
    expect((await run(b, cdbs.read10(0, 1))).status).toBe(Status.ReservationConflict);
    expect((await run(b, cdbs.write10(0, 1), Buffer.alloc(512))).status).toBe(Status.ReservationConflict);
    expect((await run(b, cdbs.inquiry())).status).toBe(Status.Good);
    expect((await run(b, cdbs.tur())).status).toBe(Status.Good);
    expect((await run(b, cdbs.readCapacity10())).status).toBe(Status.Good);
    expect((await run(a, cdbs.read10(0, 1))).status).toBe(Status.Good);
  });

  it("PREEMPT AND ABORT tells the fabric to abort the preempted nexus and give it a unit attention", async () => {
    const u = lu();
    const { a, b, told } = nexuses(u);
    await prOut(a, 6, { serviceActionKey: 1n });
    await prOut(b, 6, { serviceActionKey: 2n });
    await prOut(a, 1, { key: 1n }, 3);
    expect((await prOut(b, 5, { key: 2n, serviceActionKey: 1n }, 3)).status).toBe(Status.Good);
    expect(told.aborted).toEqual([[PORT_A, 0]]);
    expect(told.ua).toEqual([[PORT_A, 0, 0x2a05]]);
    expect(u.reservations.reservation?.holder).toBe(PORT_B);
  });

  it("RESERVE(6) by one nexus makes another's MODE SENSE and TEST UNIT READY conflict, RELEASE(6) ends it", async () => {
    const u = lu();
    const { a, b } = nexuses(u);
    expect((await run(a, Buffer.from([0x16, 0, 0, 0, 0, 0]))).status).toBe(Status.Good);
    expect((await run(b, Buffer.from([0x1a, 0, 0x3f, 0, 255, 0]))).status).toBe(Status.ReservationConflict);
    expect((await run(b, cdbs.tur())).status).toBe(Status.ReservationConflict);
    expect((await run(b, cdbs.inquiry())).status).toBe(Status.Good);
    expect((await run(b, Buffer.from([0x17, 0, 0, 0, 0, 0]))).status).toBe(Status.Good); // no effect
    expect((await run(b, Buffer.from([0x16, 0, 0, 0, 0, 0]))).status).toBe(Status.ReservationConflict);
    expect((await run(a, Buffer.from([0x17, 0, 0, 0, 0, 0]))).status).toBe(Status.Good);
    expect((await run(b, Buffer.from([0x56, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).status).toBe(Status.Good); // RESERVE(10)
    expect(sense(await run(b, Buffer.from([0x56, 0x10, 0, 0, 0, 0, 0, 0, 0, 0])))?.asc).toBe(Asc.InvalidFieldInCdb); // 3RDPTY
  });
});

describe("REPORT SUPPORTED OPERATION CODES lists the reservation commands", () => {
  it("with one descriptor per PERSISTENT RESERVE service action", async () => {
    const { a } = nexuses(lu());
    const c = Buffer.alloc(12);
    c[0] = 0xa3;
    c[1] = 0x0c;
    c.writeUInt32BE(8192, 6);
    const d = (await run(a, c)).data!;
    const list: string[] = [];
    for (let o = 4; o < d.length; o += 8) list.push(`${d[o]!.toString(16)}/${d.readUInt16BE(o + 2)}/${d[o + 5]! & 1}`);
    expect(list).toEqual(expect.arrayContaining(["5e/0/1", "5e/3/1", "5f/0/1", "5f/7/1", "16/0/0", "57/0/0", "8b/0/0"]));
    expect(list.filter((x) => x.startsWith("5e/"))).toHaveLength(4);
  });
});

describe("ORWRITE(16) and WRITE SAME with zero blocks (SBC-3)", () => {
  it("ORs the data into the medium", async () => {
    const u = lu();
    const { a } = nexuses(u);
    await run(a, cdbs.write10(4, 1), Buffer.alloc(512, 0x0f));
    const c = Buffer.alloc(16);
    c[0] = 0x8b;
    c.writeBigUInt64BE(4n, 2);
    c.writeUInt32BE(1, 10);
    expect((await run(a, c, Buffer.alloc(512, 0xa0))).status).toBe(Status.Good);
    const r = await run(a, cdbs.read10(4, 1));
    expect(r.data!.every((x) => x === 0xaf)).toBe(true);
    c.writeBigUInt64BE(2048n, 2);
    expect(sense(await run(a, c, Buffer.alloc(512)))?.asc).toBe(Asc.LbaOutOfRange);
    c.writeBigUInt64BE(0n, 2);
    c[1] = 0x20; // ORPROTECT
    expect(sense(await run(a, c, Buffer.alloc(512)))?.asc).toBe(Asc.InvalidFieldInCdb);
  });

  it("writes from the LBA to the end for NUMBER OF BLOCKS 0, within the maximum write same length", async () => {
    const u = lu(1024);
    const { a } = nexuses(u);
    const ws10 = (lba: number) =>
      Buffer.from([0x41, 0, lba >> 24, (lba >> 16) & 0xff, (lba >> 8) & 0xff, lba & 0xff, 0, 0, 0, 0]);
    expect((await run(a, ws10(1000), Buffer.alloc(512, 0x5a))).status).toBe(Status.Good);
    const r = await run(a, cdbs.read10(1000, 24));
    expect(r.data!.every((x) => x === 0x5a)).toBe(true);
    expect(sense(await run(a, ws10(1024), Buffer.alloc(512)))?.asc).toBe(Asc.LbaOutOfRange);
    expect(sense(await run(a, ws10(1025), Buffer.alloc(512)))?.asc).toBe(Asc.LbaOutOfRange);
    const big = lu(40000);
    const { a: a2 } = nexuses(big);
    expect(sense(await run(a2, ws10(0), Buffer.alloc(512)))?.asc).toBe(Asc.InvalidFieldInCdb); // 40000 > 32768
  });
});
