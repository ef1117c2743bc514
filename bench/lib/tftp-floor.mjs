// The node:dgram floor of a lock-step TFTP read: the least any Node server can do per ACK,
// measured beside the built-in server and tftpd-hpa by bench/tftp-perf.mjs. Every DATA packet
// of the one file it serves is built before the transfer starts, a transfer's socket is
// connected to its client, and it polls the event loop for the next ACK for up to 0.25 ms, as
// the built-in server does (harness/net/busy-poll.ts). Per ACK it reads the block number and
// sends a prebuilt packet: nothing else happens in JavaScript, so what is left of a round trip
// is node:dgram, libuv and the kernel.
//
// A reference, not a server: RRQ in octet mode for the one file, the blksize and tsize
// options, no retransmission, no windowsize (it answers lock-step, like tftpd-hpa), ERROR 1
// for any other name. Loopback only.
import { createSocket } from "node:dgram";

const ACK_POLL_MS = 0.25;
const literalLookup = (address, _options, callback) => callback(null, address, 4);

function errorPacket(code, message) {
  return Buffer.concat([Buffer.from([0, 5, code >> 8, code & 0xff]), Buffer.from(`${message}\0`, "latin1")]);
}

/** Every DATA packet of `bytes` at `blksize`, the last one shorter (empty when it divides). */
function packetsOf(bytes, blksize) {
  const count = Math.floor(bytes.length / blksize) + 1;
  const packets = new Array(count);
  for (let n = 1; n <= count; n++) {
    const start = (n - 1) * blksize;
    const data = bytes.subarray(start, Math.min(start + blksize, bytes.length));
    const packet = Buffer.allocUnsafe(4 + data.length);
    packet[0] = 0;
    packet[1] = 3;
    packet[2] = (n >> 8) & 0xff;
    packet[3] = n & 0xff;
    data.copy(packet, 4);
    packets[n - 1] = packet;
  }
  return packets;
}

function serveTransfer(peer, first, packets) {
  const socket = createSocket({ type: "udp4", lookup: literalLookup });
  let acked = first ? -1 : 0; // -1: the OACK awaits its ACK 0
  let waiting = false;
  let armedAt = 0;
  let scheduled = false;
  const poll = () => {
    scheduled = false;
    if (waiting && performance.now() - armedAt < ACK_POLL_MS) {
      scheduled = true;
      setImmediate(poll);
    }
  };
  const sent = () => {
    waiting = true;
    armedAt = performance.now();
    if (!scheduled) {
      scheduled = true;
      setImmediate(poll);
    }
  };
  // A client that stops answering must not keep the reference alive forever.
  const idle = setInterval(() => {
    if (performance.now() - armedAt > 5000) socket.close();
  }, 1000);
  socket.on("close", () => clearInterval(idle));
  socket.on("error", () => socket.close());
  socket.on("message", (ack) => {
    waiting = false;
    if (ack.length < 4 || ack[1] !== 4) return socket.close();
    const block = (ack[2] << 8) | ack[3];
    if (block !== (Math.max(acked, 0) & 0xffff)) return; // a duplicate: no answer (RFC 1123)
    if (acked === packets.length) return socket.close();
    acked = Math.max(acked, 0) + 1;
    socket.send(packets[acked - 1]);
    sent();
  });
  socket.bind(0, "127.0.0.1", () =>
    socket.connect(peer.port, peer.address, () => {
      if (first) socket.send(first);
      else {
        acked = 1;
        socket.send(packets[0]);
      }
      sent();
    }),
  );
}

/** Serves `bytes` as `name`; resolves to { port, close } once it listens on 127.0.0.1. */
export function startTftpFloor(name, bytes) {
  const listener = createSocket("udp4");
  listener.on("message", (request, peer) => {
    const fields = request.subarray(2).toString("latin1").split("\0");
    if (request.readUInt16BE(0) !== 1 || fields[0] !== name || fields[1]?.toLowerCase() !== "octet") {
      listener.send(errorPacket(1, "file not found"), peer.port, peer.address);
      return;
    }
    let blksize = 512;
    const oack = [];
    for (let i = 2; i + 1 < fields.length; i += 2) {
      const option = fields[i].toLowerCase();
      if (option === "blksize") {
        blksize = Math.min(Math.max(Number(fields[i + 1]) || 512, 8), 65464);
        oack.push("blksize", String(blksize));
      } else if (option === "tsize") oack.push("tsize", String(bytes.length));
    }
    const first = oack.length ? Buffer.concat([Buffer.from([0, 6]), Buffer.from(`${oack.join("\0")}\0`, "latin1")]) : undefined;
    serveTransfer(peer, first, packetsOf(bytes, blksize));
  });
  return new Promise((resolve, reject) => {
    listener.once("error", reject);
    listener.bind(0, "127.0.0.1", () => {
      listener.off("error", reject);
      resolve({ port: listener.address().port, close: () => new Promise((done) => listener.close(done)) });
    });
  });
}
