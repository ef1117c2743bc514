// bootproof's NFSv3 server: NFS version 3, MOUNT version 3 and the port mapper on one loopback
// port (TCP and UDP), exporting directories read-write or read-only. In-process and fresh per
// case; clients are told the port (libnfs URL parameters, mount.nfs options), since a port
// mapper on 111 is not ours to take.
import { InputError } from "../errors.js";
import { NfsExport } from "./export.js";
import { NfsFaultInjector, type NfsFaultRuleInput, parseNfsFaults } from "./faults.js";
import { MOUNT_PROGRAM, MOUNT_VERSION, MountProgram } from "./mount.js";
import { NFS_PROGRAM, NFS_VERSION, NFS3_PROCEDURES, Nfs3Program } from "./nfs3.js";
import { PORTMAP_PROGRAM, portmapHandler } from "./portmap.js";
import { type RpcProgram, startRpcTransport } from "./transport.js";

export interface NfsExportSpec {
  /** The directory served (for a copy-on-write export: its fresh upper directory). */
  root: string;
  /** A read-only base tree the export starts as a copy of, never modified (harness/nfs/cow.ts). */
  base?: string;
  /** The path clients mount (default "/export", then "/export2", ...). */
  path?: string;
  readOnly?: boolean;
}

export interface NfsServerOptions {
  exports: NfsExportSpec[];
  host?: string;
  port?: number;
  faults?: NfsFaultRuleInput[];
  log?: (line: string) => void;
  /**
   * The address the port mapper names for NFS and MOUNT when clients reach the server through
   * a forward (a guest dialing 10.0.2.100:2049 that QEMU relays here); default its own.
   */
  advertised?: { host: string; port: number };
}

export interface NfsServer {
  host: string;
  port: number;
  exports: Array<{ path: string; root: string; readOnly: boolean }>;
  /** A libnfs URL for an export (ports included, no port mapper needed). */
  url(path?: string): string;
  /** mount.nfs options that reach this server without a port mapper on 111. */
  mountOptions(): string;
  /** The current write verifier (it changes on a restart, or by fault). */
  verifier(): Buffer;
  close(): Promise<void>;
}

export async function startNfsServer(options: NfsServerOptions): Promise<NfsServer> {
  if (options.exports.length === 0) throw new InputError("the NFS server needs at least one export (--export DIR)");
  const host = options.host ?? "127.0.0.1";
  const log = options.log ?? (() => {});
  const exports = options.exports.map(
    (spec, index) =>
      new NfsExport({
        root: spec.root,
        ...(spec.base !== undefined ? { base: spec.base } : {}),
        path: spec.path ?? (index === 0 ? "/export" : `/export${index + 1}`),
        readOnly: spec.readOnly ?? false,
      }),
  );
  for (const exp of exports) {
    await exp.open().catch((error: unknown) => {
      throw new InputError(`NFS export ${exp.options.root}: ${(error as Error).message}; pass an existing directory`);
    });
  }
  const paths = exports.map((e) => e.options.path);
  if (new Set(paths).size !== paths.length) throw new InputError(`NFS exports share a path: ${paths.join(", ")}`);

  const rules = parseNfsFaults(options.faults);
  const faults = rules.length
    ? new NfsFaultInjector(rules, (rule, proc, action) => log(`nfs: fault rule ${rule}: ${action} on ${proc}`))
    : undefined;
  const nfs = new Nfs3Program({ exports, fault: faults ? (name) => faults.nfs(name) : undefined });
  const mount = new MountProgram(exports);
  const registrations = [
    { program: NFS_PROGRAM, version: NFS_VERSION },
    { program: MOUNT_PROGRAM, version: MOUNT_VERSION },
    { program: PORTMAP_PROGRAM, version: 2 },
    { program: PORTMAP_PROGRAM, version: 3 },
    { program: PORTMAP_PROGRAM, version: 4 },
  ];
  let port = 0;
  const programs: RpcProgram[] = [
    { program: NFS_PROGRAM, version: NFS_VERSION, handle: nfs.handle },
    { program: MOUNT_PROGRAM, version: MOUNT_VERSION, handle: mount.handle },
    ...([2, 3, 4] as const).map((version) => ({
      program: PORTMAP_PROGRAM,
      version,
      handle: portmapHandler(
        version,
        () => registrations,
        () => host,
        () => port,
      ),
    })),
  ];
  const transport = await startRpcTransport({
    host,
    port: options.port ?? 0,
    programs,
    log,
    fault: faults
      ? (call) => {
          const name = call.program === NFS_PROGRAM ? NFS3_PROCEDURES[call.procedure] : undefined;
          return name ? faults.transport(name) : undefined;
        }
      : undefined,
  }).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new InputError(`NFS server: port ${options.port} on ${host} is in use; pass another --port, or 0 for any free one`);
    throw error;
  });
  port = transport.port;
  log(
    `nfs: listening on ${host}:${port} (tcp, udp): ${exports.map((e) => `${e.options.path} → ${e.options.root}${e.readOnly ? " (ro)" : ""}`).join(", ")}`,
  );
  return {
    host,
    port,
    exports: exports.map((e) => ({ path: e.options.path, root: e.options.root, readOnly: e.readOnly })),
    url: (path = paths[0]!) =>
      `nfs://${host.includes(":") ? `[${host}]` : host}${path}?version=3&nfsport=${port}&mountport=${port}`,
    mountOptions: () => `vers=3,proto=tcp,port=${port},mountport=${port},mountproto=tcp,nolock`,
    verifier: () => Buffer.from(nfs.verifier),
    async close() {
      await transport.close();
      await nfs.close();
      log(`nfs: closed ${host}:${port}`);
    },
  };
}
