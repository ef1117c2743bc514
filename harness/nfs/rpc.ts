// ONC RPC version 2 (RFC 5531): call headers in, reply headers out. Only AUTH_NONE and
// AUTH_SYS credentials are accepted (what the Linux client and libnfs send); the verifier is
// always AUTH_NONE. Programs register handlers per (program, version); everything the
// transport receives goes through parseCall, so a malformed header is answered (or dropped)
// here and never reaches a program.
import { XdrError, XdrReader, XdrWriter } from "./xdr.js";

export const AUTH_NONE = 0;
export const AUTH_SYS = 1;
const RPC_VERSION = 2;
const CALL = 0;
const REPLY = 1;
const MSG_ACCEPTED = 0;
const MSG_DENIED = 1;
/** RFC 5531 §8.2: opaque_auth bodies are at most 400 bytes. */
const MAX_AUTH_BYTES = 400;

export enum AcceptStat {
  SUCCESS = 0,
  PROG_UNAVAIL = 1,
  PROG_MISMATCH = 2,
  PROC_UNAVAIL = 3,
  GARBAGE_ARGS = 4,
  SYSTEM_ERR = 5,
}
enum RejectStat {
  RPC_MISMATCH = 0,
  AUTH_ERROR = 1,
}
/** auth_stat: AUTH_BADCRED, AUTH_REJECTEDCRED ... (RFC 5531 §9). */
const AUTH_BADCRED = 1;
const AUTH_TOOWEAK = 5;

export interface AuthSys {
  stamp: number;
  machineName: string;
  uid: number;
  gid: number;
  gids: number[];
}

export interface RpcCall {
  xid: number;
  program: number;
  version: number;
  procedure: number;
  auth: { flavor: typeof AUTH_NONE } | { flavor: typeof AUTH_SYS; sys: AuthSys };
  /** The procedure's arguments, positioned after the header. */
  args: XdrReader;
}

/** What a handler answers: the result body, or an RPC-level error. */
export type RpcOutcome =
  /**
   * `onSent`: the reply left the process (a READ's pooled buffer may be reused).
   * `afterReply`: run as soon as the reply is handed to the socket (sent or not), before the
   * connection's next call is handled; it must not throw.
   */
  | { kind: "success"; body: XdrWriter; onSent?: () => void; afterReply?: () => void }
  | { kind: "error"; stat: AcceptStat.PROC_UNAVAIL | AcceptStat.GARBAGE_ARGS | AcceptStat.SYSTEM_ERR };

/** A header the server could not even answer (not a call, wrong RPC version, bad auth). */
export class RpcHeaderError extends Error {
  constructor(
    message: string,
    /** The reply to send, when the xid could be read. */
    readonly reply?: Buffer,
  ) {
    super(message);
    this.name = "RpcHeaderError";
  }
}

function parseAuthSys(body: Buffer): AuthSys {
  const r = new XdrReader(body);
  const stamp = r.uint32("auth_sys stamp");
  const machineName = r.string(255, "auth_sys machinename");
  const uid = r.uint32("auth_sys uid");
  const gid = r.uint32("auth_sys gid");
  const count = r.uint32("auth_sys gids count");
  if (count > 16) throw new XdrError(`auth_sys carries ${count} groups, at most 16 are allowed`);
  const gids = Array.from({ length: count }, () => r.uint32("auth_sys gid"));
  return { stamp, machineName, uid, gid, gids };
}

/**
 * Parses one RPC message (a record that arrived in pieces: its first piece and the rest);
 * throws RpcHeaderError (with a reply when one is due) otherwise.
 */
export function parseCall(message: Buffer, rest: Buffer[] = []): RpcCall {
  const r = new XdrReader(message, rest);
  let xid: number;
  try {
    xid = r.uint32("xid");
  } catch {
    throw new RpcHeaderError("an RPC message shorter than its xid");
  }
  try {
    if (r.uint32("msg_type") !== CALL) throw new RpcHeaderError(`xid ${xid}: not a call`);
    const rpcVersion = r.uint32("rpcvers");
    if (rpcVersion !== RPC_VERSION) throw new RpcHeaderError(`xid ${xid}: RPC version ${rpcVersion}`, rpcMismatchReply(xid));
    const program = r.uint32("prog");
    const version = r.uint32("vers");
    const procedure = r.uint32("proc");
    const flavor = r.uint32("cred flavor");
    const credential = r.opaque(MAX_AUTH_BYTES, "cred body");
    r.uint32("verf flavor");
    r.opaque(MAX_AUTH_BYTES, "verf body");
    if (flavor === AUTH_NONE) return { xid, program, version, procedure, auth: { flavor: AUTH_NONE }, args: r };
    if (flavor === AUTH_SYS) {
      let sys: AuthSys;
      try {
        sys = parseAuthSys(credential);
      } catch {
        throw new RpcHeaderError(`xid ${xid}: malformed AUTH_SYS credential`, authErrorReply(xid, AUTH_BADCRED));
      }
      return { xid, program, version, procedure, auth: { flavor: AUTH_SYS, sys }, args: r };
    }
    throw new RpcHeaderError(`xid ${xid}: auth flavor ${flavor} is not supported`, authErrorReply(xid, AUTH_TOOWEAK));
  } catch (error) {
    if (error instanceof RpcHeaderError) throw error;
    // A header cut short: GARBAGE_ARGS is the answer a client can act on.
    throw new RpcHeaderError(`xid ${xid}: ${(error as Error).message}`, acceptedReply(xid, AcceptStat.GARBAGE_ARGS));
  }
}

function replyHeader(xid: number): XdrWriter {
  return new XdrWriter().uint32(xid).uint32(REPLY);
}

/** An accepted reply: SUCCESS with its body, or an error status. */
export function acceptedReply(xid: number, stat: AcceptStat, body?: XdrWriter, mismatch?: { low: number; high: number }): Buffer {
  return Buffer.concat(acceptedReplyParts(xid, stat, body, mismatch));
}

/** The same reply as segments: a READ's payload is referenced, never copied. */
export function acceptedReplyParts(
  xid: number,
  stat: AcceptStat,
  body?: XdrWriter,
  mismatch?: { low: number; high: number },
): Buffer[] {
  const w = replyHeader(xid).uint32(MSG_ACCEPTED).uint32(AUTH_NONE).uint32(0).uint32(stat);
  if (stat === AcceptStat.PROG_MISMATCH && mismatch) w.uint32(mismatch.low).uint32(mismatch.high);
  // The writer is not used again: its bytes, not a copy.
  const head = w.bytes();
  return stat === AcceptStat.SUCCESS && body ? [head, ...body.parts()] : [head];
}

function rpcMismatchReply(xid: number): Buffer {
  return Buffer.from(replyHeader(xid).uint32(MSG_DENIED).uint32(RejectStat.RPC_MISMATCH).uint32(2).uint32(2).bytes());
}

function authErrorReply(xid: number, stat: number): Buffer {
  return Buffer.from(replyHeader(xid).uint32(MSG_DENIED).uint32(RejectStat.AUTH_ERROR).uint32(stat).bytes());
}
