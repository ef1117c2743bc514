// The TFTP tests' served tree (sizes that matter, symlinks in and out of the root, a
// directory) plus a few MiB file for parallel downloads, a raw-socket HTTP/1.1 client (curl
// normalizes paths and never sends half a request) and a curl helper.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll } from "vitest";
import { type HttpEvent, type HttpServer, startHttpServer } from "../../../harness/http/index.js";
import { makeServedTree, type ServedTree } from "../tftp/fixtures.js";

export { sha256 } from "../tftp/fixtures.js";

export const BIG_BYTES = 4 * 1024 * 1024 + 123;

export function makeHttpTree(): ServedTree {
  const tree = makeServedTree();
  tree.files["big.bin"] = randomBytes(BIG_BYTES);
  tree.files["sub/with space&more.txt"] = Buffer.from("encoded name\n");
  for (const name of ["big.bin", "sub/with space&more.txt"]) writeFileSync(join(tree.root, name), tree.files[name]!);
  return tree;
}

export interface SharedServer {
  tree: ServedTree;
  server: HttpServer;
  /** Everything the server logged, in order. */
  events: HttpEvent[];
}

/** One tree and one default server for a whole test file, started before its tests and closed after. */
export function useSharedServer(): SharedServer {
  const shared = { events: [] } as unknown as SharedServer;
  beforeAll(async () => {
    shared.tree = makeHttpTree();
    shared.server = await startHttpServer({ root: shared.tree.root, logger: (e) => shared.events.push(e) });
  });
  afterAll(async () => {
    await shared.server?.close();
    shared.tree?.cleanup();
  });
  return shared;
}

export interface RawResponse {
  status: number;
  reason: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** One TCP connection speaking HTTP/1.1 by hand: what is sent is exactly what is written. */
export class RawConnection {
  private buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  ended = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.waiter?.();
    });
    this.closed = new Promise((resolve) => {
      socket.on("close", () => {
        this.ended = true;
        this.waiter?.();
        resolve();
      });
    });
    socket.on("error", () => undefined);
  }

  static open(port: number, host = "127.0.0.1"): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => resolve(new RawConnection(socket)));
      socket.once("error", reject);
    });
  }

  send(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** Bytes received and not yet consumed by readResponse. */
  get pending(): Buffer {
    return this.buffer;
  }

  private async until(done: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.ended) throw new Error(`connection closed; got so far: ${JSON.stringify(this.buffer.toString("latin1"))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no complete response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Reads one response; `head` for the answer to a HEAD request (no body whatever the headers say). */
  async readResponse(options: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    await this.until(() => this.buffer.includes("\r\n\r\n"), timeoutMs);
    const headEnd = this.buffer.indexOf("\r\n\r\n");
    const [statusLine, ...lines] = this.buffer.subarray(0, headEnd).toString("latin1").split("\r\n");
    const match = /^HTTP\/1\.1 (\d{3}) ?(.*)$/.exec(statusLine ?? "");
    if (!match) throw new Error(`not an HTTP/1.1 status line: ${statusLine}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    const status = Number(match[1]);
    const length = options.head || status === 304 ? 0 : Number(headers["content-length"] ?? 0);
    const bodyStart = headEnd + 4;
    await this.until(() => this.buffer.length >= bodyStart + length, timeoutMs);
    const body = this.buffer.subarray(bodyStart, bodyStart + length);
    this.buffer = this.buffer.subarray(bodyStart + length);
    return { status, reason: match[2] ?? "", headers, body: Buffer.from(body) };
  }

  close(): void {
    this.socket.destroy();
  }
}

/** One request on a fresh connection. */
export async function rawRequest(port: number, request: string, options: { head?: boolean } = {}): Promise<RawResponse> {
  const connection = await RawConnection.open(port);
  try {
    connection.send(request);
    return await connection.readResponse(options);
  } finally {
    connection.close();
  }
}

export const get = (target: string, extra = "") => `GET ${target} HTTP/1.1\r\nHost: test\r\n${extra}\r\n`;

export async function curl(args: string[]) {
  return execa("/usr/bin/curl", ["-s", "-S", "--max-time", "60", ...args], { reject: false, encoding: "buffer" });
}
