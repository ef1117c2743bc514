// The UDP sockets a transfer (or a refusal) is served from: one per peer, on an ephemeral
// port, which is the server's transfer ID (RFC 1350 §4), connected to the peer's TID.
//
// Connected, as tftpd-hpa's are: a send then names no address, so neither Node (argument
// checks, parsing the address for every datagram) nor the kernel (a route lookup for every
// unconnected sendmsg) does per-packet work that a lock-step transfer pays on each round trip.
// Measured (bench/tftp-perf.mjs, curl lock-step, medians of 5, four interleaved pairs):
// unconnected 0.89-0.95x tftpd-hpa at blksize 512 and 0.89-0.94x at 1468, connected
// 0.96-0.99x and 0.91-0.98x; over all thirteen connected runs that day 0.96-1.02x and
// 0.91-1.00x.
//
// The kernel also keeps every other sender off the socket: a datagram from another endpoint
// to a transfer's port is refused with ICMP port unreachable, and the transfer never sees it
// (RFC 1350 asks that it be discarded; the ERROR 5 the RFC suggests for its sender is what
// tftpd-hpa does not send either).
//
// The address lookup is the identity: peers are IP literals from a received datagram, and
// dgram's default, dns.lookup, would answer on the next tick.
import { createSocket, type Socket, type SocketOptions } from "node:dgram";

const literalLookup: NonNullable<SocketOptions["lookup"]> = (address, _options, callback) => {
  callback(null, address, address.includes(":") ? 6 : 4);
};

export interface TransferPeer {
  address: string;
  port: number;
}

/**
 * A socket bound to an ephemeral port on `host` and connected to `peer`: send without an
 * address; DataSender relies on its sends reaching the kernel before send() returns.
 */
export async function bindTransferSocket(host: string, peer: TransferPeer): Promise<Socket> {
  const socket = createSocket({ type: host.includes(":") ? "udp6" : "udp4", lookup: literalLookup });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("error", reject);
      socket.bind(0, host, () => {
        socket.connect(peer.port, peer.address, () => {
          socket.off("error", reject);
          resolve();
        });
      });
    });
  } catch (error) {
    socket.close();
    throw error;
  }
  return socket;
}
