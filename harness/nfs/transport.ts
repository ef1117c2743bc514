// ONC RPC over TCP (record marking, RFC 5531 §11) and UDP, on loopback unless told otherwise.
// A connection that sends a record larger than the limit, or garbage that is not even an RPC
// header, is closed without touching any other connection. Calls go to the program registered
// for (program, version). A connection's calls are handled concurrently and answered as each
// finishes (RPC matches replies by xid; the Linux client keeps many READs in flight).
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { createServer, type Server, type Socket } from "node:net";
import { AcceptStat, acceptedReplyParts, parseCall, type RpcCall, type RpcHeaderError, type RpcOutcome } from "./rpc.js";
import { XdrError } from "./xdr.js";

/** One version of one RPC program: procedure number → handler. */
export type RpcHandler = (call: RpcCall) => RpcOutcome | Promise<RpcOutcome>;
export interface RpcProgram {
  program: number;
  version: number;
  handle: RpcHandler;
}

/** What a fault rule may do to a call before it is handled (harness/nfs/faults.ts). */
export type TransportFault = { kind: "delay"; ms: number } | { kind: "stall" } | { kind: "drop-connection" };

export interface RpcTransportOptions {
  host: string;
  /** 0: an ephemeral port. TCP and UDP listen on the same number. */
  port: number;
  programs: RpcProgram[];
  /** Largest record accepted (a WRITE of wsize bytes plus headers). */
  maxRecordBytes?: number;
  fault?: (call: RpcCall) => TransportFault | undefined;
  log?: (line: string) => void;
}

const LAST_FRAGMENT = 0x80000000;
const DEFAULT_MAX_RECORD = 4 * 1024 * 1024;

export interface RpcTransport {
  host: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Dispatches one parsed call to its program; an unknown program or version is answered here.
 * Synchronous when the handler is (a READ served from what is open and read ahead): every
 * async hop on the way costs a call microseconds of promise machinery, and a client with one
 * request in flight pays them per request.
 */
function dispatch(programs: RpcProgram[], call: RpcCall): Reply | Promise<Reply> {
  const versions = programs.filter((p) => p.program === call.program);
  if (versions.length === 0) return acceptedReplyParts(call.xid, AcceptStat.PROG_UNAVAIL);
  const program = versions.find((p) => p.version === call.version);
  if (!program) {
    const numbers = versions.map((p) => p.version);
    return acceptedReplyParts(call.xid, AcceptStat.PROG_MISMATCH, undefined, {
      low: Math.min(...numbers),
      high: Math.max(...numbers),
    });
  }
  let outcome: RpcOutcome | Promise<RpcOutcome>;
  try {
    outcome = program.handle(call);
  } catch (error) {
    return failedReply(call, error);
  }
  return outcome instanceof Promise
    ? outcome.then(
        (settled) => replyOf(call, settled),
        (error: unknown) => failedReply(call, error),
      )
    : replyOf(call, outcome);
}

/**
 * Arguments that do not decode are the caller's fault (GARBAGE_ARGS), for every program;
 * anything else is the server's failure, answered as such. The connection lives on.
 */
function failedReply(call: RpcCall, error: unknown): Reply {
  return acceptedReplyParts(call.xid, error instanceof XdrError ? AcceptStat.GARBAGE_ARGS : AcceptStat.SYSTEM_ERR);
}

function replyOf(call: RpcCall, outcome: RpcOutcome): Reply {
  if (outcome.kind !== "success") return acceptedReplyParts(call.xid, outcome.stat);
  const parts: Reply = acceptedReplyParts(call.xid, AcceptStat.SUCCESS, outcome.body);
  if (outcome.onSent) parts.onSent = outcome.onSent;
  if (outcome.afterReply) parts.afterReply = outcome.afterReply;
  return parts;
}

/** Runs `then` on a value now, or once it settles when it is a promise. */
function whenReady<T>(value: T | Promise<T>, then: (value: T) => void): void {
  if (value instanceof Promise) void value.then(then);
  else then(value);
}

/** A reply's segments, and what to do once they left the process. */
type Reply = Buffer[] & { onSent?: () => void; afterReply?: () => void };

/**
 * Splits a TCP byte stream into RPC records; push returns a reason when the stream must be
 * closed. A record is handed on as the pieces it arrived in (a WRITE's megabyte is some
 * sixteen socket reads): joining them would copy the payload once more for nothing.
 */
class RecordReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** The record being assembled: its pieces so far. */
  private record: Buffer[] = [];
  private recordBytes = 0;

  constructor(
    private readonly maxRecordBytes: number,
    private readonly onRecord: (record: Buffer[]) => void,
  ) {}

  push(data: Buffer): string | undefined {
    this.chunks.push(data);
    this.buffered += data.length;
    for (;;) {
      if (this.buffered < 4) return undefined;
      const marker = this.peekMarker();
      const length = marker & ~LAST_FRAGMENT;
      if (this.recordBytes + length > this.maxRecordBytes)
        return `a record of more than ${this.maxRecordBytes} bytes (fragment of ${length})`;
      if (this.buffered < 4 + length) return undefined;
      this.skip(4);
      this.take(length);
      this.recordBytes += length;
      if (marker & LAST_FRAGMENT) {
        const record = this.record;
        this.record = [];
        this.recordBytes = 0;
        this.onRecord(record.length ? record : [Buffer.alloc(0)]);
      }
    }
  }

  /** The next 4 bytes as a record marker (they may straddle chunks). */
  private peekMarker(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    const head = Buffer.concat(this.chunks, 4);
    return head.readUInt32BE(0);
  }

  private skip(bytes: number): void {
    this.buffered -= bytes;
    while (bytes > 0) {
      const first = this.chunks[0]!;
      if (first.length > bytes) {
        this.chunks[0] = first.subarray(bytes);
        return;
      }
      this.chunks.shift();
      bytes -= first.length;
    }
  }

  /** Moves the next `bytes` bytes into the record, as views of the chunks. */
  private take(bytes: number): void {
    this.buffered -= bytes;
    while (bytes > 0) {
      const first = this.chunks[0]!;
      if (first.length > bytes) {
        this.record.push(first.subarray(0, bytes));
        this.chunks[0] = first.subarray(bytes);
        return;
      }
      this.record.push(first);
      this.chunks.shift();
      bytes -= first.length;
    }
  }
}

/** Parts smaller than this are copied together; larger ones (a READ's data) are referenced. */
const COALESCE_BELOW = 4096;

/**
 * One record on the stream: its marker, then the reply's segments, small ones joined into one
 * buffer (every write through the socket's stream costs more than copying a few hundred
 * bytes), in one corked write.
 */
function sendRecord(socket: Socket, parts: Reply): void {
  let length = 0;
  for (const part of parts) length += part.length;
  const out: Buffer[] = [];
  let small: Buffer[] = [marker(length)];
  let smallBytes = 4;
  for (const part of parts) {
    if (part.length < COALESCE_BELOW) {
      small.push(part);
      smallBytes += part.length;
      continue;
    }
    out.push(small.length === 1 ? small[0]! : Buffer.concat(small, smallBytes), part);
    small = [];
    smallBytes = 0;
  }
  if (small.length) out.push(small.length === 1 ? small[0]! : Buffer.concat(small, smallBytes));
  const onSent = parts.onSent;
  if (out.length === 1) {
    socket.write(out[0]!, onSent ? () => onSent() : undefined);
    return;
  }
  socket.cork();
  for (const [index, part] of out.entries()) socket.write(part, index === out.length - 1 && onSent ? () => onSent() : undefined);
  socket.uncork();
}

function marker(length: number): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE((LAST_FRAGMENT | length) >>> 0, 0);
  return head;
}

export async function startRpcTransport(options: RpcTransportOptions): Promise<RpcTransport> {
  const log = options.log ?? (() => {});
  const maxRecord = options.maxRecordBytes ?? DEFAULT_MAX_RECORD;
  const sockets = new Set<Socket>();
  const stalled = new Set<() => void>();

  /**
   * Answers one record; undefined when nothing is to be sent (dropped, stalled, unanswerable).
   * Synchronous unless a fault or the procedure waits (see dispatch).
   */
  const answer = (record: Buffer[], drop: () => void): Reply | undefined | Promise<Reply | undefined> => {
    let call: RpcCall;
    try {
      call = parseCall(record[0]!, record.slice(1));
    } catch (error) {
      const header = error as RpcHeaderError;
      log(`rpc: ${header.message}`);
      return header.reply ? [header.reply] : undefined;
    }
    const fault = options.fault?.(call);
    if (fault?.kind === "drop-connection") {
      drop();
      return undefined;
    }
    if (fault?.kind === "stall") return new Promise<undefined>((resolve) => stalled.add(() => resolve(undefined)));
    if (fault?.kind === "delay")
      return new Promise((resolve) => setTimeout(resolve, fault.ms)).then(() => dispatch(options.programs, call));
    return dispatch(options.programs, call);
  };

  const tcp: Server = createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    let closed = false;
    const drop = () => {
      closed = true;
      socket.destroy();
    };
    const reader = new RecordReader(maxRecord, (record) => {
      whenReady(answer(record, drop), (reply) => {
        if (reply && !closed) sendRecord(socket, reply);
        reply?.afterReply?.();
      });
    });
    socket.on("data", (data: Buffer) => {
      const refusal = reader.push(data);
      if (refusal) {
        log(`rpc: closing ${socket.remoteAddress}:${socket.remotePort}: ${refusal}`);
        drop();
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      closed = true;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once("error", reject);
    tcp.listen(options.port, options.host, () => {
      tcp.off("error", reject);
      resolve();
    });
  });
  const port = (tcp.address() as { port: number }).port;

  // UDP: one datagram is one record (mount.nfs asks the port mapper over UDP).
  const udp: UdpSocket = createSocket(options.host.includes(":") ? "udp6" : "udp4");
  udp.on("message", (message, remote) => {
    whenReady(
      answer([message], () => {}),
      (reply) => {
        if (!reply) return;
        udp.send(reply, remote.port, remote.address, () => reply.onSent?.());
        reply.afterReply?.();
      },
    );
  });
  udp.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    udp.once("error", reject);
    udp.bind(port, options.host, () => {
      udp.off("error", reject);
      resolve();
    });
  });

  return {
    host: options.host,
    port,
    async close() {
      for (const release of stalled) release();
      stalled.clear();
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => tcp.close(() => resolve())),
        new Promise<void>((resolve) => udp.close(() => resolve())),
      ]);
    },
  };
}
