// Garbage never crashes the server or disturbs a transfer; the packet codec round-trips.
import { createSocket } from "node:dgram";
import { fc, test } from "@fast-check/vitest";
import { afterAll, beforeAll, expect, it } from "vitest";
import { tftpGet } from "../../../harness/tftp/client.js";
import { decodePacket, encodeAck, encodeData, encodeError, encodeOack, encodeRequest } from "../../../harness/tftp/packets.js";
import { startTftpServer, type TftpServer } from "../../../harness/tftp/server.js";
import { makeServedTree, type ServedTree } from "./fixtures.js";

test.prop([fc.uint8Array({ maxLength: 600 })], { numRuns: 2000 })("decodePacket never throws", (bytes) => {
  const result = decodePacket(Buffer.from(bytes));
  expect(typeof result.ok).toBe("boolean");
});

const word = fc.stringMatching(/^[A-Za-z0-9._/-]{1,40}$/);
test.prop([word, fc.constantFrom("octet", "netascii"), fc.dictionary(fc.stringMatching(/^[a-z]{1,10}$/), word, { maxKeys: 5 })])(
  "requests round-trip through encode and decode",
  (filename, mode, options) => {
    const decoded = decodePacket(encodeRequest("RRQ", filename, mode, options));
    expect(decoded).toEqual({ ok: true, packet: { op: "RRQ", filename, mode, options: new Map(Object.entries(options)) } });
  },
);

it("other packet kinds round-trip", () => {
  const data = Buffer.from("hello");
  expect(decodePacket(encodeData(70000, data))).toEqual({ ok: true, packet: { op: "DATA", block: 70000 & 0xffff, data } });
  expect(decodePacket(encodeAck(65535))).toEqual({ ok: true, packet: { op: "ACK", block: 65535 } });
  expect(decodePacket(encodeError(2, "nope"))).toEqual({ ok: true, packet: { op: "ERROR", code: 2, message: "nope" } });
  const oack = new Map([["blksize", "1468"]]);
  expect(decodePacket(encodeOack(oack))).toEqual({ ok: true, packet: { op: "OACK", options: oack } });
});

let tree: ServedTree;
let server: TftpServer;
beforeAll(async () => {
  tree = makeServedTree();
  server = await startTftpServer({ root: tree.root, retransmitTimeoutMs: 200, maxRetries: 1 });
});
afterAll(async () => {
  await server.close();
  tree.cleanup();
});

it("survives 3000 random and truncated datagrams on the listening port while a transfer runs", async () => {
  const transfer = tftpGet({ host: server.host, port: server.port, filename: "medium.bin", blksize: 512 });
  const noise = createSocket("udp4");
  await new Promise<void>((resolve) => noise.bind(0, "127.0.0.1", () => resolve()));
  const samples = fc.sample(
    fc.oneof(
      fc.uint8Array({ maxLength: 700 }).map((b) => Buffer.from(b)),
      fc
        .tuple(word, fc.nat({ max: 30 }))
        .map(([name, cut]) => encodeRequest("RRQ", name).subarray(0, Math.max(0, encodeRequest("RRQ", name).length - cut))),
      fc.constantFrom(encodeAck(1), encodeError(0, "x"), encodeRequest("WRQ", "w")),
    ),
    { numRuns: 3000, seed: 42 },
  );
  for (const [i, bytes] of samples.entries()) {
    noise.send(bytes, server.port, "127.0.0.1");
    if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const result = await transfer;
  expect(result.data.equals(tree.files["medium.bin"]!)).toBe(true);
  noise.close();
  // And it still serves afterwards.
  const again = await tftpGet({ host: server.host, port: server.port, filename: "sub/nested.bin" });
  expect(again.data.equals(tree.files["sub/nested.bin"]!)).toBe(true);
  expect(server.stats.requests).toBeGreaterThan(2500); // the noise did reach the server
});
