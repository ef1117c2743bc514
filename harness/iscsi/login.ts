// The login phase (RFC 7143 §6, §11.12-11.13, §13) as a pure state machine: one call per
// Login Request PDU, one Login Response description back. Security negotiation (AuthMethod
// None / CHAP-MD5, one-way and mutual) and operational key negotiation live here; the
// connection only frames PDUs and applies the result.
import { randomBytes } from "node:crypto";
import { CHAP_MD5, chapResponse, constantTimeEqual, decodeBinaryValue, encodeHex } from "./chap.js";

export interface ChapCredentials {
  username: string;
  secret: string;
  /** Credentials the target proves itself with when the initiator asks (mutual CHAP). */
  mutual?: { username: string; secret: string };
}

/** What the login machine needs to know about the targets behind a portal. */
export interface LoginDirectory {
  hasTarget(iqn: string): boolean;
  chapFor(iqn: string): ChapCredentials | undefined;
  /** CHAP for discovery sessions (none by default). */
  discoveryChap?: ChapCredentials;
  portalGroupTag: number;
}

/** Our side of the negotiable limits. */
export interface TargetLimits {
  maxRecvDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  maxOutstandingR2T: number;
  initialR2T: boolean;
  immediateData: boolean;
  maxConnections: number;
}

export const DEFAULT_LIMITS: TargetLimits = {
  maxRecvDataSegmentLength: 262144,
  maxBurstLength: 16776192,
  firstBurstLength: 262144,
  maxOutstandingR2T: 16,
  initialR2T: false,
  immediateData: true,
  maxConnections: 1,
};

/** Negotiated session/connection parameters (RFC 7143 defaults until negotiated). */
export interface NegotiatedParams {
  sessionType: "Normal" | "Discovery";
  initiatorName: string;
  initiatorAlias?: string;
  targetName?: string;
  headerDigest: boolean;
  dataDigest: boolean;
  maxConnections: number;
  initialR2T: boolean;
  immediateData: boolean;
  maxBurstLength: number;
  firstBurstLength: number;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  maxOutstandingR2T: number;
  dataPduInOrder: boolean;
  dataSequenceInOrder: boolean;
  errorRecoveryLevel: number;
  /** Largest data segment we may send (the initiator's declaration). */
  sendDataSegmentLength: number;
  /** Largest data segment we accept (our declaration, 8192 if never declared). */
  recvDataSegmentLength: number;
  /** CHAP user name the initiator authenticated as (never the secret). */
  authenticatedUser?: string;
}

export interface LoginRequest {
  transit: boolean;
  continue: boolean;
  csg: number;
  nsg: number;
  versionMax: number;
  versionMin: number;
  isid: Buffer;
  tsih: number;
  cid: number;
  keys: Array<[string, string]>;
}

/** Login status class/detail (RFC 7143 §11.13.5). */
export const LoginStatus = {
  Success: 0x0000,
  InitiatorError: 0x0200,
  AuthenticationFailed: 0x0201,
  AuthorizationFailed: 0x0202,
  NotFound: 0x0203,
  TargetRemoved: 0x0204,
  UnsupportedVersion: 0x0205,
  TooManyConnections: 0x0206,
  MissingParameter: 0x0207,
  CannotIncludeInSession: 0x0208,
  SessionTypeNotSupported: 0x0209,
  SessionDoesNotExist: 0x020a,
  InvalidDuringLogin: 0x020b,
  TargetError: 0x0300,
  ServiceUnavailable: 0x0301,
  OutOfResources: 0x0302,
} as const;

export interface LoginReply {
  transit: boolean;
  csg: number;
  nsg: number;
  status: number;
  keys: Array<[string, string]>;
  /** Set when this reply moves the connection into Full Feature Phase. */
  fullFeature: boolean;
  /** A human reason for a failed status (never contains secrets). */
  reason?: string;
}

const SECURITY = 0;
const OPERATIONAL = 1;
const FULL_FEATURE = 3;

type ChapState =
  | { step: "none" }
  | { step: "await-algorithm" }
  | { step: "await-response"; id: number; challenge: Buffer }
  | { step: "done" };

const NUMERIC_RANGES: Record<string, [number, number]> = {
  MaxRecvDataSegmentLength: [512, 16777215],
  MaxBurstLength: [512, 16777215],
  FirstBurstLength: [512, 16777215],
  DefaultTime2Wait: [0, 3600],
  DefaultTime2Retain: [0, 3600],
  MaxOutstandingR2T: [1, 65535],
  MaxConnections: [1, 65535],
  ErrorRecoveryLevel: [0, 2],
};

export class LoginMachine {
  /** The stage the next request must be in. */
  private stage = -1;
  private chap: ChapState = { step: "none" };
  private authRequired: ChapCredentials | undefined;
  private authMethod: "None" | "CHAP" | undefined;
  private pendingText: Buffer[] = [];
  private sentPortalGroupTag = false;
  private declaredMrdsl = false;
  private offeredFirstBurst: number | undefined;
  readonly params: NegotiatedParams;

  constructor(
    private readonly directory: LoginDirectory,
    private readonly limits: TargetLimits = DEFAULT_LIMITS,
    private readonly random: (n: number) => Buffer = randomBytes,
  ) {
    this.params = {
      sessionType: "Normal",
      initiatorName: "",
      headerDigest: false,
      dataDigest: false,
      maxConnections: 1,
      initialR2T: true,
      immediateData: true,
      maxBurstLength: 262144,
      firstBurstLength: 65536,
      defaultTime2Wait: 2,
      defaultTime2Retain: 20,
      maxOutstandingR2T: 1,
      dataPduInOrder: true,
      dataSequenceInOrder: true,
      errorRecoveryLevel: 0,
      sendDataSegmentLength: 8192,
      recvDataSegmentLength: 8192,
    };
  }

  /**
   * Text that continues over several PDUs (C bit): the caller passes raw data segments here
   * and only calls `step` with the joined keys once the final piece arrives.
   */
  appendContinuation(data: Buffer): void {
    this.pendingText.push(data);
  }
  takeContinuation(data: Buffer): Buffer {
    if (this.pendingText.length === 0) return data;
    const all = Buffer.concat([...this.pendingText, data]);
    this.pendingText = [];
    return all;
  }

  step(req: LoginRequest): LoginReply {
    const fail = (status: number, reason: string): LoginReply => ({
      transit: false,
      csg: req.csg,
      nsg: 0,
      status,
      keys: [],
      fullFeature: false,
      reason,
    });
    const first = this.stage === -1;
    if (first) {
      if (req.versionMin > 0)
        return fail(LoginStatus.UnsupportedVersion, `VersionMin ${req.versionMin} > 0 (RFC 7143 is version 0)`);
      this.stage = req.csg;
    }
    if (req.csg !== this.stage || req.csg === 2 || req.csg === FULL_FEATURE)
      return fail(LoginStatus.InitiatorError, `login request in stage ${req.csg}, expected stage ${this.stage}`);
    if (req.transit && (req.nsg <= req.csg || req.nsg === 2))
      return fail(LoginStatus.InitiatorError, `invalid stage transition ${req.csg} -> ${req.nsg}`);

    const keys = new Map<string, string>();
    for (const [k, v] of req.keys) {
      if (keys.has(k)) return fail(LoginStatus.InitiatorError, `key ${k} sent twice in one request`);
      keys.set(k, v);
    }
    const out: Array<[string, string]> = [];

    if (first) {
      const initiator = keys.get("InitiatorName");
      if (!initiator) return fail(LoginStatus.MissingParameter, "InitiatorName missing from the first login request");
      this.params.initiatorName = initiator;
      const alias = keys.get("InitiatorAlias");
      if (alias !== undefined) this.params.initiatorAlias = alias;
      const type = keys.get("SessionType") ?? "Normal";
      if (type !== "Normal" && type !== "Discovery") return fail(LoginStatus.SessionTypeNotSupported, `SessionType=${type}`);
      this.params.sessionType = type;
      if (type === "Normal") {
        const target = keys.get("TargetName");
        if (!target) return fail(LoginStatus.MissingParameter, "TargetName missing from a Normal session login");
        if (!this.directory.hasTarget(target)) return fail(LoginStatus.NotFound, `no target named ${target}`);
        this.params.targetName = target;
        this.authRequired = this.directory.chapFor(target);
      } else {
        this.authRequired = this.directory.discoveryChap;
      }
    } else {
      for (const k of ["InitiatorName", "TargetName", "SessionType"]) {
        if (keys.has(k)) return fail(LoginStatus.InitiatorError, `${k} may only be sent in the first login request`);
      }
    }
    keys.delete("InitiatorName");
    keys.delete("InitiatorAlias");
    keys.delete("TargetName");
    keys.delete("SessionType");

    if (req.csg === SECURITY) {
      const r = this.security(keys, out);
      if (r) return fail(r.status, r.reason);
    } else {
      // Operational stage: an initiator that skipped security must not reach a CHAP target.
      if (this.authRequired && this.chap.step !== "done")
        return fail(LoginStatus.AuthenticationFailed, "target requires CHAP but the initiator skipped security negotiation");
      for (const k of keys.keys()) {
        if (k === "AuthMethod" || k.startsWith("CHAP_"))
          return fail(LoginStatus.InitiatorError, `${k} outside the security stage`);
      }
    }
    const opError = this.operational(keys, out, req.csg === OPERATIONAL);
    if (opError) return fail(LoginStatus.InitiatorError, opError);

    if (this.params.sessionType === "Normal" && !this.sentPortalGroupTag) {
      out.push(["TargetPortalGroupTag", String(this.directory.portalGroupTag)]);
      this.sentPortalGroupTag = true;
    }

    let transit = req.transit;
    if (req.csg === SECURITY && transit && !this.securityComplete()) {
      if (this.authRequired && this.authMethod !== "CHAP" && this.chap.step === "none")
        return fail(LoginStatus.AuthenticationFailed, "target requires CHAP; the initiator did not offer it");
      transit = false; // CHAP still in progress: stay in the security stage
    }
    if (transit && req.csg === OPERATIONAL && !this.declaredMrdsl) {
      out.push(["MaxRecvDataSegmentLength", String(this.limits.maxRecvDataSegmentLength)]);
      this.declaredMrdsl = true;
      this.params.recvDataSegmentLength = this.limits.maxRecvDataSegmentLength;
    }
    if (transit) {
      this.stage = req.nsg;
      this.finaliseBursts();
    }
    return {
      transit,
      csg: req.csg,
      nsg: transit ? req.nsg : 0,
      status: LoginStatus.Success,
      keys: out,
      fullFeature: transit && req.nsg === FULL_FEATURE,
    };
  }

  private securityComplete(): boolean {
    if (this.authMethod === "CHAP") return this.chap.step === "done";
    if (this.authMethod === "None") return true;
    // AuthMethod never negotiated: acceptable only when the target needs no authentication.
    return !this.authRequired;
  }

  private security(keys: Map<string, string>, out: Array<[string, string]>): { status: number; reason: string } | undefined {
    const method = keys.get("AuthMethod");
    if (method !== undefined) {
      keys.delete("AuthMethod");
      const offered = method.split(",");
      if (this.authRequired) {
        if (!offered.includes("CHAP"))
          return { status: LoginStatus.AuthenticationFailed, reason: `target requires CHAP; AuthMethod=${method}` };
        this.authMethod = "CHAP";
        this.chap = { step: "await-algorithm" };
        out.push(["AuthMethod", "CHAP"]);
      } else if (offered.includes("None")) {
        this.authMethod = "None";
        out.push(["AuthMethod", "None"]);
      } else {
        return {
          status: LoginStatus.AuthenticationFailed,
          reason: `target has no CHAP credentials configured; AuthMethod=${method}`,
        };
      }
    }
    const alg = keys.get("CHAP_A");
    if (alg !== undefined) {
      keys.delete("CHAP_A");
      if (this.chap.step !== "await-algorithm") return { status: LoginStatus.InitiatorError, reason: "CHAP_A out of sequence" };
      if (!alg.split(",").includes(CHAP_MD5))
        return { status: LoginStatus.AuthenticationFailed, reason: `CHAP_A=${alg}: only MD5 (5) is supported` };
      const id = this.random(1)[0]!;
      const challenge = this.random(16);
      this.chap = { step: "await-response", id, challenge };
      out.push(["CHAP_A", CHAP_MD5], ["CHAP_I", String(id)], ["CHAP_C", encodeHex(challenge)]);
    }
    const name = keys.get("CHAP_N");
    const resp = keys.get("CHAP_R");
    if (name !== undefined || resp !== undefined) {
      keys.delete("CHAP_N");
      keys.delete("CHAP_R");
      const state = this.chap;
      const creds = this.authRequired;
      if (state.step !== "await-response" || !creds)
        return { status: LoginStatus.InitiatorError, reason: "CHAP_N/CHAP_R out of sequence" };
      if (name === undefined || resp === undefined)
        return { status: LoginStatus.AuthenticationFailed, reason: "CHAP_N and CHAP_R must come together" };
      const got = decodeBinaryValue(resp);
      const want = chapResponse(state.id, creds.secret, state.challenge);
      if (name !== creds.username || !got || !constantTimeEqual(got, want))
        return {
          status: LoginStatus.AuthenticationFailed,
          reason: `CHAP authentication failed for user ${JSON.stringify(name)}`,
        };
      this.params.authenticatedUser = name;
      const mi = keys.get("CHAP_I");
      const mc = keys.get("CHAP_C");
      keys.delete("CHAP_I");
      keys.delete("CHAP_C");
      if (mi !== undefined || mc !== undefined) {
        if (!creds.mutual)
          return {
            status: LoginStatus.AuthenticationFailed,
            reason: "initiator asked for mutual CHAP; target has no mutual credentials",
          };
        const id = Number(mi);
        const challenge = mc === undefined ? null : decodeBinaryValue(mc);
        if (!Number.isInteger(id) || id < 0 || id > 255 || !challenge || challenge.length === 0)
          return { status: LoginStatus.AuthenticationFailed, reason: "mutual CHAP_I/CHAP_C malformed" };
        if (challenge.equals(state.challenge))
          return { status: LoginStatus.AuthenticationFailed, reason: "mutual CHAP challenge reflects the target's own" };
        out.push(["CHAP_N", creds.mutual.username], ["CHAP_R", encodeHex(chapResponse(id, creds.mutual.secret, challenge))]);
      }
      this.chap = { step: "done" };
    }
    for (const k of ["CHAP_I", "CHAP_C"]) {
      if (keys.has(k)) return { status: LoginStatus.InitiatorError, reason: `${k} out of sequence` };
    }
    return undefined;
  }

  /** Negotiates operational keys; returns an error text for a protocol violation. */
  private operational(keys: Map<string, string>, out: Array<[string, string]>, inOperationalStage: boolean): string | undefined {
    const p = this.params;
    const L = this.limits;
    for (const [key, value] of keys) {
      const range = NUMERIC_RANGES[key];
      let num = Number.NaN;
      if (range) {
        num = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
        if (!(num >= range[0] && num <= range[1])) {
          out.push([key, "Reject"]);
          continue;
        }
      }
      const yes = value === "Yes";
      const boolOk = value === "Yes" || value === "No";
      switch (key) {
        case "HeaderDigest":
        case "DataDigest": {
          const choice = value.split(",").find((v) => v === "CRC32C" || v === "None");
          out.push([key, choice ?? "Reject"]);
          if (key === "HeaderDigest") p.headerDigest = choice === "CRC32C";
          else p.dataDigest = choice === "CRC32C";
          break;
        }
        case "MaxRecvDataSegmentLength":
          p.sendDataSegmentLength = num;
          if (!this.declaredMrdsl) {
            out.push([key, String(L.maxRecvDataSegmentLength)]);
            this.declaredMrdsl = true;
            p.recvDataSegmentLength = L.maxRecvDataSegmentLength;
          }
          break;
        case "MaxConnections":
          p.maxConnections = Math.min(num, L.maxConnections);
          out.push([key, String(p.maxConnections)]);
          break;
        case "InitialR2T":
          if (!boolOk) out.push([key, "Reject"]);
          else {
            p.initialR2T = yes || L.initialR2T;
            out.push([key, p.initialR2T ? "Yes" : "No"]);
          }
          break;
        case "ImmediateData":
          if (!boolOk) out.push([key, "Reject"]);
          else {
            p.immediateData = yes && L.immediateData;
            out.push([key, p.immediateData ? "Yes" : "No"]);
          }
          break;
        case "MaxBurstLength":
          p.maxBurstLength = Math.min(num, L.maxBurstLength);
          out.push([key, String(p.maxBurstLength)]);
          break;
        case "FirstBurstLength":
          this.offeredFirstBurst = num;
          p.firstBurstLength = Math.min(num, L.firstBurstLength);
          out.push([key, String(p.firstBurstLength)]);
          break;
        case "DefaultTime2Wait":
          p.defaultTime2Wait = num; // Maximum function; our own preference is 0
          out.push([key, String(num)]);
          break;
        case "DefaultTime2Retain":
          p.defaultTime2Retain = Math.min(num, 20);
          out.push([key, String(p.defaultTime2Retain)]);
          break;
        case "MaxOutstandingR2T":
          p.maxOutstandingR2T = Math.min(num, L.maxOutstandingR2T);
          out.push([key, String(p.maxOutstandingR2T)]);
          break;
        case "DataPDUInOrder":
        case "DataSequenceInOrder":
          // OR function and we prefer Yes: the result is always Yes.
          out.push([key, boolOk ? "Yes" : "Reject"]);
          break;
        case "ErrorRecoveryLevel":
          p.errorRecoveryLevel = 0;
          out.push([key, "0"]);
          break;
        case "IFMarker":
        case "OFMarker":
          out.push([key, boolOk ? "No" : "Reject"]);
          break;
        case "IFMarkInt":
        case "OFMarkInt":
          out.push([key, "Irrelevant"]);
          break;
        case "iSCSIProtocolLevel":
          out.push([key, /^\d+$/.test(value) ? String(Math.min(Number(value), 1)) : "Reject"]);
          break;
        case "TaskReporting":
          out.push([key, "RFC3720"]);
          break;
        case "SendTargets":
        case "TargetAddress":
        case "TargetPortalGroupTag":
        case "TargetAlias":
          // Target-only declarations: an initiator must not send them.
          out.push([key, "Irrelevant"]);
          break;
        default:
          out.push([key, "NotUnderstood"]);
      }
    }
    void inOperationalStage;
    return undefined;
  }

  private finaliseBursts(): void {
    const p = this.params;
    if (this.offeredFirstBurst !== undefined || p.firstBurstLength > p.maxBurstLength)
      p.firstBurstLength = Math.min(p.firstBurstLength, p.maxBurstLength);
  }
}
