// Many clients at once, and clients that misbehave: 20 parallel downloads stay intact, a
// client that sends half a request or stops reading is cut by its timeout and never holds
// up anyone else, streaming honours backpressure, close() ends every connection.
import { pbkdf2 } from "node:crypto";
import { closeSync, ftruncateSync, openSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type HttpEvent, type HttpServer, type HttpServerOptions, startHttpServer } from "../../../harness/http/index.js";
import type { ServedTree } from "../tftp/fixtures.js";
import { BIG_BYTES, curl, get, makeHttpTree, RawConnection, rawRequest, sha256 } from "./fixtures.js";

let tree: ServedTree;
let server: HttpServer | undefined;
let events: HttpEvent[];

/** A sparse file far larger than every socket buffer on the way (it reads as zeros). */
const HUGE_BYTES = 512 * 1024 * 1024;

beforeEach(() => {
  tree = makeHttpTree();
  const fd = openSync(join(tree.root, "huge.bin"), "w");
  ftruncateSync(fd, HUGE_BYTES);
  closeSync(fd);
  events = [];
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  tree.cleanup();
});

async function serve(options: Partial<HttpServerOptions> = {}) {
  server = await startHttpServer({ root: tree.root, logger: (e) => events.push(e), ...options });
  return server;
}

describe("concurrent clients", () => {
  it("20 parallel curl downloads of a 4 MiB file all arrive intact", async () => {
    const s = await serve();
    const outs = Array.from({ length: 20 }, (_, i) => join(tree.outside, `par-${i}.bin`));
    const results = await Promise.all(outs.map((out) => curl(["-f", "-o", out, s.url("big.bin")])));
    const digest = sha256(tree.files["big.bin"]!);
    for (const [i, result] of results.entries()) {
      expect(result.exitCode, Buffer.from(result.stderr).toString()).toBe(0);
      expect(sha256(readFileSync(outs[i]!))).toBe(digest);
    }
    await expect.poll(() => events.filter((e) => e.kind === "request" && e.complete).length).toBe(20);
    expect(s.stats.bytesSent).toBe(20 * BIG_BYTES);
    expect(s.stats.connections).toBe(20);
  });
});

describe("a busy thread pool", () => {
  it("a response whose client closes as soon as it has every byte is logged complete", async () => {
    // Keep libuv's thread pool busy, so that each file operation (and closing the file after
    // the last chunk) waits its turn: curl closes the connection as soon as it has the
    // Content-Length, and a response not yet ended then would be logged as cut.
    let busy = true;
    const keepBusy = async () => {
      while (busy) await new Promise((resolve) => pbkdf2("x", "y", 20_000, 32, "sha256", resolve));
    };
    const workers = Array.from({ length: 8 }, keepBusy);
    try {
      const s = await serve();
      for (let i = 0; i < 3; i++) {
        const result = await curl(["-f", "-o", join(tree.outside, "small.txt"), s.url("boot.ipxe")]);
        expect(result.exitCode, Buffer.from(result.stderr).toString()).toBe(0);
      }
      await expect.poll(() => events.filter((e) => e.kind === "request").length, { timeout: 10_000 }).toBe(3);
      expect(events.filter((e) => e.kind === "request").map((e) => e.kind === "request" && e.complete)).toEqual([
        true,
        true,
        true,
      ]);
    } finally {
      busy = false;
      await Promise.all(workers);
    }
  });
});

describe("stalled clients", () => {
  it("a client that sent half a request gets 408 at the headers timeout; others are served meanwhile", async () => {
    const s = await serve({ headersTimeoutMs: 400 });
    const half = await RawConnection.open(s.port);
    const startedAt = Date.now();
    half.send("GET /boot.ipxe HTTP/1.1\r\nHost: t\r\n"); // no blank line: the head never ends
    // Meanwhile a full download goes through.
    const other = await curl(["-f", "-o", "-", s.url("medium.bin")]);
    expect(other.exitCode).toBe(0);
    expect(Buffer.from(other.stdout).equals(tree.files["medium.bin"]!)).toBe(true);
    const answer = await half.readResponse({ timeoutMs: 5_000 });
    expect(answer.status).toBe(408);
    await half.closed;
    const elapsed = Date.now() - startedAt;
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(3_000);
    expect(events).toContainEqual(expect.objectContaining({ kind: "client-error", code: "ERR_HTTP_REQUEST_TIMEOUT" }));
  });

  it("a client that connects and sends nothing is closed at the idle timeout", async () => {
    const s = await serve({ idleTimeoutMs: 400, headersTimeoutMs: 60_000 });
    const silent = await RawConnection.open(s.port);
    await silent.closed;
    expect(events).toContainEqual(expect.objectContaining({ kind: "timeout", during: "first-request" }));
  });

  it("a client that stops reading mid-file holds only its own stream (backpressure) and is cut when idle", async () => {
    const s = await serve({ idleTimeoutMs: 1_000 });
    const stuck = connect(s.port, "127.0.0.1");
    stuck.on("error", () => undefined);
    await new Promise<void>((resolve) => stuck.once("connect", resolve));
    stuck.pause(); // reads nothing, ever
    stuck.write(get("/huge.bin"));
    // While it is stuck, other clients are served at full speed.
    for (let i = 0; i < 3; i++) {
      const startedAt = Date.now();
      const response = await rawRequest(s.port, get("/big.bin"));
      expect(response.body.length).toBe(BIG_BYTES);
      expect(Date.now() - startedAt).toBeLessThan(2_000);
    }
    await expect.poll(() => events.find((e) => e.kind === "request" && e.path === "/huge.bin"), { timeout: 10_000 }).toBeTruthy();
    const cut = events.find((e) => e.kind === "request" && e.path === "/huge.bin");
    // Without backpressure the whole 512 MiB would have been read into memory by now.
    expect(cut).toMatchObject({ status: 200, complete: false });
    expect((cut as { bytes: number }).bytes).toBeLessThan(64 * 1024 * 1024);
    expect(events).toContainEqual(expect.objectContaining({ kind: "timeout", during: "response" }));
    // The cut response's file is closed (no descriptor of it left open in this process).
    await expect.poll(() => openFilesNamed("huge.bin"), { timeout: 5_000 }).toEqual([]);
    stuck.destroy();
  });

  it("an idle keep-alive connection is closed at the keep-alive timeout", async () => {
    const s = await serve({ keepAliveTimeoutMs: 300 });
    const connection = await RawConnection.open(s.port);
    connection.send(get("/boot.ipxe"));
    expect((await connection.readResponse()).status).toBe(200);
    const servedAt = Date.now();
    await connection.closed;
    expect(Date.now() - servedAt).toBeLessThan(3_000);
    expect(events).toContainEqual(expect.objectContaining({ kind: "timeout", during: "keep-alive" }));
  });

  it("close() ends every connection at once: half requests, stuck readers, keep-alive", async () => {
    const s = await serve({ headersTimeoutMs: 60_000, idleTimeoutMs: 60_000, keepAliveTimeoutMs: 60_000 });
    const half = await RawConnection.open(s.port);
    half.send("GET /boot.ipxe HTTP/1.1\r\n");
    const stuck = await RawConnection.open(s.port);
    stuck.socket.pause();
    stuck.send(get("/huge.bin"));
    const idle = await RawConnection.open(s.port);
    idle.send(get("/boot.ipxe"));
    await idle.readResponse();
    await expect.poll(() => s.stats.connectionsActive).toBe(3);
    const startedAt = Date.now();
    await s.close();
    expect(Date.now() - startedAt).toBeLessThan(2_000);
    expect(s.stats.connectionsActive).toBe(0);
    await Promise.all([half.closed, idle.closed]);
    stuck.close();
    const refused = await new Promise<string>((resolve) => {
      const probe = connect(s.port, "127.0.0.1");
      probe.once("connect", () => resolve("connected"));
      probe.once("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    });
    expect(refused).toBe("ECONNREFUSED");
    expect(events.at(-1)).toMatchObject({ kind: "closed" });
  });
});

function openFilesNamed(name: string): string[] {
  return readdirSync("/proc/self/fd")
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return ""; // closed while listed
      }
    })
    .filter((target) => target.endsWith(`/${name}`));
}
