// A minimal QMP client: greeting, capabilities negotiation, commands matched to replies by
// id, asynchronous events. One JSON object per line in both directions.
import { EventEmitter } from "node:events";
import { createConnection, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

export class QmpError extends Error {
  constructor(
    readonly command: string,
    readonly errorClass: string,
    description: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${description}`);
    this.name = "QmpError";
  }
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class QmpClient extends EventEmitter<{ event: [QmpEvent]; close: [] }> {
  private buffer = "";
  private nextId = 1;
  private readonly pending = new Map<string, Pending>();
  private closed = false;

  private constructor(private readonly socket: Socket) {
    super();
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => this.onData(chunk));
    socket.on("close", () => this.onClose());
    socket.on("error", () => this.onClose());
  }

  /**
   * Connects to QEMU's QMP socket, retrying while QEMU is still creating it, and
   * negotiates capabilities. Rejects after `timeoutMs`.
   */
  static async connect(socketPath: string, timeoutMs = 10_000): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      try {
        const socket = await new Promise<Socket>((resolve, reject) => {
          const s = createConnection(socketPath);
          s.once("connect", () => resolve(s));
          s.once("error", reject);
        });
        const client = new QmpClient(socket);
        await client.handshake(Math.max(1, deadline - Date.now()));
        return client;
      } catch (error) {
        lastError = error;
        await sleep(20);
      }
    }
    throw new Error(`could not connect to QMP at ${socketPath} within ${timeoutMs} ms: ${String(lastError)}`);
  }

  private greeting?: (value: unknown) => void;

  private async handshake(timeoutMs: number): Promise<void> {
    const greeted = new Promise((resolve) => {
      this.greeting = resolve;
    });
    // The timer is cancelled once greeted: left running, it kept every bootproof process alive
    // until the connect deadline (5 s after QEMU started), the floor of a fast kernel's run.
    const cancel = new AbortController();
    const timer = sleep(timeoutMs, undefined, { signal: cancel.signal }).then(() => {
      throw new Error("no QMP greeting");
    });
    timer.catch(() => {});
    try {
      await Promise.race([greeted, timer]);
    } finally {
      cancel.abort();
    }
    await this.execute("qmp_capabilities");
  }

  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`QMP connection closed before ${command}`));
    const id = `bp-${this.nextId++}`;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  close(): void {
    this.socket.destroy();
    this.onClose();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let newline = this.buffer.indexOf("\n");
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (line) this.onMessage(line);
      newline = this.buffer.indexOf("\n");
    }
  }

  private onMessage(line: string): void {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // QEMU only sends JSON; ignore a torn line rather than crash the run
    }
    if ("QMP" in message) {
      this.greeting?.(message);
      return;
    }
    if ("event" in message) {
      this.emit("event", message as unknown as QmpEvent);
      return;
    }
    const id = typeof message.id === "string" ? message.id : undefined;
    const pending = id ? this.pending.get(id) : undefined;
    if (!pending || !id) return;
    this.pending.delete(id);
    if ("error" in message) {
      const error = message.error as { class?: string; desc?: string };
      pending.reject(new QmpError(pending.command, error.class ?? "Unknown", error.desc ?? ""));
    } else {
      pending.resolve(message.return);
    }
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const pending of this.pending.values()) pending.reject(new Error(`QMP connection closed during ${pending.command}`));
    this.pending.clear();
    this.emit("close");
  }
}

/** The subset of query-pci the harness records: bus 0 devices with their slot and class. */
export interface PciDeviceInfo {
  bus: number;
  slot: number;
  function: number;
  qdevId: string;
  description: string;
}

export function flattenQueryPci(result: unknown): PciDeviceInfo[] {
  const buses = Array.isArray(result) ? result : [];
  const devices: PciDeviceInfo[] = [];
  const visit = (list: unknown[]) => {
    for (const raw of list) {
      const d = raw as {
        bus: number;
        slot: number;
        function: number;
        qdev_id?: string;
        class_info?: { desc?: string };
        pci_bridge?: { devices?: unknown[] };
      };
      devices.push({
        bus: d.bus,
        slot: d.slot,
        function: d.function,
        qdevId: d.qdev_id ?? "",
        description: d.class_info?.desc ?? "",
      });
      if (d.pci_bridge?.devices) visit(d.pci_bridge.devices);
    }
  };
  for (const bus of buses) visit((bus as { devices?: unknown[] }).devices ?? []);
  return devices;
}
