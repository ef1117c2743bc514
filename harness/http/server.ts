// bootproof's HTTP server: serves one directory read-only on a loopback TCP port, for
// firmware that boots over HTTP (iPXE fetching `http://10.0.2.2:PORT/boot.ipxe` and what the
// script chains). node:http parses the protocol (keep-alive, pipelining, chunked request
// bodies, header limits); everything about what is served is decided here:
//   - GET and HEAD only (405 with Allow otherwise);
//   - the path is confined to the root exactly like the TFTP server's (harness/files/confine.ts,
//     after the HTTP-specific decoding in target.ts); no directory listings;
//   - one byte range → 206, none satisfiable → 416, several → the whole file (range.ts);
//   - files are streamed from the descriptor that passed the confinement check, with the
//     connection's backpressure, so a client that stops reading holds only its own stream
//     (file-body.ts, from reused aligned buffers);
//   - a client that sends half a request is cut at headersTimeoutMs, one that stops reading
//     (or sending) at idleTimeoutMs; neither delays anyone else.
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { extname } from "node:path";
import { describeError, InfraError, InputError } from "../errors.js";
import { type ConfinedFile, openConfined, PathRefusal, type PathRefusalReason, resolveServedRoot } from "../files/confine.js";
import { type HttpFaultAction, HttpFaultInjector, type HttpFaultPlanInput, parseHttpFaultPlan } from "./faults.js";
import { writeFileRange } from "./file-body.js";
import { decideRange, ifRangeHolds } from "./range.js";
import { parseRequestTarget, targetPath } from "./target.js";

/** What the server tells its logger. Paths never carry the query (it may hold secrets); headers are never logged. */
export type HttpEvent =
  | { kind: "listening"; host: string; port: number; root: string }
  /** One answered request (any status but refusals), when its response ended. */
  | {
      kind: "request";
      connection: number;
      method: string;
      path: string;
      status: number;
      /** Body bytes handed to the connection. */
      bytes: number;
      /** The byte range served with 206 (inclusive). */
      range?: { first: number; last: number };
      /** False when the connection ended before the whole response was sent. */
      complete: boolean;
      durationMs: number;
    }
  /** A request refused before any file was served: bad path, escape attempt, directory, method. */
  | {
      kind: "refused";
      connection: number;
      method: string;
      path: string;
      status: number;
      reason: PathRefusalReason | "method";
      message: string;
    }
  | { kind: "fault"; connection: number; method: string; path: string; rule: number; action: HttpFaultAction["kind"] }
  /** A request node:http could not parse, or one whose head did not arrive in time. */
  | { kind: "client-error"; connection: number; code: string; status?: number }
  /**
   * A connection closed for idleness: while a response was being sent (the client stopped
   * reading) or before a first request (idleTimeoutMs), or an idle keep-alive connection
   * (keepAliveTimeoutMs, the normal end of a keep-alive connection).
   */
  | { kind: "timeout"; connection: number; during: "response" | "first-request" | "keep-alive" }
  | { kind: "closed"; host: string; port: number };

export type HttpLogger = (event: HttpEvent) => void;

export interface HttpServerOptions {
  /** Directory served read-only; request paths are resolved relative to it. */
  root: string;
  /** Address to bind; loopback unless a caller has a reason. */
  host?: string;
  /** TCP port; 0 (default) picks a free ephemeral port. */
  port?: number;
  /** Validated with HttpFaultPlanSchema; absent: no fault code runs at all. */
  faults?: HttpFaultPlanInput;
  logger?: HttpLogger;
  /** Time a client has to send a complete request head (default 10 s); then 408 and close. */
  headersTimeoutMs?: number;
  /** A connection with no byte in either direction for this long is closed (default 30 s). */
  idleTimeoutMs?: number;
  /** How long an idle keep-alive connection is kept between requests (default 10 s). */
  keepAliveTimeoutMs?: number;
}

export interface HttpServerStats {
  connections: number;
  connectionsActive: number;
  requests: number;
  refused: number;
  faults: number;
  /** Body bytes handed to connections. */
  bytesSent: number;
}

export interface HttpServer {
  host: string;
  port: number;
  /** The served root's real path. */
  root: string;
  /** Live counters (mutated as the server runs). */
  stats: HttpServerStats;
  /** `http://host:port/<path>`, each segment percent-encoded; `viaHost` e.g. "10.0.2.2" for a guest. */
  url(path?: string, viaHost?: string): string;
  /** Stops listening, ends every connection (stalled ones too). Idempotent. */
  close(): Promise<void>;
}

const STATUS_FOR: Record<PathRefusalReason, number> = {
  "invalid-name": 400,
  root: 403,
  "outside-root": 403,
  "not-regular": 403,
  "not-found": 404,
  denied: 403,
  io: 500,
};

const CONTENT_TYPES: Record<string, string> = {
  ".ipxe": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".cfg": "text/plain; charset=utf-8",
  ".json": "application/json",
  ".html": "text/html; charset=utf-8",
  ".iso": "application/x-iso9660-image",
};

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const host = options.host ?? "127.0.0.1";
  const requestedPort = options.port ?? 0;
  const realRoot = await resolveServedRoot(options.root, "HTTP");
  const injector = options.faults ? new HttpFaultInjector(parseHttpFaultPlan(options.faults)) : undefined;
  const logger = options.logger;
  const headersTimeoutMs = options.headersTimeoutMs ?? 10_000;
  const stats: HttpServerStats = { connections: 0, connectionsActive: 0, requests: 0, refused: 0, faults: 0, bytesSent: 0 };
  /** Every open connection: its number, requests seen, responses in progress. */
  const sockets = new Map<Socket, { id: number; requests: number; active: number; closed: Promise<void> }>();
  /** Wakes every delayed request when the server closes. */
  const wakers = new Set<() => void>();
  let closing: Promise<void> | undefined;

  const server = createServer({
    headersTimeout: headersTimeoutMs,
    requestTimeout: Math.max(headersTimeoutMs, 30_000),
    // node checks the two timeouts above on this interval (default 30 s, far too coarse).
    connectionsCheckingInterval: Math.min(1_000, Math.max(25, Math.floor(headersTimeoutMs / 4))),
  });
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 10_000;
  server.setTimeout(options.idleTimeoutMs ?? 30_000, (socket: Socket) => {
    const state = sockets.get(socket);
    const during = !state?.requests ? "first-request" : state.active > 0 ? "response" : "keep-alive";
    logger?.({ kind: "timeout", connection: state?.id ?? 0, during });
    socket.destroy();
  });

  server.on("connection", (socket: Socket) => {
    const id = ++stats.connections;
    stats.connectionsActive++;
    const closed = new Promise<void>((resolve) =>
      socket.once("close", () => {
        sockets.delete(socket);
        stats.connectionsActive--;
        resolve();
      }),
    );
    sockets.set(socket, { id, requests: 0, active: 0, closed });
  });

  server.on("clientError", (error: NodeJS.ErrnoException, socket: Socket) => {
    const connection = sockets.get(socket)?.id ?? 0;
    const code = error.code ?? "unknown";
    if (code === "ECONNRESET" || code === "EPIPE" || !socket.writable) {
      logger?.({ kind: "client-error", connection, code });
      socket.destroy();
      return;
    }
    const status = code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : code === "HPE_HEADER_OVERFLOW" ? 431 : 400;
    logger?.({ kind: "client-error", connection, code, status });
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroySoon();
  });

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        wakers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      wakers.add(wake);
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedAt = performance.now();
    const state = sockets.get(req.socket);
    const connection = state?.id ?? 0;
    if (state) {
      state.requests++;
      state.active++;
    }
    const method = req.method ?? "";
    const rawTarget = req.url ?? "";
    const path = targetPath(rawTarget);
    stats.requests++;
    req.resume(); // a request body (never needed) is drained so the connection can go on
    res.setHeader("Server", "bootproof");

    const sendText = (status: number, text: string) => {
      const body = Buffer.from(`${status} ${STATUS_CODES[status] ?? ""}: ${text}\n`);
      res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": body.length });
      res.end(body);
    };
    const refuse = (status: number, reason: PathRefusalReason | "method", message: string) => {
      stats.refused++;
      logger?.({ kind: "refused", connection, method, path, status, reason, message });
      sendText(status, message);
    };
    const refuseError = (error: unknown) => {
      if (error instanceof PathRefusal) refuse(STATUS_FOR[error.reason], error.reason, error.message);
      else refuse(500, "io", describeError(error));
    };
    // One `request` event per answered request, when its response is over (sent or cut).
    let served: { status: number; bytes: number; range?: { first: number; last: number } } | undefined;
    res.once("close", () => {
      if (state) state.active--;
      if (!served) return;
      stats.bytesSent += served.bytes;
      logger?.({
        kind: "request",
        connection,
        method,
        path,
        ...served,
        complete: res.writableFinished,
        durationMs: Math.round(performance.now() - startedAt),
      });
    });

    if (method !== "GET" && method !== "HEAD") {
      res.setHeader("Allow", "GET, HEAD");
      return refuse(405, "method", `${method} is not allowed: this server is read-only (GET, HEAD)`);
    }
    let segments: string[];
    try {
      segments = parseRequestTarget(rawTarget).segments;
    } catch (error) {
      return refuseError(error);
    }

    let fault: HttpFaultAction | undefined;
    if (injector) {
      const decision = injector.decide({ method, path });
      if (decision) {
        fault = decision.action;
        stats.faults++;
        logger?.({ kind: "fault", connection, method, path, rule: decision.rule, action: fault.kind });
        if (fault.kind === "stall") {
          req.socket.setTimeout(0); // a stalled server stays stalled; close() ends it
          return;
        }
        if (fault.kind === "delay") {
          await sleep(fault.ms);
          if (closing || res.destroyed) return;
        }
        if (fault.kind === "status") {
          served = { status: fault.code, bytes: 0 };
          return sendText(fault.code, `fault injected: status ${fault.code}`);
        }
      }
    }

    let file: ConfinedFile;
    try {
      file = await openConfined(realRoot, segments);
    } catch (error) {
      return refuseError(error);
    }
    if (res.destroyed || closing) {
      await file.handle.close();
      return;
    }
    const size = fault?.kind === "truncate" ? Math.min(file.size, fault.bytes) : file.size;
    const etag = `"${size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}"`;
    const lastModified = new Date(file.mtimeMs).toUTCString();
    res.setHeader("Content-Type", CONTENT_TYPES[extname(file.path).toLowerCase()] ?? "application/octet-stream");
    res.setHeader("Last-Modified", lastModified);
    res.setHeader("ETag", etag);
    res.setHeader("Accept-Ranges", "bytes");

    // Range handling is defined for GET only (RFC 9110 §14.2); HEAD describes the whole file.
    const rangeHeader =
      method === "GET" && ifRangeHolds(header(req, "if-range"), etag, lastModified) ? req.headers.range : undefined;
    const range = decideRange(rangeHeader, size);
    if (range.kind === "unsatisfiable") {
      await file.handle.close();
      res.setHeader("Content-Range", `bytes */${size}`);
      served = { status: 416, bytes: 0 };
      return sendText(416, `no byte of the range '${rangeHeader}' is inside the file (${size} bytes)`);
    }
    const first = range.kind === "partial" ? range.first : 0;
    const last = range.kind === "partial" ? range.last : size - 1;
    const length = last - first + 1;
    served = { status: range.kind === "partial" ? 206 : 200, bytes: 0 };
    if (range.kind === "partial") {
      served.range = { first, last };
      res.setHeader("Content-Range", `bytes ${first}-${last}/${size}`);
    }
    res.writeHead(served.status, { "Content-Length": length });

    const dropAfter = fault?.kind === "drop" ? Math.min(fault.afterBytes, length) : undefined;
    const bodyBytes = dropAfter ?? length;
    // The response is ended (or cut) before the file is closed: a client that has its
    // Content-Length may close the connection at once, and a response closed before end() is
    // logged as incomplete although every byte went out (closing a file is a trip through
    // the thread pool, which a loaded host can make last longer than the client's turn).
    const finish = () => {
      if (dropAfter === undefined) res.end();
      else dropConnection(req.socket, res);
    };
    if (method === "HEAD" || bodyBytes === 0) {
      finish();
      await file.handle.close().catch(() => {});
      return;
    }
    const record = served;
    try {
      await writeFileRange(file.handle, res, first, bodyBytes, (bytes) => {
        record.bytes += bytes;
      });
      finish();
    } catch {
      // The file could not be read after its head went out: the client sees a cut response.
      res.destroy();
    } finally {
      await file.handle.close().catch(() => {});
    }
  }

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      // Not reached by design (every step above handles its errors); never leave a request hanging.
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
      logger?.({ kind: "client-error", connection: sockets.get(req.socket)?.id ?? 0, code: `internal: ${describeError(error)}` });
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => reject(listenError(error, host, requestedPort));
    server.once("error", onError);
    server.listen(requestedPort, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (error) => logger?.({ kind: "client-error", connection: 0, code: `server: ${error.message}` }));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : requestedPort;
  logger?.({ kind: "listening", host, port, root: realRoot });

  return {
    host,
    port,
    root: realRoot,
    stats,
    url(path = "", viaHost = host) {
      const name = path.replace(/^\/+/, "").split("/").map(encodeURIComponent).join("/");
      return `http://${viaHost.includes(":") ? `[${viaHost}]` : viaHost}:${port}/${name}`;
    },
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const wake of [...wakers]) wake();
        server.closeAllConnections();
        const open = [...sockets.entries()];
        for (const [socket] of open) socket.destroy();
        await Promise.all([closed, ...open.map(([, state]) => state.closed)]);
        logger?.({ kind: "closed", host, port });
      })();
      return closing;
    },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The `drop` fault: what was written still goes out, then the connection ends mid-body. */
function dropConnection(socket: Socket, res: ServerResponse): void {
  res.flushHeaders(); // sends the head if no body byte has carried it yet; otherwise a no-op
  socket.end();
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const where = `HTTP server cannot listen on ${host}:${port}`;
  if (error.code === "EADDRINUSE") {
    return new InputError(
      `${where}: port ${port} is already in use (another server, or an earlier run still going): choose another --port, or 0 for a free ephemeral port`,
    );
  }
  if (error.code === "EACCES") {
    return new InputError(`${where}: permission denied (ports below 1024 need root): choose --port 1024 or above, or 0`);
  }
  if (error.code === "EADDRNOTAVAIL") {
    return new InputError(`${where}: ${host} is not an address of this host: use --host 127.0.0.1 (loopback)`);
  }
  return new InfraError(`${where}: ${error.message}`, { cause: error });
}
