// The HTTP server against curl (an independent client) and hand-written requests: GET and
// HEAD, ranges in every form, 405, keep-alive, logging without query strings, start-up errors.
import { readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../harness/errors.js";
import { startHttpServer } from "../../../harness/http/index.js";
import { BIG_BYTES, curl, get, RawConnection, rawRequest, sha256, useSharedServer } from "./fixtures.js";

const shared = useSharedServer();

const port = () => shared.server.port;
const big = () => shared.tree.files["big.bin"]!;

describe("serving files", () => {
  it("binds loopback on an ephemeral port and builds URLs with encoded segments", () => {
    expect(shared.server.host).toBe("127.0.0.1");
    expect(shared.server.port).toBeGreaterThan(1023);
    expect(shared.server.url("sub/with space&more.txt")).toBe(`http://127.0.0.1:${port()}/sub/with%20space%26more.txt`);
    expect(shared.server.url("/boot.ipxe", "10.0.2.2")).toBe(`http://10.0.2.2:${port()}/boot.ipxe`);
  });

  it("curl downloads files intact (big, nested, encoded name, symlink inside the root, empty)", async () => {
    for (const [name, expected] of [
      ["big.bin", big()],
      ["sub/nested.bin", shared.tree.files["sub/nested.bin"]!],
      ["sub/with space&more.txt", shared.tree.files["sub/with space&more.txt"]!],
      ["inside-link", shared.tree.files["medium.bin"]!],
      ["empty.bin", Buffer.alloc(0)],
    ] as const) {
      const out = join(shared.tree.outside, `curl-${name.replaceAll("/", "_")}`);
      const result = await curl(["-f", "-o", out, shared.server.url(name)]);
      expect(result.exitCode, `${name}: ${Buffer.from(result.stderr).toString()}`).toBe(0);
      expect(sha256(readFileSync(out)), name).toBe(sha256(expected));
    }
  });

  it("answers GET with length, type, validators and Accept-Ranges", async () => {
    const response = await rawRequest(port(), get("/boot.ipxe"));
    expect(response.status).toBe(200);
    expect(response.body.equals(shared.tree.files["boot.ipxe"]!)).toBe(true);
    expect(response.headers["content-length"]).toBe(String(shared.tree.files["boot.ipxe"]!.length));
    expect(response.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(response.headers["accept-ranges"]).toBe("bytes");
    expect(response.headers.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(new Date(response.headers["last-modified"]!).getTime()).toBeGreaterThan(0);
    expect((await rawRequest(port(), get("/medium.bin"))).headers["content-type"]).toBe("application/octet-stream");
  });

  it("answers HEAD with the GET headers and no body (curl -I, then a GET on the same connection)", async () => {
    const viaCurl = await curl(["-I", shared.server.url("big.bin")]);
    const text = Buffer.from(viaCurl.stdout).toString();
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(text).toMatch(new RegExp(`Content-Length: ${BIG_BYTES}\\r\\n`, "i"));
    // Raw: if the HEAD answer carried a body, the GET answer after it would not parse.
    const connection = await RawConnection.open(port());
    connection.send(`HEAD /big.bin HTTP/1.1\r\nHost: t\r\n\r\n${get("/boot.ipxe")}`);
    const head = await connection.readResponse({ head: true });
    expect(head.status).toBe(200);
    expect(head.headers["content-length"]).toBe(String(BIG_BYTES));
    const after = await connection.readResponse();
    expect(after.status).toBe(200);
    expect(after.body.equals(shared.tree.files["boot.ipxe"]!)).toBe(true);
    connection.close();
  });

  it.each(["POST", "PUT", "DELETE", "OPTIONS", "PATCH"])("%s is 405 with Allow: GET, HEAD", async (method) => {
    const response = await rawRequest(port(), `${method} /medium.bin HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc`);
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe("GET, HEAD");
    expect(readFileSync(join(shared.tree.root, "medium.bin")).equals(shared.tree.files["medium.bin"]!)).toBe(true);
  });

  it("keeps the connection alive: several requests (pipelined too) on one connection", async () => {
    const connection = await RawConnection.open(port());
    const connectionsBefore = shared.server.stats.connections;
    for (const name of ["boot.ipxe", "sub/nested.bin", "block-multiple.bin"]) {
      connection.send(get(`/${name}`));
      const response = await connection.readResponse();
      expect(response.status, name).toBe(200);
      expect(response.headers.connection).toBe("keep-alive");
      expect(response.body.equals(shared.tree.files[name]!), name).toBe(true);
    }
    // Pipelined: three requests in one write, three answers in order.
    connection.send(get("/boot.ipxe") + get("/missing") + get("/medium.bin", "Range: bytes=0-3\r\n"));
    expect((await connection.readResponse()).status).toBe(200);
    expect((await connection.readResponse()).status).toBe(404);
    const ranged = await connection.readResponse();
    expect(ranged.status).toBe(206);
    expect(ranged.body.equals(shared.tree.files["medium.bin"]!.subarray(0, 4))).toBe(true);
    expect(connection.ended).toBe(false);
    expect(shared.server.stats.connections).toBe(connectionsBefore);
    connection.close();
  });

  it("curl reuses one connection for several URLs", async () => {
    const result = await curl([
      "-v",
      "-o",
      "/dev/null",
      "-o",
      "/dev/null",
      shared.server.url("boot.ipxe"),
      shared.server.url("medium.bin"),
    ]);
    expect(result.exitCode).toBe(0);
    expect(Buffer.from(result.stderr).toString()).toMatch(/Re-using existing connection/);
  });

  it("Connection: close is honoured", async () => {
    const connection = await RawConnection.open(port());
    connection.send(get("/boot.ipxe", "Connection: close\r\n"));
    expect((await connection.readResponse()).headers.connection).toBe("close");
    await connection.closed;
    expect(connection.ended).toBe(true);
  });
});

describe("range requests (RFC 9110 §14)", () => {
  const size = BIG_BYTES;
  it.each([
    ["bytes=0-99", 0, 99],
    ["bytes=100-", 100, size - 1],
    ["bytes=-500", size - 500, size - 1],
    ["bytes=10-10", 10, 10],
    [`bytes=${size - 10}-${size * 2}`, size - 10, size - 1],
    [`bytes=-${size * 3}`, 0, size - 1],
    ["BYTES = 5-9", 5, 9],
  ])("%s → 206 bytes %i-%i", async (range, first, last) => {
    const response = await rawRequest(port(), get("/big.bin", `Range: ${range}\r\n`));
    expect(response.status).toBe(206);
    expect(response.headers["content-range"]).toBe(`bytes ${first}-${last}/${size}`);
    expect(response.headers["content-length"]).toBe(String(last - first + 1));
    expect(response.body.equals(big().subarray(first, last + 1))).toBe(true);
  });

  it.each([
    `bytes=${BIG_BYTES}-`,
    `bytes=${BIG_BYTES + 5}-${BIG_BYTES + 9}`,
    "bytes=-0",
    `bytes=${BIG_BYTES}-,${BIG_BYTES + 1}-`,
  ])("%s → 416 with Content-Range: bytes */size", async (range) => {
    const response = await rawRequest(port(), get("/big.bin", `Range: ${range}\r\n`));
    expect(response.status).toBe(416);
    expect(response.headers["content-range"]).toBe(`bytes */${BIG_BYTES}`);
  });

  it.each([
    ["several ranges", "bytes=0-1,5-6"],
    ["unknown unit", "items=0-1"],
    ["last before first", "bytes=9-5"],
    ["garbage", "bytes=abc"],
  ])("%s (%s) → 200 with the whole file", async (_what, range) => {
    const response = await rawRequest(port(), get("/medium.bin", `Range: ${range}\r\n`));
    expect(response.status).toBe(200);
    expect(response.headers["content-range"]).toBeUndefined();
    expect(response.body.equals(shared.tree.files["medium.bin"]!)).toBe(true);
  });

  it("an empty file answers any first-pos range with 416", async () => {
    const response = await rawRequest(port(), get("/empty.bin", "Range: bytes=0-\r\n"));
    expect(response.status).toBe(416);
    expect(response.headers["content-range"]).toBe("bytes */0");
  });

  it("HEAD ignores Range (range handling is defined for GET only)", async () => {
    const response = await rawRequest(port(), "HEAD /big.bin HTTP/1.1\r\nHost: t\r\nRange: bytes=0-9\r\n\r\n", { head: true });
    expect(response.status).toBe(200);
    expect(response.headers["content-length"]).toBe(String(BIG_BYTES));
  });

  it("If-Range: a matching ETag or date keeps the range, anything else gets the whole file", async () => {
    const { headers } = await rawRequest(port(), get("/medium.bin"));
    const ranged = (ifRange: string) => rawRequest(port(), get("/medium.bin", `Range: bytes=0-9\r\nIf-Range: ${ifRange}\r\n`));
    expect((await ranged(headers.etag!)).status).toBe(206);
    expect((await ranged(headers["last-modified"]!)).status).toBe(206);
    expect((await ranged('"other"')).status).toBe(200);
    expect((await ranged(`W/${headers.etag}`)).status).toBe(200);
    expect((await ranged("Thu, 01 Jan 1970 00:00:00 GMT")).status).toBe(200);
  });

  it("curl -r and curl resuming a partial download (-C -) get the right bytes", async () => {
    const out = join(shared.tree.outside, "curl-range.bin");
    const result = await curl(["-f", "-r", "1000-1999", "-o", out, shared.server.url("big.bin")]);
    expect(result.exitCode).toBe(0);
    expect(readFileSync(out).equals(big().subarray(1000, 2000))).toBe(true);
    const resumed = join(shared.tree.outside, "curl-resume.bin");
    writeFileSync(resumed, big().subarray(0, 1_000_000));
    const resume = await curl(["-f", "-C", "-", "-o", resumed, shared.server.url("big.bin")]);
    expect(resume.exitCode, Buffer.from(resume.stderr).toString()).toBe(0);
    expect(sha256(readFileSync(resumed))).toBe(sha256(big()));
  });
});

describe("logging", () => {
  it("logs method, path, status, bytes and range, never the query string", async () => {
    const response = await rawRequest(port(), get("/medium.bin?token=hunter2-secret&x=1", "Range: bytes=2-5\r\n"));
    expect(response.status).toBe(206);
    await rawRequest(port(), get("/missing.bin?password=hunter2-secret"));
    await expect.poll(() => shared.events.some((e) => e.kind === "refused" && e.path === "/missing.bin")).toBe(true);
    const served = shared.events.find((e) => e.kind === "request" && e.range?.first === 2);
    expect(served).toMatchObject({ method: "GET", path: "/medium.bin", status: 206, bytes: 4, complete: true });
    expect(shared.events.find((e) => e.kind === "refused" && e.path === "/missing.bin")).toMatchObject({
      status: 404,
      reason: "not-found",
    });
    expect(JSON.stringify(shared.events)).not.toContain("hunter2");
  });
});

describe("start-up errors", () => {
  it("a port in use is an InputError naming the port and the fix", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const attempt = startHttpServer({ root: shared.tree.root, port: taken });
      await expect(attempt).rejects.toThrow(InputError);
      await expect(attempt).rejects.toThrow(
        new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken}: port ${taken} is already in use.*choose another --port, or 0`),
      );
    } finally {
      blocker.close();
    }
  });

  it("a root that is not a directory is an InputError", async () => {
    await expect(startHttpServer({ root: join(shared.tree.root, "medium.bin") })).rejects.toThrow(
      /HTTP root '.*medium\.bin' is not a directory/,
    );
  });
});
