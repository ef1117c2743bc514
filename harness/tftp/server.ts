// bootproof's TFTP server: serves one directory read-only on a loopback UDP port.
//
// Why not the npm `tftp` package (0.1.2, last published 2014), evaluated on Node 20 here:
// it does serve curl (blksize 512 and 1468) and tftp-hpa correctly, including block
// rollover on a 40 MB file, but
//   - it follows symlinks out of the root (a link to /etc/passwd inside the root was served),
//   - it has no per-packet interception point, so fault plans cannot drop, delay or fail
//     individual packets without forking it,
//   - close() only closes the listening socket; running transfers keep their sockets and
//     timers alive, so a case cannot be torn down deterministically,
//   - it is CommonJS without types and unmaintained.
// So the server is written here (RFC 1350 + 2347/2348/2349 + 7440), small and typed.
//
// Model: the listening socket only takes requests. Each RRQ gets its own ephemeral UDP
// socket (the server's transfer ID, RFC 1350 §4) and a ReadTransfer; WRQ is refused.
import { createSocket, type Socket } from "node:dgram";
import { resolveServedRoot } from "../files/confine.js";
import type { TftpFaultDecision, TftpFaultPlan, TftpPacketContext } from "./faults.js";
import { type NegotiationLimits, negotiate } from "./options.js";
import { decodePacket, ErrorCode, encodeError, type RequestPacket } from "./packets.js";
import { openUnderRoot, TftpRefusal } from "./paths.js";
import { bindTransferSocket } from "./socket.js";
import { netasciiSource, octetSource, type TransferSource } from "./source.js";
import { ReadTransfer, type TransferLogger } from "./transfer.js";

export interface TftpLogger extends TransferLogger {
  info?(message: string): void;
}

export interface TftpServerOptions {
  /** Directory served read-only; requests are resolved relative to it. */
  root: string;
  /** Address to bind; loopback unless a caller has a reason. */
  host?: string;
  /** UDP port; 0 (default) picks a free ephemeral port. */
  port?: number;
  faults?: TftpFaultPlan;
  logger?: TftpLogger;
  /** Retransmission timeout when the client does not negotiate one (default 1000 ms). */
  retransmitTimeoutMs?: number;
  /** Retransmissions of one window before the transfer is abandoned (default 5). */
  maxRetries?: number;
  /** Largest blksize granted (default 65464, the RFC 2348 maximum). */
  maxBlksize?: number;
  /** Largest windowsize granted (default 64). */
  maxWindowsize?: number;
}

export interface TftpServerStats {
  requests: number;
  refused: number;
  transfersActive: number;
  transfersCompleted: number;
  transfersFailed: number;
  bytesSent: number;
  packetsSent: number;
  retransmissions: number;
}

export interface TftpServer {
  host: string;
  port: number;
  /** Live counters (mutated as the server runs). */
  stats: TftpServerStats;
  /** Ends every transfer (clients get an ERROR), frees every socket. Idempotent. */
  close(): Promise<void>;
}

export async function startTftpServer(options: TftpServerOptions): Promise<TftpServer> {
  const host = options.host ?? "127.0.0.1";
  const realRoot = await resolveServedRoot(options.root, "TFTP");
  const limits: NegotiationLimits = {
    maxBlksize: Math.min(options.maxBlksize ?? 65464, 65464),
    maxWindowsize: options.maxWindowsize ?? 64,
    defaultTimeoutMs: options.retransmitTimeoutMs ?? 1000,
  };
  const maxRetries = options.maxRetries ?? 5;
  const { faults, logger } = options;
  const stats: TftpServerStats = {
    requests: 0,
    refused: 0,
    transfersActive: 0,
    transfersCompleted: 0,
    transfersFailed: 0,
    bytesSent: 0,
    packetsSent: 0,
    retransmissions: 0,
  };
  const transfers = new Set<ReadTransfer>();
  const pendingSetups = new Set<Promise<void>>();
  let nextTransferId = 1;
  let closing: Promise<void> | undefined;

  const listener = createSocket({ type: host.includes(":") ? "udp6" : "udp4" });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", (error) => {
      const hint = (error as NodeJS.ErrnoException).code === "EADDRINUSE" ? ": choose another --port or 0" : "";
      reject(new Error(`TFTP server cannot bind ${host}:${options.port ?? 0}: ${error.message}${hint}`));
    });
    listener.bind(options.port ?? 0, host, () => resolve());
  });
  listener.on("error", (error) => logger?.warn?.(`tftp: listening socket error: ${error.message}`));
  const port = listener.address().port;
  logger?.info?.(`tftp: serving ${realRoot} on ${host}:${port}`);

  function decide(ctx: TftpPacketContext): TftpFaultDecision {
    return faults ? faults.onPacket(ctx) : "pass";
  }

  /** Answers a request that starts no transfer, from its own TID as the RFC asks. */
  async function refuse(peer: { address: string; port: number }, code: number, message: string): Promise<void> {
    stats.refused++;
    const socket = await bindTransferSocket(host, peer);
    const bytes = encodeError(code, message);
    stats.packetsSent++;
    stats.bytesSent += bytes.length;
    await new Promise<void>((resolve) => socket.send(bytes, () => resolve()));
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  async function openSource(filename: string, mode: string): Promise<TransferSource> {
    if (mode !== "octet" && mode !== "netascii") {
      throw new TftpRefusal(ErrorCode.ILLEGAL_OPERATION, `transfer mode '${mode}' is not supported: use octet or netascii`);
    }
    const file = await openUnderRoot(realRoot, filename);
    return mode === "octet" ? octetSource(file.handle, file.size) : netasciiSource(file.handle, file.size);
  }

  async function startRead(id: number, request: RequestPacket, peer: { address: string; port: number }): Promise<void> {
    let source: TransferSource;
    let settings: ReturnType<typeof negotiate>;
    try {
      source = await openSource(request.filename, request.mode);
    } catch (error) {
      const refusal = error instanceof TftpRefusal ? error : new TftpRefusal(ErrorCode.NOT_DEFINED, String(error));
      logger?.info?.(`tftp #${id}: refused '${request.filename}' for ${peer.address}:${peer.port}: ${refusal.message}`);
      return refuse(peer, refusal.code, refusal.message);
    }
    try {
      settings = negotiate(request.options, source.size, limits);
    } catch (error) {
      await source.close();
      const refusal = error as TftpRefusal;
      return refuse(peer, refusal.code, refusal.message);
    }
    if (closing) {
      await source.close();
      return;
    }
    let socket: Socket;
    try {
      socket = await bindTransferSocket(host, peer);
    } catch (error) {
      // No socket to answer from (out of ports, a peer the socket cannot reach): the file goes.
      await source.close();
      throw error;
    }
    const transfer = new ReadTransfer({
      id,
      filename: request.filename,
      socket,
      peer,
      source,
      ...settings,
      maxRetries,
      faults,
      stats,
      logger,
    });
    transfers.add(transfer);
    stats.transfersActive++;
    logger?.debug?.(
      `tftp #${id}: '${request.filename}' (${source.size} bytes) to ${peer.address}:${peer.port} ` +
        `blksize=${settings.blksize} windowsize=${settings.windowsize} timeout=${settings.timeoutMs}ms`,
    );
    transfer.start();
    void transfer.done.then((outcome) => {
      transfers.delete(transfer);
      stats.transfersActive--;
      if (outcome.ok) stats.transfersCompleted++;
      else {
        stats.transfersFailed++;
        logger?.info?.(`tftp #${id}: '${request.filename}' failed: ${outcome.reason}`);
      }
    });
  }

  async function onRequest(bytes: Buffer, peer: { address: string; port: number }): Promise<void> {
    const decoded = decodePacket(bytes);
    const packet = decoded.ok ? decoded.packet : undefined;
    const id = packet?.op === "RRQ" ? nextTransferId++ : 0;
    if (faults) {
      const ctx: TftpPacketContext = { direction: "in", transferId: id, peer, packet, bytes };
      if (packet?.op === "RRQ" || packet?.op === "WRQ") ctx.filename = packet.filename;
      const decision = decide(ctx);
      if (decision === "drop") return;
      if (decision !== "pass") {
        if ("delayMs" in decision) await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
        else return refuse(peer, decision.error, decision.message);
        if (closing) return;
      }
    }
    stats.requests++;
    if (!decoded.ok) return refuse(peer, ErrorCode.ILLEGAL_OPERATION, `malformed request: ${decoded.reason}`);
    if (packet!.op === "WRQ") return refuse(peer, ErrorCode.ACCESS_VIOLATION, "this TFTP server is read-only (WRQ refused)");
    if (packet!.op !== "RRQ") {
      return refuse(peer, ErrorCode.ILLEGAL_OPERATION, `${packet!.op} sent to the request port: start with RRQ`);
    }
    return startRead(id, packet as RequestPacket, peer);
  }

  listener.on("message", (bytes, rinfo) => {
    if (closing) return;
    const setup = onRequest(bytes, { address: rinfo.address, port: rinfo.port }).catch((error: unknown) => {
      logger?.warn?.(`tftp: request from ${rinfo.address}:${rinfo.port} failed: ${String(error)}`);
    });
    pendingSetups.add(setup);
    void setup.finally(() => pendingSetups.delete(setup));
  });

  return {
    host,
    port,
    stats,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => listener.close(() => resolve()));
        // Requests already being set up finish first, so no socket is created after this.
        await Promise.all([...pendingSetups]);
        await Promise.all([...transfers].map((t) => t.abort("server shutting down")));
        logger?.info?.(`tftp: closed ${host}:${port}`);
      })();
      return closing;
    },
  };
}
