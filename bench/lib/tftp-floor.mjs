// The node:dgram floor of a lock-step TFTP read: the least any Node server can do per ACK,
// measured beside the built-in server and tftpd-hpa by bench/tftp-perf.mjs. It is made of the
// built-in server's own parts (packet codec, connected transfer socket, busy poll), passed in
// as `tftp`: the bench hands it the modules it compiled from harness/, the test the sources.
// Every DATA packet of the one file it serves is built before the transfer starts; per ACK it
// reads the block number and sends a prebuilt packet. Nothing else happens in JavaScript, so
// what is left of a round trip is node:dgram, libuv and the kernel.
//
// A reference, not a server: RRQ in octet mode for the one file, the blksize and tsize
// options, no retransmission, no windowsize (it answers lock-step, like tftpd-hpa), ERROR 1
// for any other name. Loopback only.
import { createSocket } from "node:dgram";

/** Longest a wait polls, as in harness/tftp/transfer.ts. */
const ACK_POLL_MS = 0.25;
/** A transfer whose client went quiet this long is dropped. */
const QUIET_MS = 5000;

/**
 * @typedef {object} TftpParts
 * @property {typeof import("../../harness/tftp/packets.ts").decodePacket} decodePacket
 * @property {typeof import("../../harness/tftp/packets.ts").encodeData} encodeData
 * @property {typeof import("../../harness/tftp/packets.ts").encodeError} encodeError
 * @property {typeof import("../../harness/tftp/packets.ts").encodeOack} encodeOack
 * @property {typeof import("../../harness/tftp/socket.ts").bindTransferSocket} bindTransferSocket
 * @property {typeof import("../../harness/net/busy-poll.ts").BusyPoll} BusyPoll
 */

/** Every DATA packet of `bytes` at `blksize`, the last one shorter (empty when it divides). */
function packetsOf(tftp, bytes, blksize) {
  const count = Math.floor(bytes.length / blksize) + 1;
  const packets = new Array(count);
  for (let n = 1; n <= count; n++) {
    const start = (n - 1) * blksize;
    packets[n - 1] = tftp.encodeData(n, bytes.subarray(start, Math.min(start + blksize, bytes.length)));
  }
  return packets;
}

async function serveTransfer(tftp, peer, oack, packets) {
  const socket = await tftp.bindTransferSocket("127.0.0.1", peer);
  const ackWait = new tftp.BusyPoll({ budgetMs: ACK_POLL_MS });
  // Blocks acknowledged; the OACK, when there is one, is answered by ACK 0.
  let acked = 0;
  const quiet = setInterval(() => {
    if (performance.now() - ackWait.armedAt > QUIET_MS) socket.close();
  }, 1000);
  socket.on("close", () => {
    clearInterval(quiet);
    ackWait.stop();
  });
  socket.on("error", () => socket.close());
  socket.on("message", (ack) => {
    ackWait.settle();
    if (ack.length < 4 || ack[1] !== 4) return socket.close();
    if (((ack[2] << 8) | ack[3]) !== (acked & 0xffff)) return; // a duplicate: no answer (RFC 1123)
    if (acked === packets.length) return socket.close();
    socket.send(packets[acked++]);
    ackWait.arm();
  });
  if (oack) socket.send(oack);
  else socket.send(packets[acked++]);
  ackWait.arm();
}

/**
 * Serves `bytes` as `name`, built of `tftp`'s parts (see TftpParts); resolves to
 * { port, close } once it listens on 127.0.0.1.
 * @param {string} name
 * @param {Buffer} bytes
 * @param {TftpParts} tftp
 */
export function startTftpFloor(name, bytes, tftp) {
  const listener = createSocket("udp4");
  listener.on("message", (request, peer) => {
    const decoded = tftp.decodePacket(request);
    const rrq = decoded.ok && decoded.packet.op === "RRQ" ? decoded.packet : undefined;
    if (!rrq || rrq.filename !== name || rrq.mode !== "octet") {
      listener.send(tftp.encodeError(1, "file not found"), peer.port, peer.address);
      return;
    }
    let blksize = 512;
    const acknowledged = new Map();
    if (rrq.options.has("blksize")) {
      blksize = Math.min(Math.max(Number(rrq.options.get("blksize")) || 512, 8), 65464);
      acknowledged.set("blksize", String(blksize));
    }
    if (rrq.options.has("tsize")) acknowledged.set("tsize", String(bytes.length));
    const oack = acknowledged.size ? tftp.encodeOack(acknowledged) : undefined;
    serveTransfer(tftp, peer, oack, packetsOf(tftp, bytes, blksize)).catch(() => {});
  });
  return new Promise((resolve, reject) => {
    listener.once("error", reject);
    listener.bind(0, "127.0.0.1", () => {
      listener.off("error", reject);
      resolve({ port: listener.address().port, close: () => new Promise((done) => listener.close(done)) });
    });
  });
}
