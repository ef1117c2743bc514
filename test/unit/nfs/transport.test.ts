// The RPC transport answers a handler's outcome the same way whether the handler settled at
// once (the READ fast path) or through a promise, and maps a handler's failure alike.
import { afterEach, describe, expect, it } from "vitest";
import type { RpcCall, RpcOutcome } from "../../../harness/nfs/rpc.js";
import { type RpcTransport, startRpcTransport } from "../../../harness/nfs/transport.js";
import { XdrError, XdrWriter } from "../../../harness/nfs/xdr.js";
import { NfsTestClient } from "./client.js";

const PROGRAM = 0x20000099;
const SUCCESS = 0;
const GARBAGE_ARGS = 4;
const SYSTEM_ERR = 5;

let transport: RpcTransport | undefined;
let client: NfsTestClient | undefined;
afterEach(async () => {
  client?.close();
  await transport?.close();
});

describe("RPC transport dispatch", () => {
  it("answers synchronous and asynchronous outcomes and failures alike, and reports a synchronous reply as sent", async () => {
    const sent: number[] = [];
    const answer = (procedure: number): RpcOutcome => ({
      kind: "success",
      body: new XdrWriter().uint32(procedure * 10),
      onSent: () => sent.push(procedure),
    });
    const handlers: Record<number, (call: RpcCall) => RpcOutcome | Promise<RpcOutcome>> = {
      1: (call) => answer(call.procedure),
      2: async (call) => answer(call.procedure),
      3: () => {
        throw new XdrError("bad argument");
      },
      4: async () => {
        throw new XdrError("bad argument");
      },
      5: () => {
        throw new Error("broken handler");
      },
      6: async () => {
        throw new Error("broken handler");
      },
    };
    transport = await startRpcTransport({
      host: "127.0.0.1",
      port: 0,
      programs: [{ program: PROGRAM, version: 1, handle: (call) => handlers[call.procedure]!(call) }],
    });
    client = await NfsTestClient.connect(transport.port);
    for (const procedure of [1, 2]) {
      const reply = await client.call(PROGRAM, 1, procedure);
      expect(reply.acceptStat).toBe(SUCCESS);
      expect(reply.body.uint32()).toBe(procedure * 10);
    }
    expect(sent.sort()).toEqual([1, 2]);
    expect((await client.call(PROGRAM, 1, 3)).acceptStat).toBe(GARBAGE_ARGS);
    expect((await client.call(PROGRAM, 1, 4)).acceptStat).toBe(GARBAGE_ARGS);
    expect((await client.call(PROGRAM, 1, 5)).acceptStat).toBe(SYSTEM_ERR);
    expect((await client.call(PROGRAM, 1, 6)).acceptStat).toBe(SYSTEM_ERR);
    // The connection survived every failure.
    expect((await client.call(PROGRAM, 1, 1)).acceptStat).toBe(SUCCESS);
  });
});
