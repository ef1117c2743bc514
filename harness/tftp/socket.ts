// The UDP sockets a transfer (or a refusal) is served from: one per peer, on an ephemeral
// port, which is the server's transfer ID (RFC 1350 §4).
//
// They only ever send to addresses taken from a received datagram (IP literals), so the
// address lookup is the identity. dgram's default, dns.lookup, answers an IP literal on the
// next tick: every send would be deferred, which a lock-step transfer pays per packet, and
// DataSender reuses a DATA buffer right after send() returns, which is only safe when
// send() has handed the datagram to the kernel (or to libuv's queue) by then.
import { createSocket, type Socket, type SocketOptions } from "node:dgram";

const literalLookup: NonNullable<SocketOptions["lookup"]> = (address, _options, callback) => {
  callback(null, address, address.includes(":") ? 6 : 4);
};

export async function bindTransferSocket(host: string): Promise<Socket> {
  const socket = createSocket({ type: host.includes(":") ? "udp6" : "udp4", lookup: literalLookup });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  return socket;
}
