// A small TFTP read client with options (blksize, tsize, timeout, windowsize), for tests,
// benchmarks and health checks. curl has no windowsize and tftp-hpa negotiates no options,
// so this is the client that exercises RFC 2347/2348/2349/7440 on the server.
import { createSocket } from "node:dgram";
import { decodePacket, ErrorCode, encodeAck, encodeError, encodeRequest, type TftpPacket } from "./packets.js";

export interface TftpGetOptions {
  host: string;
  port: number;
  filename: string;
  mode?: "octet" | "netascii";
  blksize?: number;
  windowsize?: number;
  /** Ask for the size (sends tsize=0). */
  tsize?: boolean;
  /** Retransmission timeout to negotiate, in seconds. */
  timeoutSeconds?: number;
  /** Local retransmission timeout (default 1000 ms). */
  retransmitMs?: number;
  /** Give up after this many silent timeouts in a row (default 5). */
  maxRetries?: number;
}

export interface TftpGetResult {
  data: Buffer;
  /** Options the server acknowledged, if it sent an OACK. */
  oack: Map<string, string> | undefined;
  /** The server's transfer ID (its ephemeral port). */
  serverPort: number;
  blocks: number;
}

export class TftpClientError extends Error {
  constructor(
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = "TftpClientError";
  }
}

export function tftpGet(options: TftpGetOptions): Promise<TftpGetResult> {
  const requested: Record<string, number> = {};
  if (options.blksize !== undefined) requested.blksize = options.blksize;
  if (options.tsize) requested.tsize = 0;
  if (options.timeoutSeconds !== undefined) requested.timeout = options.timeoutSeconds;
  if (options.windowsize !== undefined) requested.windowsize = options.windowsize;
  const request = encodeRequest("RRQ", options.filename, options.mode ?? "octet", requested);
  const retransmitMs = options.retransmitMs ?? 1000;
  const maxRetries = options.maxRetries ?? 5;
  const socket = createSocket("udp4");

  return new Promise<TftpGetResult>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let serverPort: number | undefined;
    let oack: Map<string, string> | undefined;
    let blksize = 512;
    let windowsize = 1;
    let received = 0; // blocks received in order
    let sinceAck = 0;
    let lastSent = request;
    let retries = 0;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;

    const finish = (error: Error | undefined, result?: TftpGetResult, finalAck?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // The final ACK must leave before the socket closes, or the server retransmits.
      if (finalAck) socket.send(finalAck, serverPort, options.host, () => socket.close());
      else socket.close();
      if (error) reject(error);
      else resolve(result!);
    };
    const send = (bytes: Buffer) => {
      lastSent = bytes;
      socket.send(bytes, serverPort ?? options.port, options.host);
      arm();
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (++retries > maxRetries) {
          finish(new TftpClientError(undefined, `no answer from ${options.host}:${options.port} after ${maxRetries} retries`));
          return;
        }
        socket.send(lastSent, serverPort ?? options.port, options.host);
        arm();
      }, retransmitMs);
    };
    const ack = (block: number) => {
      sinceAck = 0;
      send(encodeAck(block));
    };

    socket.on("error", (error) => finish(error));
    socket.on("message", (bytes, rinfo) => {
      if (serverPort === undefined) serverPort = rinfo.port;
      else if (rinfo.port !== serverPort) {
        socket.send(encodeError(ErrorCode.UNKNOWN_TID, "unknown transfer ID"), rinfo.port, rinfo.address);
        return;
      }
      const decoded = decodePacket(bytes);
      if (!decoded.ok) {
        finish(new TftpClientError(undefined, `server sent a malformed packet: ${decoded.reason}`));
        return;
      }
      const packet: TftpPacket = decoded.packet;
      retries = 0;
      if (packet.op === "ERROR") {
        finish(new TftpClientError(packet.code, `server ERROR ${packet.code}: ${packet.message}`));
        return;
      }
      if (packet.op === "OACK") {
        if (received > 0 || oack) return; // duplicate OACK
        oack = packet.options;
        blksize = Number(oack.get("blksize") ?? 512);
        windowsize = Number(oack.get("windowsize") ?? 1);
        ack(0);
        return;
      }
      if (packet.op !== "DATA") {
        finish(new TftpClientError(undefined, `unexpected ${packet.op} from the server`));
        return;
      }
      if (packet.block !== ((received + 1) & 0xffff)) {
        // Out of order or a duplicate: confirm what we have so the server resumes there.
        ack(received);
        return;
      }
      received++;
      sinceAck++;
      chunks.push(Buffer.from(packet.data));
      if (packet.data.length < blksize) {
        finish(undefined, { data: Buffer.concat(chunks), oack, serverPort, blocks: received }, encodeAck(received));
        return;
      }
      if (sinceAck >= windowsize) ack(received);
      else arm();
    });
    socket.bind(0, "127.0.0.1", () => send(request));
  });
}

/** Sends raw bytes to a TFTP port and returns the first reply (for error-path tests). */
export function tftpExchange(
  host: string,
  port: number,
  bytes: Buffer,
  timeoutMs = 2000,
): Promise<{ packet: TftpPacket | undefined; port: number }> {
  const socket = createSocket("udp4");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new TftpClientError(undefined, `no reply from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("message", (reply, rinfo) => {
      clearTimeout(timer);
      socket.close();
      const decoded = decodePacket(reply);
      resolve({ packet: decoded.ok ? decoded.packet : undefined, port: rinfo.port });
    });
    socket.bind(0, "127.0.0.1", () => socket.send(bytes, port, host));
  });
}
