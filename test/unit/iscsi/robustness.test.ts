// Robustness: at least 10 000 fast-check-generated malformed, truncated and out-of-order
// PDUs and login sequences hit a live target; it must never crash and a healthy session
// on another target must keep reading and writing correctly throughout. Then generated
// reservation commands (PERSISTENT RESERVE OUT parameter lists well-formed, malformed and
// out of range, PERSISTENT RESERVE IN, RESERVE / RELEASE) from several nexuses on two
// portals: every answer is one SPC-4 allows and the reservation state stays coherent.
import type net from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeTextKeys, newBhs, pduWireParts } from "../../../harness/iscsi/pdu.js";
import { encodeTransportId, initiatorPortName } from "../../../harness/iscsi/scsi/transport-id.js";
import { type IscsiTargetHandle, startIscsiTarget } from "../../../harness/iscsi/target.js";
import { cdb, senseOf, TestInitiator } from "./initiator.js";

const FUZZ_IQN = "iqn.2024-01.org.bootproof.fuzz:victim";
const SAFE_IQN = "iqn.2024-01.org.bootproof.fuzz:bystander";

let target: IscsiTargetHandle;
/** Event counts: proof the garbage reached login failures, rejects and the feature phase. */
const seen = new Map<string, number>();
let healthy: TestInitiator;
const pattern = Buffer.alloc(4096);
for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 31 + 7) & 0xff;

beforeAll(async () => {
  target = await startIscsiTarget({
    targets: [
      { iqn: FUZZ_IQN, luns: [0, 1].map((lun) => ({ lun, backend: { kind: "memory" as const, sizeBytes: 4 << 20 } })) },
      { iqn: SAFE_IQN, luns: [{ lun: 0, backend: { kind: "memory", sizeBytes: 4 << 20 } }] },
    ],
    logger: (e) => seen.set(e.type, (seen.get(e.type) ?? 0) + 1),
  });
  healthy = await TestInitiator.connect(target.port);
  expect((await healthy.login({ target: SAFE_IQN, initiatorName: "iqn.2024-01.org.bootproof:bystander" })).statusClass).toBe(0);
  expect((await healthy.scsi(0, cdb.write10(8, 8), { write: pattern })).status).toBe(0);
});

afterAll(async () => {
  healthy?.close();
  await target?.close();
});

const OPCODES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x10, 0x1c, 0x21, 0x3f];
const SCSI_OPS = [
  0x00, 0x03, 0x08, 0x0a, 0x12, 0x16, 0x17, 0x1a, 0x25, 0x28, 0x2a, 0x2f, 0x35, 0x41, 0x42, 0x56, 0x57, 0x5a, 0x5e, 0x5f, 0x88,
  0x89, 0x8a, 0x8b, 0x93, 0x9e, 0xa0, 0xa3, 0xff,
];

interface RawPdu {
  opcode: number;
  immediate: boolean;
  flags: number;
  ahsWords: number;
  lun: number;
  itt: number;
  ttt: number;
  edtl: number;
  cmdSNDelta: number;
  expStatSN: number;
  f32: number;
  f36: number;
  f40: number;
  cdb: Uint8Array;
  dataLen: number;
  dslDelta: number;
}

const rawPdu: fc.Arbitrary<RawPdu> = fc.record({
  opcode: fc.oneof(fc.constantFrom(...OPCODES), fc.integer({ min: 0, max: 63 })),
  immediate: fc.boolean(),
  flags: fc.integer({ min: 0, max: 255 }),
  ahsWords: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) }),
  lun: fc.oneof(fc.constantFrom(0, 1, 2), fc.integer({ min: 0, max: 255 })),
  itt: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(0xffffffff), fc.nat()),
  ttt: fc.oneof(fc.constant(0xffffffff), fc.integer({ min: 0, max: 8 }), fc.nat()),
  edtl: fc.oneof(fc.constantFrom(0, 512, 4096, 65536), fc.nat({ max: 1 << 25 })),
  cmdSNDelta: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -200000, max: 200000 })),
  expStatSN: fc.nat(),
  f32: fc.nat(),
  f36: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.nat()),
  f40: fc.oneof(fc.constantFrom(0, 512, 4096), fc.nat()),
  cdb: fc
    .tuple(fc.constantFrom(...SCSI_OPS), fc.uint8Array({ minLength: 15, maxLength: 15 }))
    .map(([op, rest]) => Uint8Array.from([op, ...rest])),
  dataLen: fc.oneof(
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: 1, max: 1024 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1025, max: 70000 }) },
  ),
  dslDelta: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -64, max: 64 }) }),
});

function encodeRaw(p: RawPdu, baseCmdSN: number): Buffer {
  const bhs = newBhs(p.opcode | (p.immediate ? 0x40 : 0), p.flags);
  bhs[4] = p.ahsWords;
  bhs[9] = p.lun;
  bhs.writeUInt32BE(p.itt >>> 0, 16);
  bhs.writeUInt32BE(p.opcode === 0x01 ? p.edtl >>> 0 : p.ttt >>> 0, 20);
  bhs.writeUInt32BE((baseCmdSN + p.cmdSNDelta) >>> 0, 24);
  bhs.writeUInt32BE(p.expStatSN >>> 0, 28);
  if (p.opcode === 0x01) Buffer.from(p.cdb).copy(bhs, 32);
  else {
    bhs.writeUInt32BE(p.f32 >>> 0, 32);
    bhs.writeUInt32BE(p.f36 >>> 0, 36);
    bhs.writeUInt32BE(p.f40 >>> 0, 40);
  }
  const data = Buffer.alloc(p.dataLen, 0x5a);
  const [head, ...rest] = pduWireParts(bhs, data.length ? data : undefined, false, false);
  const ahs = Buffer.alloc(p.ahsWords * 4, 0x01);
  const wire = Buffer.concat([head!, ahs, ...rest]);
  // A lying DataSegmentLength desynchronises framing on purpose.
  const dsl = Math.max(0, Math.min(0xffffff, p.dataLen + p.dslDelta));
  wire[5] = dsl >> 16;
  wire[6] = (dsl >> 8) & 0xff;
  wire[7] = dsl & 0xff;
  return wire;
}

const KEY_NAMES = [
  "InitiatorName",
  "TargetName",
  "SessionType",
  "AuthMethod",
  "CHAP_A",
  "CHAP_N",
  "CHAP_R",
  "CHAP_I",
  "CHAP_C",
  "HeaderDigest",
  "DataDigest",
  "MaxRecvDataSegmentLength",
  "MaxBurstLength",
  "FirstBurstLength",
  "InitialR2T",
  "ImmediateData",
  "MaxOutstandingR2T",
  "ErrorRecoveryLevel",
  "MaxConnections",
  "X-junk",
  "SendTargets",
];
const keyValue = fc.oneof(
  fc.constantFrom(
    "None",
    "CHAP",
    "CHAP,None",
    "5",
    "7,5",
    "Yes",
    "No",
    "CRC32C,None",
    "0",
    "1",
    "512",
    "16777215",
    "99999999999",
    "Normal",
    "Discovery",
    FUZZ_IQN,
    "0x00ff",
    "0bAAA=",
    "",
  ),
  fc.string({ maxLength: 40 }),
);
const loginPdu = fc.record({
  transit: fc.boolean(),
  cont: fc.boolean(),
  csg: fc.integer({ min: 0, max: 3 }),
  nsg: fc.integer({ min: 0, max: 3 }),
  versionMin: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
  tsih: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
  keys: fc.array(fc.tuple(fc.constantFrom(...KEY_NAMES), keyValue), { maxLength: 8 }),
  garbage: fc.oneof({ weight: 8, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) }),
});

type LoginPdu = typeof loginPdu extends fc.Arbitrary<infer T> ? T : never;

function encodeLogin(l: LoginPdu, isid: number): Buffer {
  const bhs = newBhs(0x43, (l.transit ? 0x80 : 0) | (l.cont ? 0x40 : 0) | (l.csg << 2) | l.nsg);
  bhs[3] = l.versionMin;
  bhs[2] = Math.max(l.versionMin, 0);
  bhs[13] = isid & 0xff;
  bhs.writeUInt16BE(l.tsih, 14);
  bhs.writeUInt32BE(1, 16);
  bhs.writeUInt32BE(1, 24);
  const data = Buffer.concat([encodeTextKeys(l.keys), Buffer.from(l.garbage)]);
  return Buffer.concat(pduWireParts(bhs, data.length ? data : undefined, false, false));
}

type Case =
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "login"; pdus: LoginPdu[]; cut: number }
  | { kind: "feature"; pdus: RawPdu[]; cut: number; loginFirst: boolean };

const caseArb: fc.Arbitrary<Case> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("bytes" as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 400 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("login" as const),
      pdus: fc.array(loginPdu, { minLength: 1, maxLength: 6 }),
      cut: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("feature" as const),
      pdus: fc.array(rawPdu, { minLength: 4, maxLength: 24 }),
      cut: fc.oneof(fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true })),
      loginFirst: fc.boolean(),
    }),
  },
);

let pdusSent = 0;
let isidCounter = 0;

async function runCase(c: Case): Promise<void> {
  const ini = await TestInitiator.connect(target.port);
  try {
    let wire: Buffer;
    if (c.kind === "bytes") {
      wire = Buffer.from(c.bytes);
      pdusSent += 1;
    } else if (c.kind === "login") {
      const isid = isidCounter++;
      wire = Buffer.concat(c.pdus.map((p) => encodeLogin(p, isid)));
      pdusSent += c.pdus.length;
    } else {
      if (c.loginFirst) {
        const r = await ini.login({ target: FUZZ_IQN, initiatorName: `iqn.2024-01.org.bootproof:fuzz-${isidCounter++}` });
        expect(r.statusClass).toBe(0);
      }
      wire = Buffer.concat(c.pdus.map((p) => encodeRaw(p, ini.cmdSN)));
      pdusSent += c.pdus.length;
    }
    // cut < 1 truncates the stream mid-PDU; cut >= 1 sends it whole.
    if (c.kind !== "bytes" && c.cut < 1) wire = wire.subarray(0, Math.floor(wire.length * c.cut));
    await new Promise<void>((resolve) => {
      const s: net.Socket = ini.socket;
      const done = setTimeout(() => {
        s.destroy();
        resolve();
      }, 300);
      s.once("close", () => {
        clearTimeout(done);
        resolve();
      });
      s.end(wire);
    });
  } finally {
    ini.close();
  }
}

async function checkBystander(): Promise<void> {
  const r = await healthy.scsi(0, cdb.read10(8, 8), { read: pattern.length, timeoutMs: 5000 });
  expect(r.status).toBe(0);
  expect(r.data.equals(pattern)).toBe(true);
}

describe("robustness under generated garbage", () => {
  it("survives >= 10 000 malformed, truncated and out-of-order PDUs without disturbing another session", async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        await runCase(c);
        if (++runs % 50 === 0) await checkBystander();
      }),
      { numRuns: 2000, seed: 20240101, endOnFailure: true },
    );
    await checkBystander();
    // The target still takes new logins and serves the fuzzed target correctly.
    const fresh = await TestInitiator.connect(target.port);
    expect((await fresh.login({ target: FUZZ_IQN })).statusClass).toBe(0);
    expect((await fresh.scsi(0, cdb.tur())).status === 0 || (await fresh.scsi(0, cdb.tur())).status === 0).toBe(true);
    fresh.close();
    expect(pdusSent).toBeGreaterThanOrEqual(10_000);
    expect(seen.get("reject") ?? 0).toBeGreaterThan(100);
    expect(seen.get("login-failed") ?? 0).toBeGreaterThan(100);
    expect(seen.get("login") ?? 0).toBeGreaterThan(100);
  }, 90_000);
});

const PR_IQN = "iqn.2024-01.org.bootproof.fuzz:reservations";
const PR_INITIATORS = ["iqn.2024-01.org.bootproof:pr-a", "iqn.2024-01.org.bootproof:pr-b", "iqn.2024-01.org.bootproof:pr-c"];
const prIsid = (i: number) => Buffer.from([0x80, 0, 0, 0x55, 0, i + 1]);

/** One generated reservation command (or a disturbance: lost connection, LU reset). */
const prStep = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant("pr-out" as const),
      who: fc.integer({ min: 0, max: 2 }),
      action: fc.oneof(
        { weight: 9, arbitrary: fc.integer({ min: 0, max: 7 }) },
        { weight: 1, arbitrary: fc.integer({ min: 8, max: 31 }) },
      ),
      scopeType: fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(0x01, 0x03, 0x05, 0x06, 0x07, 0x08) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
      ),
      key: fc.constantFrom(0n, 1n, 2n, 3n, 0xffffffffffffffffn),
      serviceActionKey: fc.constantFrom(0n, 1n, 2n, 3n, 0x8000000000000000n),
      flags: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
      /** The CDB's PARAMETER LIST LENGTH: usually right, sometimes anything. */
      lengthField: fc.oneof(
        { weight: 6, arbitrary: fc.constant("right" as const) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 64 }) },
        { weight: 1, arbitrary: fc.constantFrom(0xffffffff, 0x80000000, 1 << 20) },
      ),
      /** Bytes actually sent, relative to the parameter list (a short or long Data-Out). */
      sentDelta: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -24, max: 40 }) }),
      moveTo: fc.oneof(
        {
          weight: 3,
          arbitrary: fc
            .integer({ min: 0, max: 2 })
            .map((i) => encodeTransportId(initiatorPortName(PR_INITIATORS[i]!, prIsid(i).toString("hex")))),
        },
        { weight: 1, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 40 }).map((a) => Buffer.from(a)) },
      ),
      relativePort: fc.oneof(
        { weight: 4, arbitrary: fc.constant(1) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) },
      ),
      garbage: fc.uint8Array({ minLength: 24, maxLength: 24 }),
      useGarbage: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("pr-in" as const),
      who: fc.integer({ min: 0, max: 2 }),
      action: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 31 }) },
      ),
      alloc: fc.oneof(fc.constantFrom(0, 1, 7, 8, 9, 24, 4096), fc.integer({ min: 0, max: 0xffff })),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("spc2" as const),
      who: fc.integer({ min: 0, max: 2 }),
      op: fc.constantFrom(0x16, 0x17, 0x56, 0x57),
      byte1: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), who: fc.integer({ min: 0, max: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("lu-reset" as const), who: fc.integer({ min: 0, max: 2 }) }) },
);

type PrStep = typeof prStep extends fc.Arbitrary<infer T> ? T : never;

function prOutParameterList(st: Extract<PrStep, { kind: "pr-out" }>): Buffer {
  if (st.useGarbage) return Buffer.from(st.garbage);
  if (st.action === 7) {
    const p = Buffer.alloc(24 + st.moveTo.length);
    p.writeBigUInt64BE(st.key, 0);
    p.writeBigUInt64BE(st.serviceActionKey, 8);
    p[17] = st.flags & 0x03;
    p.writeUInt16BE(st.relativePort, 18);
    p.writeUInt32BE(st.moveTo.length, 20);
    st.moveTo.copy(p, 24);
    return p;
  }
  const p = Buffer.alloc(24);
  p.writeBigUInt64BE(st.key, 0);
  p.writeBigUInt64BE(st.serviceActionKey, 8);
  p[20] = st.flags;
  return p;
}

/** Statuses and sense SPC-4 allows for reservation commands here. */
const ALLOWED_ILLEGAL = new Set([0x2400, 0x1a00, 0x2600, 0x2604]);
/** How often each answer came back ("status" or "status/ASC"): proof the generator reaches them. */
const prAnswers = new Map<string, number>();
function expectAllowedAnswer(r: { status: number; sense?: Buffer }, what: string): void {
  const s0 = senseOf(r.sense);
  const label = r.status === 0x02 && s0 ? `2/${s0.asc.toString(16)}` : String(r.status);
  prAnswers.set(label, (prAnswers.get(label) ?? 0) + 1);
  expect([0x00, 0x02, 0x18], what).toContain(r.status);
  if (r.status === 0x18) expect(r.sense?.length ?? 0, `${what}: RESERVATION CONFLICT carries no sense`).toBe(0);
  if (r.status !== 0x02) return;
  const s = senseOf(r.sense);
  expect(s, `${what}: CHECK CONDITION without sense`).toBeDefined();
  if (s!.key === 0x06) return; // a unit attention another nexus's command established
  expect(s!.key, what).toBe(0x05);
  expect(ALLOWED_ILLEGAL.has(s!.asc), `${what}: ASC 0x${s!.asc.toString(16)}`).toBe(true);
}

describe("robustness of the reservation commands", () => {
  it("answers >= 3000 generated reservation commands from three nexuses on two portals as SPC-4 allows", async () => {
    const t = await startIscsiTarget({
      portals: [{ port: 0 }, { port: 0 }],
      targets: [{ iqn: PR_IQN, luns: [{ lun: 0, backend: { kind: "memory", sizeBytes: 1 << 20 } }] }],
    });
    const sessions: Array<TestInitiator | undefined> = [undefined, undefined, undefined];
    const open = async (who: number): Promise<TestInitiator> => {
      const existing = sessions[who];
      if (existing && !existing.isClosed) return existing;
      const ini = await TestInitiator.connect(t.portals[who % 2]!.port);
      const r = await ini.login({ target: PR_IQN, initiatorName: PR_INITIATORS[who], isid: prIsid(who) });
      expect(r.statusClass).toBe(0);
      sessions[who] = ini;
      return ini;
    };
    let commands = 0;
    let lastGeneration = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(prStep, { minLength: 10, maxLength: 30 }), async (steps) => {
          for (const st of steps) {
            const ini = await open(st.who);
            if (st.kind === "drop") {
              ini.close();
              sessions[st.who] = undefined;
              continue;
            }
            if (st.kind === "lu-reset") {
              ini.request(0x02, 0x80 | 5, undefined, undefined, true);
              expect((await ini.recv()).bhs[2]).toBe(0);
              continue;
            }
            let r: { status: number; sense?: Buffer; data: Buffer };
            if (st.kind === "pr-in") {
              r = await ini.scsi(0, cdb.prIn(st.action, st.alloc), { read: st.alloc });
              if (r.status === 0) expect(r.data.length).toBeLessThanOrEqual(st.alloc);
            } else if (st.kind === "spc2") {
              const c = Buffer.alloc(st.op < 0x20 ? 6 : 10);
              c[0] = st.op;
              c[1] = st.byte1;
              r = await ini.scsi(0, c);
            } else {
              const params = prOutParameterList(st);
              const lengthField = st.lengthField === "right" ? params.length : st.lengthField;
              const sent = Math.max(0, params.length + st.sentDelta);
              const data = Buffer.concat([params, Buffer.alloc(Math.max(0, sent - params.length), 0xee)]).subarray(0, sent);
              r = await ini.scsi(0, cdb.prOut(st.action, st.scopeType, lengthField), data.length ? { write: data } : {});
            }
            commands++;
            expectAllowedAnswer(r, `${st.kind} ${JSON.stringify(st, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`);
          }
          // Coherence: keys, full status and the reservation agree. PERSISTENT RESERVE IN
          // passes persistent reservations but not another nexus's SPC-2 reservation.
          const prIn = async (who: number, sa: number, alloc: number) => {
            const ini = await open(who);
            for (;;) {
              const r = await ini.scsi(0, cdb.prIn(sa, alloc), { read: alloc });
              if (r.status !== 0x02 || senseOf(r.sense)?.key !== 0x06) return r; // consume unit attentions
            }
          };
          let who = 0;
          while ((await prIn(who, 0, 8)).status === 0x18) who++;
          const keys = await prIn(who, 0, 4096);
          const full = await prIn(who, 3, 8192);
          const res = await prIn(who, 1, 64);
          for (const r of [keys, full, res]) expect(r.status).toBe(0);
          const generation = keys.data.readUInt32BE(0);
          expect(generation).toBeGreaterThanOrEqual(lastGeneration);
          lastGeneration = generation;
          const keyList: bigint[] = [];
          for (let o = 8; o < 8 + keys.data.readUInt32BE(4); o += 8) keyList.push(keys.data.readBigUInt64BE(o));
          expect(keyList.length).toBeLessThanOrEqual(3); // one registration per nexus at most
          expect(keyList).not.toContain(0n);
          const holders: bigint[] = [];
          let count = 0;
          for (let o = 8; o < 8 + full.data.readUInt32BE(4); count++) {
            if (full.data[o + 12]! & 0x01) holders.push(full.data.readBigUInt64BE(o));
            o += 24 + full.data.readUInt32BE(o + 20);
          }
          expect(count).toBe(keyList.length);
          const reserved = res.data.readUInt32BE(4) === 16;
          expect(holders.length > 0).toBe(reserved);
          if (reserved && res.data.readBigUInt64BE(8) !== 0n) expect(holders).toEqual([res.data.readBigUInt64BE(8)]);
        }),
        { numRuns: 250, seed: 20240514, endOnFailure: true },
      );
      expect(commands).toBeGreaterThanOrEqual(3000);
      // GOOD, RESERVATION CONFLICT, INVALID FIELD IN CDB / PARAMETER LIST, PARAMETER LIST
      // LENGTH ERROR and the unit attentions reservations establish all came back.
      const seen = JSON.stringify([...prAnswers]);
      for (const label of ["0", "24", "2/2400", "2/2600", "2/1a00"])
        expect(prAnswers.get(label) ?? 0, `answer ${label} seen too rarely: ${seen}`).toBeGreaterThan(100);
      for (const label of ["2/2a03", "2/2a04", "2/2a05", "2/2604"])
        expect(prAnswers.get(label) ?? 0, `answer ${label} never seen: ${seen}`).toBeGreaterThan(0);
    } finally {
      for (const s of sessions) s?.close();
      await t.close();
    }
  }, 120_000);
});
