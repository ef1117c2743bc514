// The lock-step fast path without a fault plan: read-ahead of the file in chunks, reused
// DATA buffers, plain ACKs handled without the general decoder. Each must leave the bytes on
// the wire and the RFC behaviour (retransmission, duplicate ACKs) exactly as before.
import { createSocket } from "node:dgram";
import { open, truncate } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodePacket, encodeAck, encodeRequest } from "../../../harness/tftp/packets.js";
import { startTftpServer, type TftpServer } from "../../../harness/tftp/server.js";
import { octetSource } from "../../../harness/tftp/source.js";
import { makeServedTree, type ServedTree } from "./fixtures.js";

let tree: ServedTree;

beforeAll(() => {
  tree = makeServedTree();
});
afterAll(() => tree?.cleanup());

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("octetSource", () => {
  it.each([
    [512, 1],
    [1468, 1],
    [1468, 16],
    [8192, 8],
  ])("serves sequential reads of blksize %i × window %i, reading ahead after the first", async (blksize, windowsize) => {
    const file = tree.files["medium.bin"]!;
    const source = octetSource(await open(join(tree.root, "medium.bin")), file.length);
    const unit = blksize * windowsize;
    let asynchronous = 0;
    for (let offset = 0; offset <= file.length; offset += unit) {
      let bytes = source.read(offset, unit);
      if (bytes instanceof Promise) {
        asynchronous++;
        bytes = await bytes;
      }
      expect(bytes.equals(file.subarray(offset, offset + unit)), `offset ${offset}`).toBe(true);
      // Time passes between windows on a real network; give the read-ahead its chance.
      if (offset % (128 * 1024) < unit) await pause(2);
    }
    await source.close();
    expect(asynchronous).toBe(1);
  });

  it("serves jumps back (a window resent after loss), reads past the end and a file that shrank", async () => {
    const path = join(tree.outside, "shrinking.bin");
    const file = tree.files["medium.bin"]!;
    const handle = await open(path, "w+");
    await handle.write(file, 0, file.length, 0);
    const source = octetSource(handle, file.length);
    const read = async (offset: number, length: number) => await source.read(offset, length);
    expect((await read(1_200_000, 512)).equals(file.subarray(1_200_000, 1_200_512))).toBe(true);
    expect((await read(1000, 4096)).equals(file.subarray(1000, 5096))).toBe(true);
    expect((await read(file.length, 512)).length).toBe(0);
    expect((await read(file.length - 10, 512)).equals(file.subarray(file.length - 10))).toBe(true);
    await truncate(path, 100_000);
    expect((await read(99_000, 4096)).equals(file.subarray(99_000, 100_000))).toBe(true);
    await source.close();
  });
});

interface Datagram {
  bytes: Buffer;
  port: number;
}

/** A bare client socket: what arrives is queued; next() takes one datagram or gives up. */
async function rawClient() {
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()));
  const queued: Datagram[] = [];
  let waiter: ((datagram: Datagram) => void) | undefined;
  socket.on("message", (bytes, rinfo) => {
    const datagram = { bytes, port: rinfo.port };
    if (waiter) waiter(datagram);
    else queued.push(datagram);
  });
  const next = (ms = 2000): Promise<Datagram | undefined> => {
    if (queued.length > 0) return Promise.resolve(queued.shift());
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        waiter = undefined;
        resolve(undefined);
      }, ms);
      waiter = (datagram) => {
        clearTimeout(timer);
        waiter = undefined;
        resolve(datagram);
      };
    });
  };
  return { socket, next };
}

describe("without a fault plan", () => {
  let server: TftpServer;
  beforeAll(async () => {
    server = await startTftpServer({ root: tree.root, retransmitTimeoutMs: 150 });
  });
  afterAll(() => server?.close());

  const file = () => tree.files["medium.bin"]!;
  /** Asserts `datagram` is DATA for block `index` with the file's bytes of that block. */
  const expectBlock = (datagram: Datagram | undefined, index: number, blksize: number) => {
    expect(datagram, `DATA ${index}`).toBeDefined();
    const decoded = decodePacket(datagram!.bytes);
    expect(decoded.ok && decoded.packet).toMatchObject({ op: "DATA", block: index });
    const data = decoded.ok && decoded.packet.op === "DATA" ? decoded.packet.data : undefined;
    expect(data?.equals(file().subarray((index - 1) * blksize, index * blksize)), `DATA ${index} bytes`).toBe(true);
  };

  it("a window resent on timeout is byte for byte the file, like its first send", async () => {
    const { socket, next } = await rawClient();
    socket.send(encodeRequest("RRQ", "medium.bin", "octet", { blksize: 512, windowsize: 4 }), server.port, "127.0.0.1");
    const oack = await next();
    expect(oack && decodePacket(oack.bytes)).toMatchObject({ ok: true, packet: { op: "OACK" } });
    const ack = (block: number) => socket.send(encodeAck(block), oack!.port, "127.0.0.1");
    ack(0);
    for (let index = 1; index <= 4; index++) expectBlock(await next(), index, 512);
    // No ACK: after the timeout the same four blocks come again, rebuilt in reused buffers.
    for (let index = 1; index <= 4; index++) expectBlock(await next(), index, 512);
    ack(4);
    for (let index = 5; index <= 8; index++) expectBlock(await next(), index, 512);
    socket.close();
  });

  it("a duplicate ACK is not answered (RFC 1123 §4.2.3.1); the timer alone resends", async () => {
    const { socket, next } = await rawClient();
    socket.send(encodeRequest("RRQ", "medium.bin"), server.port, "127.0.0.1");
    const first = await next();
    expectBlock(first, 1, 512);
    const ack = (block: number) => socket.send(encodeAck(block), first!.port, "127.0.0.1");
    ack(1);
    expectBlock(await next(), 2, 512);
    ack(1); // the duplicate (as if ACK 1 had been delayed in the network)
    const started = Date.now();
    const resent = await next();
    expect(Date.now() - started, "DATA 2 again only when the 150 ms timer fires").toBeGreaterThanOrEqual(120);
    expectBlock(resent, 2, 512);
    ack(2);
    expectBlock(await next(), 3, 512);
    expect(await next(50), "one DATA per ACK").toBeUndefined();
    socket.close();
  });
});
