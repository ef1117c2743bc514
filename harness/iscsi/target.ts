// The iSCSI target server: listens on loopback (ephemeral port by default), serves many
// targets with many LUNs, and ends every connection on close(). Several portals (listening
// addresses) form one portal group: every LU is reachable through each of them, with the
// same data and the same reservations, and sessions through different portals coexist —
// the multipath an initiator (dm-multipath, iPXE's multi-URI sanboot) expects.
import { createHash } from "node:crypto";
import net from "node:net";
import { openBackend } from "./backends/index.js";
import { recordChanges } from "./backends/recording.js";
import type { BackendSpec, BlockBackend } from "./backends/types.js";
import { Connection, type ConnectionHost, type IscsiEvent } from "./connection.js";
import { FaultInjector, type FaultPlan } from "./faults.js";
import { type ChapCredentials, DEFAULT_LIMITS, type LoginDirectory, type TargetLimits } from "./login.js";
import { BLOCK_SIZE, type LogicalUnit } from "./scsi/lu.js";
import { EMPTY_RESERVATIONS, nexusLost } from "./scsi/reservations.js";
import { type Session, type TargetRuntime, targetFabric } from "./session.js";

export interface LunOptions {
  lun: number;
  backend: BackendSpec;
  /** Unit serial number (VPD 0x80); derived from the IQN and LUN when omitted. */
  serial?: string;
  /** 16 hex digits (an NAA 8-byte identifier) for VPD 0x83; derived when omitted. */
  wwn?: string;
  /** Told the byte range of every write and discard once it is done. */
  onChange?: (offset: number, length: number) => void;
}

export interface TargetOptions {
  iqn: string;
  luns: LunOptions[];
  chap?: ChapCredentials;
}

export interface PortalOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** TCP port; 0 (default) picks a free ephemeral port. */
  port?: number;
}

export interface IscsiTargetOptions {
  /** Address to bind (default 127.0.0.1); with `portals`, the default host of each portal. */
  host?: string;
  /** TCP port; 0 (default) picks a free ephemeral port. Ignored when `portals` is given. */
  port?: number;
  /**
   * Every listening address of the one portal group (default: one, `host`:`port`). Each
   * entry defaults its host to `host` (or 127.0.0.1) and its port to 0.
   */
  portals?: PortalOptions[];
  targets: TargetOptions[];
  /** CHAP that discovery (SendTargets) sessions must pass; none by default. */
  discoveryChap?: ChapCredentials;
  faults?: FaultPlan;
  /** Receives connection, login, reject and fault events. Never sees CHAP secrets. */
  logger?: (event: IscsiEvent) => void;
  /** Override negotiation limits (tests use this to force R2T paths). */
  limits?: Partial<TargetLimits>;
}

export interface IscsiTargetHandle {
  /** The first portal's address. */
  host: string;
  port: number;
  /** Every portal, in the order given (a closed one stays listed, with `open: false`). */
  portals: Array<{ host: string; port: number; open: boolean }>;
  targets: Array<{ iqn: string; luns: Array<{ lun: number; sizeBytes: number; readOnly: boolean }> }>;
  /** `iscsi://host:port/iqn/lun` through a portal (default the first), the URL form libiscsi tools take. */
  url(iqn: string, lun?: number, portal?: number): string;
  /** Sessions currently logged in. */
  sessionCount(): number;
  /**
   * Takes one portal down: it stops listening (new connections are refused) and the
   * connections that came in through it are cut, as when a path fails.
   */
  closePortal(index: number): Promise<void>;
  close(): Promise<void>;
}

const IQN_RE = /^(iqn\.\d{4}-\d{2}\.[^\s]+|eui\.[0-9A-Fa-f]{16}|naa\.[0-9A-Fa-f]{16,32})$/;

function validate(options: IscsiTargetOptions): void {
  if (!options.targets?.length) throw new Error("iSCSI target needs at least one target (options.targets is empty)");
  const seen = new Set<string>();
  for (const t of options.targets) {
    if (!IQN_RE.test(t.iqn))
      throw new Error(`target name ${JSON.stringify(t.iqn)} is not an iSCSI name (use iqn.YYYY-MM.reverse.domain:name)`);
    if (seen.has(t.iqn)) throw new Error(`target ${t.iqn} is listed twice`);
    seen.add(t.iqn);
    if (!t.luns?.length) throw new Error(`target ${t.iqn} has no LUNs`);
    const luns = new Set<number>();
    for (const l of t.luns) {
      if (!Number.isInteger(l.lun) || l.lun < 0 || l.lun > 16383)
        throw new Error(`target ${t.iqn}: LUN ${l.lun} must be an integer 0..16383`);
      if (luns.has(l.lun)) throw new Error(`target ${t.iqn}: LUN ${l.lun} is listed twice`);
      luns.add(l.lun);
      if (l.wwn !== undefined && !/^[0-9a-fA-F]{16}$/.test(l.wwn))
        throw new Error(`target ${t.iqn} LUN ${l.lun}: wwn ${JSON.stringify(l.wwn)} must be 16 hex digits`);
    }
    if (t.chap) {
      const c = t.chap;
      if (!c.username || !c.secret) throw new Error(`target ${t.iqn}: CHAP needs a username and a secret`);
      if (c.mutual && (!c.mutual.username || !c.mutual.secret))
        throw new Error(`target ${t.iqn}: mutual CHAP needs a username and a secret`);
    }
  }
}

function deriveNaa(iqn: string, lun: number): Buffer {
  const h = createHash("sha256").update(`${iqn}/${lun}`).digest();
  const naa = h.subarray(0, 8);
  naa[0] = 0x30 | (naa[0]! & 0x0f); // NAA 3: locally assigned
  return Buffer.from(naa);
}

export async function startIscsiTarget(options: IscsiTargetOptions): Promise<IscsiTargetHandle> {
  validate(options);
  const backends: BlockBackend[] = [];
  const targets = new Map<string, TargetRuntime>();
  try {
    for (const t of options.targets) {
      const lus = new Map<number, LogicalUnit>();
      for (const l of t.luns) {
        const opened = await openBackend(l.backend);
        backends.push(opened);
        const backend = l.onChange ? recordChanges(opened, l.onChange) : opened;
        const defaultSerial = createHash("sha256").update(`${t.iqn}/${l.lun}`).digest("hex").slice(0, 16);
        lus.set(l.lun, {
          lun: l.lun,
          backend,
          blocks: Math.floor(backend.sizeBytes / BLOCK_SIZE),
          readOnly: backend.readOnly,
          serial: l.serial ?? defaultSerial,
          naa: l.wwn ? Buffer.from(l.wwn, "hex") : deriveNaa(t.iqn, l.lun),
          targetIqn: t.iqn,
          preventedBy: new Set(),
          atomicChain: Promise.resolve(),
          reservations: EMPTY_RESERVATIONS,
        });
      }
      const base = {
        iqn: t.iqn,
        lus,
        lunList: [...lus.keys()].sort((a, b) => a - b),
        sessions: new Set<Session>(),
        detachedUnitAttention: new Map<string, Map<number, number>>(),
      };
      const rt: TargetRuntime = { ...base, fabric: targetFabric(base) };
      if (t.chap) rt.chap = t.chap;
      targets.set(t.iqn, rt);
    }
  } catch (err) {
    await Promise.allSettled(backends.map((b) => b.close()));
    throw err;
  }

  const sessions = new Map<number, Session>();
  let nextTsih = 1;
  const log = options.logger ?? (() => {});
  const directory: LoginDirectory = {
    hasTarget: (iqn) => targets.has(iqn),
    chapFor: (iqn) => targets.get(iqn)?.chap,
    portalGroupTag: 1,
  };
  if (options.discoveryChap) directory.discoveryChap = options.discoveryChap;
  const host: ConnectionHost = {
    directory,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    targets,
    faults: options.faults && options.faults.rules.length > 0 ? new FaultInjector(options.faults) : undefined,
    log,
    newTsih() {
      for (;;) {
        const t = nextTsih;
        nextTsih = nextTsih >= 0xffff ? 1 : nextTsih + 1;
        if (!sessions.has(t)) return t;
      }
    },
    sessionByTsih: (tsih) => sessions.get(tsih),
    findSession(initiatorName, isid, target) {
      for (const s of sessions.values())
        if (s.initiatorName === initiatorName && s.isid === isid && s.target === target) return s;
      return undefined;
    },
    addSession(s) {
      sessions.set(s.tsih, s);
      s.target?.sessions.add(s);
    },
    removeSession(s) {
      if (sessions.get(s.tsih) === s) sessions.delete(s.tsih);
      host.endSession(s);
      s.target?.sessions.delete(s);
    },
    endSession(s) {
      // I_T nexus loss: PREVENT and SPC-2 reservations end with it; registrations stay.
      if (s.ended) return;
      s.ended = true;
      for (const lu of s.target?.lus.values() ?? []) {
        lu.preventedBy.delete(s.nexus);
        lu.reservations = nexusLost(lu.reservations, s.nexus.id);
      }
    },
    sessionsOf: (target) => target.sessions,
    portals: () => listeners.filter((l) => l.open).map((l) => ({ host: l.host, port: l.port })),
    closePortal: (index) => void listeners[index]?.close(),
  };

  const bindHost = options.host ?? "127.0.0.1";
  const wanted: Array<{ host: string; port: number }> = (options.portals?.length ? options.portals : [{}]).map((p, i) => ({
    host: p.host ?? bindHost,
    port: p.port ?? (i === 0 && !options.portals?.length ? (options.port ?? 0) : 0),
  }));
  const listeners: Listener[] = [];
  const closeListeners = () => Promise.allSettled(listeners.map((l) => l.close()));
  try {
    for (const [index, w] of wanted.entries()) listeners.push(await listen(w.host, w.port, host, index));
  } catch (err) {
    await closeListeners();
    await Promise.allSettled(backends.map((b) => b.close()));
    throw err;
  }
  const first = listeners[0]!;
  const bracket = (h: string) => (h.includes(":") ? `[${h}]` : h);
  let closing: Promise<void> | undefined;
  return {
    host: first.host,
    port: first.port,
    get portals() {
      return listeners.map((l) => ({ host: l.host, port: l.port, open: l.open }));
    },
    targets: [...targets.values()].map((t) => ({
      iqn: t.iqn,
      luns: t.lunList.map((l) => {
        const lu = t.lus.get(l)!;
        return { lun: l, sizeBytes: lu.blocks * BLOCK_SIZE, readOnly: lu.readOnly };
      }),
    })),
    url: (iqn, lun = 0, portal = 0) => {
      const l = listeners[portal];
      if (!l) throw new RangeError(`portal ${portal} does not exist (the target has ${listeners.length})`);
      return `iscsi://${bracket(l.host)}:${l.port}/${iqn}/${lun}`;
    },
    sessionCount: () => sessions.size,
    async closePortal(index) {
      const l = listeners[index];
      if (!l) throw new RangeError(`portal ${index} does not exist (the target has ${listeners.length})`);
      await l.close();
    },
    close() {
      closing ??= (async () => {
        await closeListeners();
        await Promise.allSettled(backends.map((b) => b.close()));
      })();
      return closing;
    },
  };
}

interface Listener {
  host: string;
  port: number;
  open: boolean;
  /** Stops listening and cuts the connections accepted through it. */
  close(): Promise<void>;
}

/** One portal: a TCP listener whose connections all speak to the same targets. */
async function listen(bindHost: string, port: number, host: ConnectionHost, index: number): Promise<Listener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    new Connection(socket, host, index);
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new Error(
          `iSCSI target cannot listen on ${bindHost}:${port}: ${err.code ?? err.message} (pick another --port, or 0 for a free one)`,
        ),
      );
    };
    server.once("error", onError);
    server.listen(port, bindHost, () => {
      server.off("error", onError);
      resolve();
    });
  });
  let closed: Promise<void> | undefined;
  const listener: Listener = {
    host: bindHost,
    port: (server.address() as net.AddressInfo).port,
    open: true,
    close() {
      closed ??= (async () => {
        listener.open = false;
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await done;
      })();
      return closed;
    },
  };
  return listener;
}
