// Robustness: at least 10 000 fast-check-generated malformed, truncated and out-of-order
// PDUs and login sequences hit a live target; it must never crash and a healthy session
// on another target must keep reading and writing correctly throughout.
import type net from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeTextKeys, newBhs, pduWireParts } from "../../../harness/iscsi/pdu.js";
import { type IscsiTargetHandle, startIscsiTarget } from "../../../harness/iscsi/target.js";
import { cdb, TestInitiator } from "./initiator.js";

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
  0x00, 0x03, 0x08, 0x0a, 0x12, 0x1a, 0x25, 0x28, 0x2a, 0x2f, 0x35, 0x41, 0x42, 0x5a, 0x88, 0x89, 0x8a, 0x93, 0x9e, 0xa0, 0xa3,
  0xff,
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
