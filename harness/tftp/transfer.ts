// One read transfer on its own ephemeral UDP socket (the server's TID, RFC 1350 §4).
// Sends windows of DATA blocks (RFC 7440; a window of 1 is plain lock-step), retransmits
// the unacknowledged window on timeout, and ends on the last block's ACK, on an ERROR from
// the client, after too many timeouts, or when the server closes. Block numbers wrap at
// 65536 to 0 (what tftp-hpa, curl and iPXE expect), so files of any size transfer.
//
// Every event (datagram, timer) runs as a step of one queue, so the state below is only
// ever touched by one step at a time even though file reads can be asynchronous. Steps run
// synchronously when they can (a block in memory, the usual case).
//
// A lock-step transfer (curl, firmware) is bounded by the time from an ACK's arrival to the
// next DATA's departure, so that path is kept short: a plain ACK skips the general decoder
// and the next DATA leaves from inside the same 'message' handler (DataSender).
import type { Socket } from "node:dgram";
import { performance } from "node:perf_hooks";
import { BusyPoll } from "../net/busy-poll.js";
import { DataSender } from "./data-sender.js";
import type { TftpFaultDecision, TftpFaultPlan, TftpPacketContext } from "./faults.js";
import { decodePacket, ErrorCode, encodeData, encodeError, encodeOack, Opcode, type TftpPacket } from "./packets.js";
import type { TransferSource } from "./source.js";

/** How long to poll for an ACK: a host client answers lock-step DATA in tens of µs. */
const ACK_POLL_MS = 0.25;

export interface TransferStats {
  bytesSent: number;
  packetsSent: number;
  retransmissions: number;
}

export interface TransferLogger {
  debug?(message: string): void;
  warn?(message: string): void;
}

export interface ReadTransferInit {
  id: number;
  filename: string;
  /** From bindTransferSocket(), connected to `peer` (DataSender relies on its synchronous sends). */
  socket: Socket;
  peer: { address: string; port: number };
  source: TransferSource;
  blksize: number;
  windowsize: number;
  timeoutMs: number;
  maxRetries: number;
  oack: Map<string, string> | undefined;
  faults: TftpFaultPlan | undefined;
  stats: TransferStats;
  logger: TransferLogger | undefined;
}

export type TransferOutcome = { ok: true } | { ok: false; reason: string };

export class ReadTransfer {
  readonly id: number;
  readonly filename: string;
  /** Resolves when the transfer has ended and its socket is closed. */
  readonly done: Promise<TransferOutcome>;

  private readonly init: ReadTransferInit;
  /** Index of the last block (1-based); it is shorter than blksize, possibly empty. */
  private readonly lastBlock: number;
  /** Highest block index the client acknowledged (0 = none; the OACK is acknowledged as 0). */
  private acked = 0;
  /** Highest block index sent in the current window. */
  private sentHigh = 0;
  /** Highest block index ever sent (tells first sends from retransmissions). */
  private highestEverSent = 0;
  private awaitingOackAck: boolean;
  private retries = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly queue: (() => void | Promise<void>)[] = [];
  private draining = false;
  private ended = false;
  /** ERRORs handed to the socket and not yet sent; the socket closes after them. */
  private pendingSends = 0;
  private onSendsDrained: (() => void) | undefined;
  /** DATA without a fault plan; with one, every packet goes through send(). */
  private readonly data: DataSender | undefined;
  private resolveDone!: (outcome: TransferOutcome) => void;
  /**
   * Polls for the next ACK instead of sleeping, while the client answers fast; its armedAt
   * (the last send) is also where the retransmission timeout counts from.
   */
  private readonly ackWait = new BusyPoll({ budgetMs: ACK_POLL_MS });

  constructor(init: ReadTransferInit) {
    this.init = init;
    this.id = init.id;
    this.filename = init.filename;
    this.lastBlock = Math.floor(init.source.size / init.blksize) + 1;
    this.awaitingOackAck = init.oack !== undefined;
    if (!init.faults) this.data = new DataSender(init.socket, init.blksize, init.stats);
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    init.socket.on("message", this.onDatagram);
    init.socket.on("error", (error) => this.enqueue(() => this.finish({ ok: false, reason: error.message })));
  }

  start(): void {
    this.enqueue(() => this.sendCurrent(0));
  }

  /** Ends the transfer from outside (server close); the client gets an ERROR. */
  abort(reason: string): Promise<TransferOutcome> {
    this.enqueue(() => {
      this.sendError(ErrorCode.NOT_DEFINED, reason);
      return this.finish({ ok: false, reason });
    });
    return this.done;
  }

  private enqueue(step: () => void | Promise<void>): void {
    this.queue.push(step);
    if (!this.draining) this.drain();
  }

  /** Runs queued steps in order; pauses on a step that returns a promise until it settles. */
  private drain(): void {
    this.draining = true;
    while (this.queue.length > 0) if (this.run(this.queue.shift()!)) return;
    this.draining = false;
  }

  /** Runs one step; true when it returned a promise, which the queue then waits for. */
  private run(step: () => void | Promise<void>): boolean {
    if (this.ended) return false;
    let result: void | Promise<void>;
    try {
      result = step();
    } catch (error) {
      result = this.internalError(error);
    }
    if (!(result instanceof Promise)) return false;
    this.draining = true;
    void result.catch((error: unknown) => this.internalError(error)).finally(() => this.drain());
    return true;
  }

  private internalError(error: unknown): Promise<void> {
    this.init.logger?.warn?.(`tftp #${this.id}: internal error: ${String(error)}`);
    return this.finish({ ok: false, reason: `internal error: ${String(error)}` });
  }

  /** Only the peer's datagrams arrive: the socket is connected to it (see socket.ts). */
  private readonly onDatagram = (bytes: Buffer): void => {
    const { faults } = this.init;
    // The lock-step hot path: a plain 4-byte ACK needs no decoded packet when no fault plan
    // wants to see one. Anything else (longer ACKs included) goes through the decoder.
    if (!faults && bytes.length === 4 && bytes[0] === 0 && bytes[1] === Opcode.ACK) {
      const block = (bytes[2]! << 8) | bytes[3]!;
      // With no step running (the usual case), run it at once instead of through the queue.
      if (this.draining || this.queue.length > 0) this.enqueue(() => this.onAck(block));
      else this.run(() => this.onAck(block));
      return;
    }
    const decoded = decodePacket(bytes);
    const packet = decoded.ok ? decoded.packet : undefined;
    if (faults) {
      const decision = faults.onPacket(this.context("in", bytes, packet));
      if (this.applyInboundFault(decision, () => this.enqueue(() => this.onPacket(packet, decoded)))) return;
    }
    this.enqueue(() => this.onPacket(packet, decoded));
  };

  /** Returns true when the fault plan took the packet over. */
  private applyInboundFault(decision: TftpFaultDecision, handle: () => void): boolean {
    if (decision === "pass") return false;
    if (decision === "drop") return true;
    if ("delayMs" in decision) {
      setTimeout(handle, decision.delayMs).unref();
      return true;
    }
    this.enqueue(() => {
      this.sendError(decision.error, decision.message);
      return this.finish({ ok: false, reason: `fault: ERROR ${decision.error} ${decision.message}` });
    });
    return true;
  }

  private onPacket(packet: TftpPacket | undefined, decoded: ReturnType<typeof decodePacket>): void | Promise<void> {
    if (!packet) {
      const reason = decoded.ok ? "unreadable packet" : decoded.reason;
      this.sendError(ErrorCode.ILLEGAL_OPERATION, `malformed packet: ${reason}`);
      return this.finish({ ok: false, reason: `client sent a malformed packet: ${reason}` });
    }
    if (packet.op === "ERROR") {
      return this.finish({ ok: false, reason: `client sent ERROR ${packet.code}: ${packet.message}` });
    }
    if (packet.op !== "ACK") {
      this.sendError(ErrorCode.ILLEGAL_OPERATION, `expected ACK, got ${packet.op}`);
      return this.finish({ ok: false, reason: `client sent ${packet.op} during a read` });
    }
    return this.onAck(packet.block);
  }

  private onAck(block: number): void | Promise<void> {
    this.ackWait.settle();
    if (this.awaitingOackAck) {
      if (block !== 0) return; // stray ACK; the OACK is retransmitted on timeout
      this.awaitingOackAck = false;
      this.retries = 0;
      return this.sendWindow(0);
    }
    // Map the 16-bit block number onto the window in flight: acked .. sentHigh.
    let target = -1;
    for (let index = this.sentHigh; index > this.acked; index--) {
      if ((index & 0xffff) === block) {
        target = index;
        break;
      }
    }
    // A duplicate ACK of the window's predecessor is not answered: resending on duplicates
    // is the Sorcerer's Apprentice bug (RFC 1123 §4.2.3.1); the timer covers real loss.
    if (target === -1) return;
    this.acked = target;
    this.retries = 0;
    if (target === this.lastBlock) return this.finish({ ok: true });
    // A full-window ACK moves on; an ACK inside the window means the client saw a gap
    // and the next window starts right after what it has (RFC 7440 §4).
    return this.sendWindow(0);
  }

  private sendCurrent(retransmission: number): void | Promise<void> {
    if (this.awaitingOackAck) {
      const oack = encodeOack(this.init.oack!);
      this.send(oack, { op: "OACK", options: this.init.oack! }, retransmission);
      this.awaitAck();
      return;
    }
    return this.sendWindow(retransmission);
  }

  private sendWindow(retries: number): void | Promise<void> {
    const { blksize, windowsize, source } = this.init;
    const first = this.acked + 1;
    const last = Math.min(this.acked + windowsize, this.lastBlock);
    const read = source.read((first - 1) * blksize, (last - first + 1) * blksize);
    if (read instanceof Promise) return read.then((bytes) => this.emitWindow(first, last, bytes, retries));
    this.emitWindow(first, last, read, retries);
  }

  private emitWindow(first: number, last: number, bytes: Buffer, retries: number): void {
    const { blksize } = this.init;
    if (this.ended) return;
    for (let index = first; index <= last; index++) {
      const start = Math.min((index - first) * blksize, bytes.length);
      const end = Math.min(start + blksize, bytes.length);
      if (this.data) {
        this.data.send(index, bytes, start, end);
        continue;
      }
      const data = bytes.subarray(start, end);
      // A block sent before is a retransmission whether a timeout or a gap ACK caused it.
      const retransmission = index <= this.highestEverSent ? Math.max(retries, 1) : 0;
      this.send(encodeData(index, data), { op: "DATA", block: index & 0xffff, data }, retransmission, index);
    }
    this.sentHigh = last;
    this.highestEverSent = Math.max(this.highestEverSent, last);
    this.awaitAck();
  }

  /**
   * A packet that wants an ACK has gone: poll for the ACK, and count the retransmission
   * timeout from now. Lazily: the send's time is noted (ackWait.armedAt), and a timer that
   * fires early (a send came after it was set) sets itself for the rest; touching the timer
   * list on every packet costs a lock-step transfer more than this.
   */
  private awaitAck(): void {
    if (this.ended) return;
    this.ackWait.arm();
    this.timer ??= setTimeout(this.onTimer, this.init.timeoutMs);
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    if (this.ended) return;
    const quiet = performance.now() - this.ackWait.armedAt;
    if (quiet < this.init.timeoutMs) this.timer = setTimeout(this.onTimer, this.init.timeoutMs - quiet);
    else this.enqueue(() => this.onTimeout());
  };

  private onTimeout(): void | Promise<void> {
    this.retries++;
    if (this.retries > this.init.maxRetries) {
      const reason = `no ACK after ${this.init.maxRetries} retransmissions (${this.init.timeoutMs} ms each)`;
      this.sendError(ErrorCode.NOT_DEFINED, "timed out");
      return this.finish({ ok: false, reason });
    }
    this.init.stats.retransmissions++;
    return this.sendCurrent(this.retries);
  }

  private context(
    direction: "in" | "out",
    bytes: Buffer,
    packet: TftpPacket | undefined,
    extra: Partial<TftpPacketContext> = {},
  ): TftpPacketContext {
    return { direction, transferId: this.id, filename: this.filename, peer: this.init.peer, packet, bytes, ...extra };
  }

  /** Sends through the fault plan, if any. */
  private send(bytes: Buffer, packet: TftpPacket, retransmission: number, blockIndex?: number): void {
    const { faults } = this.init;
    if (faults) {
      const extra: Partial<TftpPacketContext> = { retransmission };
      if (blockIndex !== undefined) extra.blockIndex = blockIndex;
      const decision = faults.onPacket(this.context("out", bytes, packet, extra));
      if (decision === "drop") return;
      if (decision !== "pass") {
        if ("delayMs" in decision) {
          setTimeout(() => {
            if (!this.ended) this.sendRaw(bytes);
          }, decision.delayMs).unref();
        } else {
          this.sendError(decision.error, decision.message);
          void this.finish({ ok: false, reason: `fault: ERROR ${decision.error} ${decision.message}` });
        }
        return;
      }
    }
    this.sendRaw(bytes);
  }

  /** DATA and OACK: nothing waits for them to leave (a lost one is what retransmission is for). */
  private sendRaw(bytes: Buffer): void {
    if (this.ended) return;
    this.init.stats.packetsSent++;
    this.init.stats.bytesSent += bytes.length;
    this.init.socket.send(bytes);
  }

  /** An ERROR is often the last packet before the socket closes, so closing waits for it. */
  private sendError(code: number, message: string): void {
    if (this.ended) return;
    const bytes = encodeError(code, message);
    this.init.stats.packetsSent++;
    this.init.stats.bytesSent += bytes.length;
    this.pendingSends++;
    this.init.socket.send(bytes, this.onSent);
  }

  private readonly onSent = (error: Error | null): void => {
    if (error) this.init.logger?.debug?.(`tftp #${this.id}: send failed: ${error.message}`);
    if (--this.pendingSends === 0) this.onSendsDrained?.();
  };

  private async finish(outcome: TransferOutcome): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.ackWait.stop();
    clearTimeout(this.timer);
    await this.init.source.close().catch(() => {});
    // Let the ERRORs handed to the socket leave before it goes.
    if (this.pendingSends > 0) {
      await new Promise<void>((resolve) => {
        this.onSendsDrained = resolve;
      });
    }
    await new Promise<void>((resolve) => {
      try {
        this.init.socket.close(() => resolve());
      } catch {
        resolve(); // already closed
      }
    });
    this.resolveDone(outcome);
  }
}
