// Fault plans: validated with zod (every problem named at once), matched by path (exact or
// glob), method and count (nth / after / times), and each action as a client sees it:
// delay, stall, status, drop mid-body, truncate. With no plan the injector never runs.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { InputError } from "../../../harness/errors.js";
import { HttpFaultInjector, parseHttpFaultPlan, pathPattern } from "../../../harness/http/faults.js";
import {
  type HttpEvent,
  type HttpFaultPlanInput,
  type HttpServer,
  type HttpServerOptions,
  startHttpServer,
} from "../../../harness/http/index.js";
import type { ServedTree } from "../tftp/fixtures.js";
import { BIG_BYTES, curl, get, makeHttpTree, RawConnection, rawRequest } from "./fixtures.js";

let tree: ServedTree;
let server: HttpServer | undefined;
let events: HttpEvent[];

beforeEach(() => {
  tree = makeHttpTree();
  events = [];
});
afterEach(async () => {
  vi.restoreAllMocks();
  await server?.close();
  server = undefined;
  tree.cleanup();
});

async function serve(faults: HttpFaultPlanInput | undefined, options: Partial<HttpServerOptions> = {}) {
  server = await startHttpServer({ root: tree.root, faults, logger: (e) => events.push(e), ...options });
  return server;
}

const statusOf = async (s: HttpServer, target: string) => (await rawRequest(s.port, get(target))).status;

describe("fault plan validation", () => {
  it("names every problem with its path, at once", () => {
    let message = "";
    try {
      parseHttpFaultPlan({
        rules: [
          { action: { kind: "status", code: 200 } },
          { match: { path: "boot.ipxe" }, action: { kind: "explode" } },
          { action: { kind: "delay", ms: 5 }, nth: 1, times: 2 },
          { action: { kind: "drop", afterBytes: -1 }, match: { method: "POST" } },
        ],
      });
    } catch (error) {
      expect(error).toBeInstanceOf(InputError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/^HTTP fault plan is invalid:/);
    expect(message).toMatch(/rules\[0\]\.action\.code: Too small: expected number to be >=400/);
    expect(message).toMatch(/rules\[1\]\.match\.path: a path pattern starts with '\/'/);
    expect(message).toMatch(/rules\[1\]\.action/);
    expect(message).toMatch(/rules\[2\]\.nth: nth already means after: nth-1, times: 1/);
    expect(message).toMatch(/rules\[3\]\.action\.afterBytes/);
    expect(message).toMatch(/rules\[3\]\.match\.method/);
  });

  it("startHttpServer refuses an invalid plan before binding", async () => {
    await expect(
      serve({ rules: [{ action: { kind: "stall", forever: true } }] } as unknown as HttpFaultPlanInput),
    ).rejects.toThrow(/rules\[0\]\.action: Unrecognized key: "forever"/);
  });

  it("globs: * and ? stay in a segment, ** crosses segments", () => {
    expect(pathPattern("/boot.ipxe").test("/boot.ipxe")).toBe(true);
    expect(pathPattern("/boot.ipxe").test("/bootxipxe")).toBe(false);
    expect(pathPattern("/sub/*").test("/sub/nested.bin")).toBe(true);
    expect(pathPattern("/sub/*").test("/sub/a/b")).toBe(false);
    expect(pathPattern("/**").test("/sub/a/b")).toBe(true);
    expect(pathPattern("/images/**.img").test("/images/x/y.img")).toBe(true);
    expect(pathPattern("/k?rnel").test("/kernel")).toBe(true);
    expect(pathPattern("/k?rnel").test("/k/rnel")).toBe(false);
    expect(pathPattern("/a+(b)").test("/a+(b)")).toBe(true);
  });

  it("counts per rule: nth, after and times", () => {
    const injector = new HttpFaultInjector(
      parseHttpFaultPlan({
        rules: [
          { match: { path: "/a" }, action: { kind: "status", code: 500 }, nth: 2 },
          { match: { path: "/b" }, action: { kind: "status", code: 503 }, after: 1, times: 2 },
        ],
      }),
    );
    const fired = (path: string) => Array.from({ length: 5 }, () => injector.decide({ method: "GET", path })?.rule ?? "-");
    expect(fired("/a")).toEqual(["-", 0, "-", "-", "-"]);
    expect(fired("/b")).toEqual(["-", 1, 1, "-", "-"]);
  });

  it("with no plan the injector is never consulted", async () => {
    const decide = vi.spyOn(HttpFaultInjector.prototype, "decide");
    const s = await serve(undefined);
    expect(await statusOf(s, "/boot.ipxe")).toBe(200);
    expect(decide).not.toHaveBeenCalled();
    expect(s.stats.faults).toBe(0);
  });
});

describe("fault actions on the wire", () => {
  it("status: the 2nd GET of /boot.ipxe is a 503, the others are served", async () => {
    const s = await serve({ rules: [{ match: { path: "/boot.ipxe" }, action: { kind: "status", code: 503 }, nth: 2 }] });
    expect([await statusOf(s, "/boot.ipxe"), await statusOf(s, "/boot.ipxe"), await statusOf(s, "/boot.ipxe")]).toEqual([
      200, 503, 200,
    ]);
    expect(await statusOf(s, "/medium.bin")).toBe(200);
    expect(events.filter((e) => e.kind === "fault")).toEqual([
      { kind: "fault", connection: 2, method: "GET", path: "/boot.ipxe", rule: 0, action: "status" },
    ]);
    expect(events).toContainEqual(expect.objectContaining({ kind: "request", path: "/boot.ipxe", status: 503 }));
  });

  it("status 404 for a file that exists, matched by glob and method", async () => {
    const s = await serve({ rules: [{ match: { path: "/sub/*", method: "HEAD" }, action: { kind: "status", code: 404 } }] });
    const head = await rawRequest(s.port, "HEAD /sub/nested.bin HTTP/1.1\r\nHost: t\r\n\r\n", { head: true });
    expect(head.status).toBe(404);
    expect(await statusOf(s, "/sub/nested.bin")).toBe(200); // GET is not matched
  });

  it("delay: the matched request waits, the others do not", async () => {
    const s = await serve({ rules: [{ match: { path: "/medium.bin" }, action: { kind: "delay", ms: 700 } }] });
    const slow = (async () => {
      const startedAt = Date.now();
      const response = await rawRequest(s.port, get("/medium.bin"));
      return { ms: Date.now() - startedAt, response };
    })();
    const fastStart = Date.now();
    expect(await statusOf(s, "/boot.ipxe")).toBe(200);
    expect(Date.now() - fastStart).toBeLessThan(500);
    const { ms, response } = await slow;
    expect(ms).toBeGreaterThanOrEqual(690);
    expect(response.body.equals(tree.files["medium.bin"]!)).toBe(true);
  });

  it("stall: accepted, never answered, outlives the idle timeout; others are served; close() ends it", async () => {
    const s = await serve({ rules: [{ match: { path: "/boot.ipxe" }, action: { kind: "stall" } }] }, { idleTimeoutMs: 300 });
    const stalled = await RawConnection.open(s.port);
    stalled.send(get("/boot.ipxe"));
    await expect(stalled.readResponse({ timeoutMs: 1_200 })).rejects.toThrow(/no complete response within/);
    expect(stalled.ended).toBe(false);
    expect(stalled.pending.length).toBe(0);
    expect(await statusOf(s, "/medium.bin")).toBe(200);
    await s.close();
    await stalled.closed;
    expect(events.filter((e) => e.kind === "fault").map((e) => (e as { action: string }).action)).toEqual(["stall"]);
  });

  it("drop: headers promise the whole file, the connection ends after N body bytes", async () => {
    const s = await serve({ rules: [{ match: { path: "/big.bin" }, action: { kind: "drop", afterBytes: 100_000 } }] });
    const out = join(tree.outside, "dropped.bin");
    const result = await curl(["-o", out, s.url("big.bin")]);
    expect(result.exitCode).toBe(18); // CURLE_PARTIAL_FILE
    expect(readFileSync(out).equals(tree.files["big.bin"]!.subarray(0, 100_000))).toBe(true);
    // Raw: full Content-Length, exactly N bytes, then the connection closes.
    const connection = await RawConnection.open(s.port);
    connection.send(get("/big.bin", "Range: bytes=1000-\r\n"));
    await connection.closed;
    const text = connection.pending;
    const headEnd = text.indexOf("\r\n\r\n") + 4;
    expect(text.subarray(0, headEnd).toString()).toMatch(new RegExp(`Content-Length: ${BIG_BYTES - 1000}\\r\\n`, "i"));
    expect(text.subarray(headEnd).equals(tree.files["big.bin"]!.subarray(1000, 101_000))).toBe(true);
    await expect
      .poll(() => events.filter((e) => e.kind === "request" && !e.complete).map((e) => (e as { bytes: number }).bytes))
      .toEqual([100_000, 100_000]);
  });

  it("drop after 0 bytes: the status line and headers, then nothing", async () => {
    const s = await serve({ rules: [{ action: { kind: "drop", afterBytes: 0 } }] });
    const connection = await RawConnection.open(s.port);
    connection.send(get("/medium.bin"));
    await connection.closed;
    const text = connection.pending.toString("latin1");
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text.endsWith("\r\n\r\n")).toBe(true);
  });

  it("truncate: a complete, consistent, shorter file; the connection stays usable", async () => {
    const s = await serve({ rules: [{ match: { path: "/medium.bin" }, action: { kind: "truncate", bytes: 1234 } }] });
    const connection = await RawConnection.open(s.port);
    connection.send(get("/medium.bin"));
    const short = await connection.readResponse();
    expect(short.status).toBe(200);
    expect(short.headers["content-length"]).toBe("1234");
    expect(short.body.equals(tree.files["medium.bin"]!.subarray(0, 1234))).toBe(true);
    connection.send(get("/medium.bin", "Range: bytes=2000-\r\n"));
    const beyond = await connection.readResponse();
    expect(beyond.status).toBe(416);
    expect(beyond.headers["content-range"]).toBe("bytes */1234");
    connection.send(get("/boot.ipxe"));
    expect((await connection.readResponse()).body.equals(tree.files["boot.ipxe"]!)).toBe(true);
    connection.close();
  });

  it("the first matching rule decides; times bounds a rule", async () => {
    const s = await serve({
      rules: [
        { match: { path: "/boot.ipxe" }, action: { kind: "status", code: 500 }, times: 1 },
        { match: { path: "/**" }, action: { kind: "status", code: 503 }, after: 2 },
      ],
    });
    const statuses = [];
    for (const path of ["/boot.ipxe", "/boot.ipxe", "/medium.bin", "/medium.bin"]) statuses.push(await statusOf(s, path));
    // /boot.ipxe #1 → rule 0; #2 → rule 1 (its 1st match, skipped); /medium.bin → rule 1's 2nd (skipped), 3rd (fires).
    expect(statuses).toEqual([500, 200, 200, 503]);
  });
});
