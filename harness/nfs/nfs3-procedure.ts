// What every NFSv3 procedure is given and returns (nfs3.ts dispatches, nfs3-io.ts has the
// data procedures).
import type { BigIntStats } from "node:fs";
import type { NfsExport } from "./export.js";
import type { RpcCall } from "./rpc.js";
import type { XdrReader, XdrWriter } from "./xdr.js";

/** Largest READ and WRITE (FSINFO's rtmax and wtmax). */
export const MAX_IO = 1024 * 1024;

export interface Context {
  call: RpcCall;
  args: XdrReader;
  /** Called once the reply left the process. */
  onSent?: () => void;
  /** Work the reply need not wait for, done right after it is sent, before the next call. */
  afterReply?: () => void;
  /** The failure body for the procedure's error status; set as soon as it is known. */
  failure: (w: XdrWriter) => void;
}

export type Encoder = (w: XdrWriter) => void;
/** A procedure's reply body; synchronous when nothing had to wait (the READ fast path). */
export type Procedure = (ctx: Context) => Encoder | Promise<Encoder>;

/** A handle resolved inside its export. */
export interface Resolved {
  exp: NfsExport;
  relative: string;
  stats: BigIntStats;
  path: string;
}
