// Fault hooks (drop, delay, error, per packet and direction), retransmission and give-up,
// and close(): every transfer ends and every socket is freed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tftpGet } from "../../../harness/tftp/client.js";
import type { TftpFaultPlan, TftpPacketContext } from "../../../harness/tftp/faults.js";
import { ErrorCode } from "../../../harness/tftp/packets.js";
import { startTftpServer, type TftpServer, type TftpServerOptions } from "../../../harness/tftp/server.js";
import { hpaGet, makeServedTree, type ServedTree } from "./fixtures.js";

let tree: ServedTree;
let server: TftpServer | undefined;

beforeEach(() => {
  tree = makeServedTree();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  tree.cleanup();
});

async function serve(options: Partial<TftpServerOptions>) {
  server = await startTftpServer({ root: tree.root, ...options });
  return server;
}

const udpHandles = () => process.getActiveResourcesInfo().filter((r) => r === "UDPWrap").length;

describe("fault hooks", () => {
  it("sees every packet in both directions with its block index", async () => {
    const seen: TftpPacketContext[] = [];
    const recordAll: TftpFaultPlan = {
      onPacket(ctx) {
        seen.push(ctx);
        return "pass";
      },
    };
    const s = await serve({ faults: recordAll });
    await tftpGet({ host: s.host, port: s.port, filename: "block-multiple.bin" });
    await expect.poll(() => s.stats.transfersCompleted).toBe(1);
    const summary = seen.map(
      (c) => `${c.direction}:${c.packet?.op}:${c.blockIndex ?? (c.packet as { block?: number }).block ?? ""}`,
    );
    expect(summary.slice(0, 3)).toEqual(["in:RRQ:", "out:DATA:1", "in:ACK:1"]);
    expect(summary.slice(-2)).toEqual(["out:DATA:5", "in:ACK:5"]); // 4 full blocks + the empty final one
    expect(seen.every((c) => c.filename === "block-multiple.bin")).toBe(true);
  });

  it("a dropped DATA block is retransmitted after the timeout and the file arrives intact", async () => {
    let dropped = 0;
    const plan: TftpFaultPlan = {
      onPacket: (ctx) => {
        if (ctx.direction === "out" && ctx.blockIndex === 100 && ctx.retransmission === 0) {
          dropped++;
          return "drop";
        }
        return "pass";
      },
    };
    const s = await serve({ faults: plan, retransmitTimeoutMs: 100 });
    const result = await tftpGet({ host: s.host, port: s.port, filename: "medium.bin", retransmitMs: 5000 });
    expect(dropped).toBe(1);
    expect(s.stats.retransmissions).toBeGreaterThanOrEqual(1);
    expect(result.data.equals(tree.files["medium.bin"]!)).toBe(true);
  });

  it("a lost window with windowsize 8 is resent from the client's last good block", async () => {
    const s = await serve({
      faults: {
        onPacket: (ctx) => (ctx.direction === "out" && ctx.blockIndex === 43 && ctx.retransmission === 0 ? "drop" : "pass"),
      },
    });
    // The client notices the gap (block 44 before 43) and ACKs 42 at once; no timeout needed.
    const started = Date.now();
    const result = await tftpGet({ host: s.host, port: s.port, filename: "medium.bin", windowsize: 8, retransmitMs: 5000 });
    expect(Date.now() - started).toBeLessThan(900);
    expect(result.data.equals(tree.files["medium.bin"]!)).toBe(true);
  });

  it("a dropped ACK is recovered: the server retransmits, tftp-hpa re-ACKs the duplicate", async () => {
    let droppedAck = false;
    const s = await serve({
      retransmitTimeoutMs: 200,
      faults: {
        onPacket: (ctx) => {
          if (ctx.direction === "in" && ctx.packet?.op === "ACK" && ctx.packet.block === 7 && !droppedAck) {
            droppedAck = true;
            return "drop";
          }
          return "pass";
        },
      },
    });
    const out = join(tree.outside, "ack-drop.bin");
    const started = Date.now();
    const result = await hpaGet(s.port, "sub/nested.bin", out);
    expect(Date.now() - started).toBeLessThan(2000); // recovered by the 200 ms server timer
    expect(result.exitCode, result.stderr).toBe(0);
    expect(droppedAck).toBe(true);
    expect(readFileSync(out).equals(tree.files["sub/nested.bin"]!)).toBe(true);
  });

  it("delays a packet without breaking the transfer", async () => {
    const s = await serve({
      faults: { onPacket: (ctx) => (ctx.direction === "out" && ctx.blockIndex === 2 ? { delayMs: 300 } : "pass") },
    });
    const started = Date.now();
    const result = await tftpGet({ host: s.host, port: s.port, filename: "block-multiple.bin" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(result.data.equals(tree.files["block-multiple.bin"]!)).toBe(true);
  });

  it("replaces a packet with a chosen ERROR and ends the transfer", async () => {
    const s = await serve({
      faults: {
        onPacket: (ctx) =>
          ctx.direction === "out" && ctx.blockIndex === 3 ? { error: ErrorCode.DISK_FULL, message: "injected" } : "pass",
      },
    });
    await expect(tftpGet({ host: s.host, port: s.port, filename: "medium.bin" })).rejects.toMatchObject({
      code: ErrorCode.DISK_FULL,
      message: expect.stringContaining("injected"),
    });
    await expect.poll(() => s.stats.transfersFailed).toBe(1);
    expect(s.stats.transfersActive).toBe(0);
  });

  it("refuses a request by fault plan (login-style rejection at RRQ)", async () => {
    const s = await serve({
      faults: {
        onPacket: (ctx) => (ctx.packet?.op === "RRQ" ? { error: ErrorCode.FILE_NOT_FOUND, message: "planned" } : "pass"),
      },
    });
    await expect(tftpGet({ host: s.host, port: s.port, filename: "medium.bin" })).rejects.toMatchObject({ code: 1 });
  });

  it("gives up after maxRetries silent timeouts and frees the transfer", async () => {
    const s = await serve({
      retransmitTimeoutMs: 50,
      maxRetries: 3,
      faults: { onPacket: (ctx) => (ctx.direction === "in" && ctx.packet?.op === "ACK" ? "drop" : "pass") },
    });
    await expect(
      tftpGet({ host: s.host, port: s.port, filename: "medium.bin", retransmitMs: 100, maxRetries: 10 }),
    ).rejects.toMatchObject({ code: 0, message: expect.stringContaining("timed out") });
    await expect.poll(() => s.stats.transfersFailed).toBe(1);
    expect(s.stats.retransmissions).toBe(3);
  });
});

describe("close()", () => {
  it("ends transfers in flight with an ERROR and frees every socket", async () => {
    // Sockets of earlier tests finish closing first, so the count is this test's alone.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const before = udpHandles();
    // Stall every transfer after its first block so they are all in flight at close time.
    const s = await serve({
      retransmitTimeoutMs: 60_000,
      faults: { onPacket: (ctx) => (ctx.direction === "out" && (ctx.blockIndex ?? 0) >= 2 ? "drop" : "pass") },
    });
    const clients = Array.from({ length: 5 }, () =>
      tftpGet({ host: s.host, port: s.port, filename: "medium.bin", retransmitMs: 60_000 }).then(
        () => "completed",
        (error: Error) => error.message,
      ),
    );
    await expect.poll(() => s.stats.transfersActive).toBe(5);
    expect(udpHandles()).toBeGreaterThanOrEqual(before + 1 + 5); // listener + 5 transfer sockets (+ clients)
    await s.close();
    expect(await Promise.all(clients)).toEqual(Array(5).fill("server ERROR 0: server shutting down"));
    expect(s.stats.transfersActive).toBe(0);
    await expect.poll(() => udpHandles()).toBe(before);
    await s.close(); // idempotent
  });

  it("names the bad root", async () => {
    await expect(startTftpServer({ root: join(tree.root, "nope") })).rejects.toThrow(/TFTP root '.*nope' is not a directory/);
  });

  it("names the port in use", async () => {
    const s = await serve({});
    await expect(startTftpServer({ root: tree.root, port: s.port })).rejects.toThrow(
      new RegExp(`cannot bind 127.0.0.1:${s.port}.*choose another --port`),
    );
  });
});
