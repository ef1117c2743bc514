// Sends a transfer's DATA packets when no fault plan is installed: the lock-step hot path.
//
// A packet buffer is reused for the next block once the kernel has taken the datagram,
// which a UDP send almost always does at once: allocating 4 + blksize bytes per block
// costs more than building the packet. A send the kernel could not take at once stays
// queued in libuv with its buffer, and then that buffer is left alone. (With a fault plan
// every packet gets its own buffer: the plan may keep, or delay, the bytes it is shown.)
//
// send() has no callback (dgram would schedule a tick per packet for it) and relies on the
// socket coming from bindTransferSocket(): connected to the peer, its sends reach the kernel
// before returning.
import type { Socket } from "node:dgram";
import { Opcode } from "./packets.js";

export class DataSender {
  private spare: Buffer | undefined;
  private readonly fullLength: number;

  constructor(
    private readonly socket: Socket,
    blksize: number,
    private readonly stats: { bytesSent: number; packetsSent: number },
  ) {
    this.fullLength = 4 + blksize;
  }

  /** Sends block `index` (wrapped to 16 bits on the wire) carrying bytes[start, end). */
  send(index: number, bytes: Buffer, start: number, end: number): void {
    const buffer = this.spare ?? Buffer.allocUnsafe(this.fullLength);
    this.spare = undefined;
    buffer[0] = 0;
    buffer[1] = Opcode.DATA;
    buffer[2] = (index >> 8) & 0xff;
    buffer[3] = index & 0xff;
    bytes.copy(buffer, 4, start, end);
    const length = 4 + end - start;
    const packet = length === this.fullLength ? buffer : buffer.subarray(0, length);
    this.stats.packetsSent++;
    this.stats.bytesSent += length;
    this.socket.send(packet);
    if (this.socket.getSendQueueCount() === 0) this.spare = buffer;
  }
}
