// Fault injection for the TFTP server: one interception point per packet, in both
// directions. Off by default; when no plan is given the server never builds a context,
// so the hook costs nothing.
import type { TftpPacket } from "./packets.js";

export interface TftpPacketContext {
  /** "in": a packet the server received; "out": one it is about to send. */
  direction: "in" | "out";
  /** Server-wide transfer number (0 for packets on the listening port that start none). */
  transferId: number;
  /** The requested filename, once known. */
  filename?: string;
  peer: { address: string; port: number };
  /** The decoded packet, or undefined when the bytes did not decode. */
  packet: TftpPacket | undefined;
  bytes: Buffer;
  /** For DATA: the absolute 1-based block index (not wrapped at 65536). */
  blockIndex?: number;
  /** For outgoing packets: 0 for the first send, n for the n-th retransmission. */
  retransmission?: number;
}

export type TftpFaultDecision =
  /** Handle the packet normally. */
  | "pass"
  /** Lose it: not sent, or ignored on receipt. */
  | "drop"
  /** Handle it later. */
  | { delayMs: number }
  /** Send this ERROR to the peer instead and end the transfer. */
  | { error: number; message: string };

export interface TftpFaultPlan {
  onPacket(ctx: TftpPacketContext): TftpFaultDecision;
}
