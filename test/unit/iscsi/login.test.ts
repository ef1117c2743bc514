import { describe, expect, it } from "vitest";
import { chapResponse, decodeBinaryValue, encodeHex } from "../../../harness/iscsi/chap.js";
import { type LoginDirectory, LoginMachine, type LoginRequest, LoginStatus } from "../../../harness/iscsi/login.js";

const TARGET = "iqn.2024-01.org.bootproof:disk";
const CHAP_TARGET = "iqn.2024-01.org.bootproof:secret";
const dir: LoginDirectory = {
  hasTarget: (n) => n === TARGET || n === CHAP_TARGET,
  chapFor: (n) =>
    n === CHAP_TARGET
      ? { username: "alice", secret: "alice-secret-12", mutual: { username: "tgt", secret: "target-secret-1" } }
      : undefined,
  portalGroupTag: 1,
};

const req = (
  csg: number,
  nsg: number,
  transit: boolean,
  keys: Record<string, string>,
  extra: Partial<LoginRequest> = {},
): LoginRequest => ({
  transit,
  continue: false,
  csg,
  nsg,
  versionMax: 0,
  versionMin: 0,
  isid: Buffer.alloc(6),
  tsih: 0,
  cid: 0,
  keys: Object.entries(keys),
  ...extra,
});
const keysOf = (r: { keys: Array<[string, string]> }) => Object.fromEntries(r.keys);

// The keys iPXE sends (../shared/FINDINGS.md), in its operational stage.
const IPXE_KEYS = {
  HeaderDigest: "None",
  DataDigest: "None",
  MaxConnections: "1",
  InitialR2T: "Yes",
  ImmediateData: "No",
  MaxRecvDataSegmentLength: "8192",
  MaxBurstLength: "262144",
  FirstBurstLength: "65536",
  DefaultTime2Wait: "0",
  DefaultTime2Retain: "0",
  MaxOutstandingR2T: "1",
  DataPDUInOrder: "Yes",
  DataSequenceInOrder: "Yes",
  ErrorRecoveryLevel: "0",
};

describe("login negotiation", () => {
  it("negotiates iPXE's keys with the RFC 7143 result functions", () => {
    const m = new LoginMachine(dir);
    const r1 = m.step(
      req(0, 1, true, { InitiatorName: "iqn.2010-04.org.ipxe:x", TargetName: TARGET, SessionType: "Normal", AuthMethod: "None" }),
    );
    expect(r1).toMatchObject({ status: 0, transit: true, nsg: 1, fullFeature: false });
    expect(keysOf(r1)).toMatchObject({ AuthMethod: "None", TargetPortalGroupTag: "1" });
    const r2 = m.step(req(1, 3, true, IPXE_KEYS));
    expect(r2).toMatchObject({ status: 0, transit: true, nsg: 3, fullFeature: true });
    const k = keysOf(r2);
    expect(k).toMatchObject({
      HeaderDigest: "None",
      InitialR2T: "Yes", // OR: the initiator asked for Yes
      ImmediateData: "No", // AND
      MaxBurstLength: "262144",
      FirstBurstLength: "65536",
      MaxOutstandingR2T: "1",
      ErrorRecoveryLevel: "0",
      MaxConnections: "1",
    });
    expect(Number(k.MaxRecvDataSegmentLength)).toBeGreaterThanOrEqual(8192);
    expect(m.params).toMatchObject({ initialR2T: true, immediateData: false, sendDataSegmentLength: 8192, headerDigest: false });
  });

  it("picks CRC32C digests when offered first and answers unknown keys NotUnderstood", () => {
    const m = new LoginMachine(dir);
    m.step(req(0, 1, true, { InitiatorName: "i", TargetName: TARGET, AuthMethod: "None" }));
    const r = m.step(
      req(1, 3, true, { HeaderDigest: "CRC32C,None", DataDigest: "None,CRC32C", "X-com.example.Foo": "1", MaxBurstLength: "99" }),
    );
    expect(keysOf(r)).toMatchObject({
      HeaderDigest: "CRC32C",
      DataDigest: "None",
      "X-com.example.Foo": "NotUnderstood",
      MaxBurstLength: "Reject",
    });
    expect(m.params.headerDigest).toBe(true);
  });

  it("fails with the RFC status for each kind of bad login", () => {
    const first = (keys: Record<string, string>, extra: Partial<LoginRequest> = {}) =>
      new LoginMachine(dir).step(req(0, 1, true, keys, extra)).status;
    expect(first({ TargetName: TARGET })).toBe(LoginStatus.MissingParameter);
    expect(first({ InitiatorName: "i" })).toBe(LoginStatus.MissingParameter);
    expect(first({ InitiatorName: "i", TargetName: "iqn.2024-01.nope:x" })).toBe(LoginStatus.NotFound);
    expect(first({ InitiatorName: "i", TargetName: TARGET }, { versionMin: 2, versionMax: 2 })).toBe(
      LoginStatus.UnsupportedVersion,
    );
    expect(first({ InitiatorName: "i", SessionType: "Bogus" })).toBe(LoginStatus.SessionTypeNotSupported);
    expect(first({ InitiatorName: "i", TargetName: CHAP_TARGET, AuthMethod: "None" })).toBe(LoginStatus.AuthenticationFailed);
    // Skipping security negotiation on a CHAP target.
    expect(new LoginMachine(dir).step(req(1, 3, true, { InitiatorName: "i", TargetName: CHAP_TARGET })).status).toBe(
      LoginStatus.AuthenticationFailed,
    );
  });

  it("lets a discovery session in without a TargetName", () => {
    const m = new LoginMachine(dir);
    const r = m.step(req(0, 3, true, { InitiatorName: "i", SessionType: "Discovery", AuthMethod: "None" }));
    expect(r).toMatchObject({ status: 0, fullFeature: true });
    expect(m.params.sessionType).toBe("Discovery");
  });
});

describe("CHAP", () => {
  function chapLogin(secret: string, mutual?: { id: number; challenge: Buffer }) {
    const m = new LoginMachine(dir);
    const r1 = m.step(req(0, 1, true, { InitiatorName: "i", TargetName: CHAP_TARGET, AuthMethod: "CHAP,None" }));
    expect(r1).toMatchObject({ status: 0, transit: false });
    expect(keysOf(r1).AuthMethod).toBe("CHAP");
    const r2 = m.step(req(0, 1, false, { CHAP_A: "7,5" }));
    const k2 = keysOf(r2);
    expect(k2.CHAP_A).toBe("5");
    const challenge = decodeBinaryValue(k2.CHAP_C!)!;
    expect(challenge.length).toBeGreaterThanOrEqual(16);
    const keys: Record<string, string> = {
      CHAP_N: "alice",
      CHAP_R: encodeHex(chapResponse(Number(k2.CHAP_I), secret, challenge)),
    };
    if (mutual) Object.assign(keys, { CHAP_I: String(mutual.id), CHAP_C: encodeHex(mutual.challenge) });
    return { m, r3: m.step(req(0, 1, true, keys)) };
  }

  it("accepts the right response and moves on", () => {
    const { r3, m } = chapLogin("alice-secret-12");
    expect(r3).toMatchObject({ status: 0, transit: true, nsg: 1 });
    expect(m.params.authenticatedUser).toBe("alice");
  });

  it("refuses a wrong secret with authentication failure and never echoes the secret", () => {
    const { r3 } = chapLogin("wrong-secret-00");
    expect(r3.status).toBe(LoginStatus.AuthenticationFailed);
    expect(r3.reason).not.toContain("secret-");
  });

  it("proves the target to the initiator in mutual CHAP", () => {
    const challenge = Buffer.from("fedcba9876543210");
    const { r3 } = chapLogin("alice-secret-12", { id: 9, challenge });
    expect(r3.status).toBe(0);
    expect(keysOf(r3)).toMatchObject({ CHAP_N: "tgt", CHAP_R: encodeHex(chapResponse(9, "target-secret-1", challenge)) });
  });

  it("decodes hex and base64 binary values", () => {
    expect(decodeBinaryValue("0x0a0B")).toEqual(Buffer.from([10, 11]));
    expect(decodeBinaryValue("0bAQID")).toEqual(Buffer.from([1, 2, 3]));
    expect(decodeBinaryValue("0xzz")).toBeNull();
    expect(decodeBinaryValue("12")).toBeNull();
  });
});
