// The TFTP server against real UDP clients: curl and tftp-hpa (independent implementations)
// and our option-aware client for blksize/tsize/timeout/windowsize and error paths.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { tftpExchange, tftpGet } from "../../../harness/tftp/client.js";
import { decodePacket, ErrorCode, encodeAck, encodeRequest } from "../../../harness/tftp/packets.js";
import { startTftpServer, type TftpServer } from "../../../harness/tftp/server.js";
import { toNetascii } from "../../../harness/tftp/source.js";
import { curlGet, hpaGet, makeServedTree, type ServedTree, sha256 } from "./fixtures.js";

let tree: ServedTree;
let server: TftpServer;
let outDir: string;

beforeAll(async () => {
  tree = makeServedTree({ withRollover: true });
  outDir = tree.outside;
  server = await startTftpServer({ root: tree.root });
});
afterAll(async () => {
  await server?.close();
  tree?.cleanup();
});

const port = () => server.port;
const get = (filename: string, extra: Partial<Parameters<typeof tftpGet>[0]> = {}) =>
  tftpGet({ host: "127.0.0.1", port: port(), filename, ...extra });

describe("serving files to real clients", () => {
  it("binds loopback on an ephemeral port by default", () => {
    expect(server.host).toBe("127.0.0.1");
    expect(server.port).toBeGreaterThan(1023);
  });

  it.each([undefined, 1468, 8192])("curl fetches an intact file (blksize %s)", async (blksize) => {
    const out = join(outDir, `curl-${blksize}.bin`);
    const result = await curlGet(port(), "medium.bin", out, blksize);
    expect(result.stderr).toBe("");
    expect(result.exitCode).toBe(0);
    expect(sha256(readFileSync(out))).toBe(sha256(tree.files["medium.bin"]!));
  });

  it("curl fetches exact block multiples, nested paths and links inside the root", async () => {
    // Not empty.bin: curl 7.88 fails any empty TFTP file with "getpeername() failed"
    // (tftpd-hpa too), so the empty file is checked with tftp-hpa below.
    for (const name of ["block-multiple.bin", "sub/nested.bin", "inside-link"]) {
      const out = join(outDir, `curl-${name.replace("/", "_")}`);
      const result = await curlGet(port(), name, out);
      expect(result.exitCode, `${name}: ${result.stderr}`).toBe(0);
      const expected = name === "inside-link" ? tree.files["medium.bin"]! : tree.files[name]!;
      expect(readFileSync(out).equals(expected), name).toBe(true);
    }
  });

  it.each(["medium.bin", "empty.bin", "block-multiple.bin"])("tftp-hpa fetches %s in binary mode", async (name) => {
    const out = join(outDir, `hpa-${name}`);
    const result = await hpaGet(port(), name, out, "binary");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(`${result.stdout}${result.stderr}`).toBe("");
    expect(sha256(readFileSync(out))).toBe(sha256(tree.files[name]!));
  });

  it("tftp-hpa in netascii mode gets the text back unchanged (CR LF and CR NUL decoded)", async () => {
    const out = join(outDir, "hpa.ipxe");
    const result = await hpaGet(port(), "boot.ipxe", out, "ascii");
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readFileSync(out).toString()).toBe(tree.files["boot.ipxe"]!.toString());
    // And on the wire it really was netascii.
    const wire = await get("boot.ipxe", { mode: "netascii" });
    expect(wire.data.equals(toNetascii(tree.files["boot.ipxe"]!))).toBe(true);
  });

  it("block numbers roll over past 65535 (curl, blksize 512, sha256 compare)", async () => {
    const out = join(outDir, "rollover.bin");
    const result = await curlGet(port(), "rollover.bin", out);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(sha256(readFileSync(out))).toBe(sha256(tree.files["rollover.bin"]!));
  });

  it("block numbers roll over with windowsize too (own client)", async () => {
    const result = await get("rollover.bin", { windowsize: 8 });
    expect(result.blocks).toBe(65538);
    expect(sha256(result.data)).toBe(sha256(tree.files["rollover.bin"]!));
  });

  it("serves many concurrent transfers, each from its own port", async () => {
    // Earlier clients may exit before the server has seen their final ACK: settle first.
    await vi.waitFor(() => expect(server.stats.transfersActive).toBe(0));
    const before = server.stats.transfersCompleted;
    const ours = Array.from({ length: 12 }, (_, i) => get("medium.bin", { blksize: 1024 + i, windowsize: 1 + (i % 4) }));
    const curls = Array.from({ length: 8 }, (_, i) => curlGet(port(), "medium.bin", join(outDir, `par-${i}.bin`), 1468));
    const [results, curlResults] = await Promise.all([Promise.all(ours), Promise.all(curls)]);
    const digest = sha256(tree.files["medium.bin"]!);
    for (const r of results) expect(sha256(r.data)).toBe(digest);
    for (const [i, r] of curlResults.entries()) {
      expect(r.exitCode, r.stderr).toBe(0);
      expect(sha256(readFileSync(join(outDir, `par-${i}.bin`)))).toBe(digest);
    }
    expect(new Set(results.map((r) => r.serverPort)).size).toBe(12);
    expect(results.every((r) => r.serverPort !== port())).toBe(true);
    // The server counts a transfer when the final ACK arrives, just after the client is done.
    await vi.waitFor(() => expect(server.stats.transfersCompleted - before).toBe(20));
  });
});

describe("option negotiation", () => {
  it("acknowledges blksize, tsize, timeout and windowsize in an OACK", async () => {
    const result = await get("medium.bin", { blksize: 1468, tsize: true, timeoutSeconds: 3, windowsize: 4 });
    expect(Object.fromEntries(result.oack!)).toEqual({
      blksize: "1468",
      tsize: String(tree.files["medium.bin"]!.length),
      timeout: "3",
      windowsize: "4",
    });
    expect(result.blocks).toBe(Math.floor(1_500_000 / 1468) + 1);
    expect(result.data.equals(tree.files["medium.bin"]!)).toBe(true);
  });

  it("clamps blksize above 65464 and answers with the value used", async () => {
    const result = await get("medium.bin", { blksize: 65535 });
    expect(result.oack!.get("blksize")).toBe("65464");
    expect(result.data.equals(tree.files["medium.bin"]!)).toBe(true);
  });

  it("caps windowsize at the server limit", async () => {
    const result = await get("medium.bin", { windowsize: 1000 });
    expect(result.oack!.get("windowsize")).toBe("64");
    expect(result.data.equals(tree.files["medium.bin"]!)).toBe(true);
  });

  it("refuses blksize below 8 with ERROR 8", async () => {
    await expect(get("medium.bin", { blksize: 4 })).rejects.toMatchObject({ code: ErrorCode.OPTION_REFUSED });
  });

  it("ignores an out-of-range timeout and unknown options (no OACK: DATA 1 comes first)", async () => {
    const reply = await tftpExchange(
      "127.0.0.1",
      port(),
      encodeRequest("RRQ", "block-multiple.bin", "octet", { timeout: 0, frobnicate: 7 }),
    );
    expect(reply.packet).toMatchObject({ op: "DATA", block: 1 });
  });

  it("tsize of an empty file is 0 and the transfer is one empty block", async () => {
    const result = await get("empty.bin", { tsize: true });
    expect(result.oack!.get("tsize")).toBe("0");
    expect(result.blocks).toBe(1);
    expect(result.data.length).toBe(0);
  });
});

describe("refusals", () => {
  const refused = async (filename: string) => {
    const reply = await tftpExchange("127.0.0.1", port(), encodeRequest("RRQ", filename));
    expect(reply.packet?.op, filename).toBe("ERROR");
    expect(reply.port, "errors come from a fresh TID").not.toBe(port());
    return reply.packet as { op: "ERROR"; code: number; message: string };
  };

  it.each([
    ["../etc/passwd", ErrorCode.ACCESS_VIOLATION],
    ["/etc/passwd", ErrorCode.ACCESS_VIOLATION],
    ["a/../../x", ErrorCode.ACCESS_VIOLATION],
    ["sub/../../outside/secret", ErrorCode.ACCESS_VIOLATION],
    ["escape-link", ErrorCode.ACCESS_VIOLATION],
    ["escape-dir/secret", ErrorCode.ACCESS_VIOLATION],
    ["sub", ErrorCode.ACCESS_VIOLATION],
    ["missing.bin", ErrorCode.FILE_NOT_FOUND],
    ["medium.bin/x", ErrorCode.FILE_NOT_FOUND],
  ])("%s → ERROR %i", async (filename, code) => {
    const error = await refused(filename);
    expect(error.code).toBe(code);
    expect(error.message).not.toContain("outside the root\n");
  });

  it("refuses control bytes in a filename", async () => {
    expect((await refused("boot\x01.ipxe")).code).toBe(ErrorCode.ACCESS_VIOLATION);
  });

  it("refuses a request whose filename is not NUL-terminated (embedded NUL games)", async () => {
    const bytes = Buffer.concat([encodeRequest("RRQ", "medium.bin"), Buffer.from("x")]);
    const reply = await tftpExchange("127.0.0.1", port(), bytes);
    expect(reply.packet).toMatchObject({ op: "ERROR", code: ErrorCode.ILLEGAL_OPERATION });
  });

  it("curl and tftp-hpa see the refusals too", async () => {
    const out = join(outDir, "never");
    const viaCurl = await curlGet(port(), "escape-link", out);
    expect(viaCurl.exitCode).not.toBe(0);
    const viaHpa = await hpaGet(port(), "../outside/secret", out);
    expect(`${viaHpa.stdout}${viaHpa.stderr}`).toMatch(/Error code 2/);
  });

  it("refuses WRQ: the server is read-only", async () => {
    const reply = await tftpExchange("127.0.0.1", port(), encodeRequest("WRQ", "new.bin"));
    expect(reply.packet).toMatchObject({ op: "ERROR", code: ErrorCode.ACCESS_VIOLATION });
    expect(() => readFileSync(join(tree.root, "new.bin"))).toThrow();
  });

  it("answers a non-request on the listening port with ERROR 4", async () => {
    const reply = await tftpExchange("127.0.0.1", port(), encodeAck(1));
    expect(reply.packet).toMatchObject({ op: "ERROR", code: ErrorCode.ILLEGAL_OPERATION });
  });

  it("keeps a stranger off a transfer's port (refused by the kernel, as tftpd-hpa's) and the transfer going", async () => {
    // Start a transfer by hand and leave it waiting for ACK 1.
    const { createSocket } = await import("node:dgram");
    const client = createSocket("udp4");
    await new Promise<void>((r) => client.bind(0, "127.0.0.1", () => r()));
    const first = new Promise<{ port: number }>((r) => client.once("message", (_m, rinfo) => r(rinfo)));
    client.send(encodeRequest("RRQ", "block-multiple.bin"), port(), "127.0.0.1");
    const transferPort = (await first).port;
    // A stranger's ACK: the connected transfer socket never sees it, the kernel answers it
    // with ICMP port unreachable (ECONNREFUSED on the stranger's connected socket).
    const stranger = createSocket("udp4");
    const heard: string[] = [];
    stranger.on("message", (m) => heard.push(`packet ${m.subarray(0, 4).toString("hex")}`));
    const refused = new Promise<string>((r) => stranger.on("error", (e: NodeJS.ErrnoException) => r(e.code ?? e.message)));
    await new Promise<void>((r) => stranger.bind(0, "127.0.0.1", () => stranger.connect(transferPort, "127.0.0.1", () => r())));
    stranger.send(encodeAck(1));
    // The error is reported on the socket's next operation (or already by the first, when the
    // ICMP came back in time: the second send must not then reach a closed socket).
    const again = setTimeout(() => stranger.send(encodeAck(1)), 50);
    expect(await refused).toBe("ECONNREFUSED");
    clearTimeout(again);
    expect(heard).toEqual([]);
    stranger.close();
    const next = new Promise<Buffer>((r) => client.once("message", (m) => r(m)));
    client.send(encodeAck(1), transferPort, "127.0.0.1");
    const decoded = decodePacket(await next);
    expect(decoded.ok && decoded.packet).toMatchObject({ op: "DATA", block: 2 });
    client.close();
  });
});
