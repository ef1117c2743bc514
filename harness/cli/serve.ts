// `bootproof serve iscsi|tftp|http|nfs`: the built-in servers standalone, for reproducing a boot by
// hand or pointing another initiator at them. They bind loopback unless told otherwise
// and run until SIGINT/SIGTERM.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { registerCleanup } from "../../emulator/reaper.js";
import { InputError } from "../errors.js";
import { type HttpEvent, startHttpServer } from "../http/index.js";
import type { IscsiEvent } from "../iscsi/connection.js";
import { startIscsiTarget } from "../iscsi/target.js";
import { startNfsServer } from "../nfs/index.js";
import { startTftpServer } from "../tftp/server.js";

export interface ServeIscsiFlags {
  lun: string[];
  iqn: string;
  port: number;
  host: string;
  chap?: string;
}

/** `FILE[:ro]` → a file backend; without `:ro` the guest writes go to the file itself. */
export function parseLunArgument(argument: string, index: number) {
  const readOnly = argument.endsWith(":ro");
  const path = resolve(readOnly ? argument.slice(0, -3) : argument);
  if (!existsSync(path)) throw new InputError(`--lun ${argument}: file not found: ${path}`);
  return { lun: index, backend: { kind: "file" as const, path, readOnly } };
}

/** `USER:SECRET`; the secret is used, never printed. */
export function parseChapArgument(argument: string) {
  const colon = argument.indexOf(":");
  if (colon <= 0 || colon === argument.length - 1) throw new InputError("--chap must be USER:SECRET (both non-empty)");
  return { username: argument.slice(0, colon), secret: argument.slice(colon + 1) };
}

function describe(event: IscsiEvent): string {
  // Events never carry secrets; print them as they come.
  return JSON.stringify(event);
}

export async function serveIscsi(flags: ServeIscsiFlags): Promise<void> {
  if (flags.lun.length === 0) throw new InputError("give at least one --lun FILE[:ro]");
  const handle = await startIscsiTarget({
    host: flags.host,
    port: flags.port,
    targets: [
      { iqn: flags.iqn, luns: flags.lun.map(parseLunArgument), chap: flags.chap ? parseChapArgument(flags.chap) : undefined },
    ],
    logger: (event) => process.stderr.write(`iscsi: ${describe(event)}\n`),
  });
  registerCleanup("iscsi target", () => handle.close());
  process.stdout.write(
    `iSCSI target ${flags.iqn} listening on ${handle.host}:${handle.port}${flags.chap ? " (CHAP required)" : ""}\n`,
  );
  for (const target of handle.targets) {
    for (const lun of target.luns)
      process.stdout.write(
        `  LUN ${lun.lun}: ${lun.sizeBytes} bytes${lun.readOnly ? ", read-only" : ""}  ${handle.url(target.iqn, lun.lun)}\n`,
      );
  }
  await new Promise(() => {}); // until a signal; the reaper closes the target
}

type DirectoryFlags = { root: string; port: number; host: string };

/** A directory server until a signal: checks --root, registers the close, prints where it listens. */
async function serveDirectory(
  flags: DirectoryFlags,
  protocol: "TFTP" | "HTTP",
  start: (root: string) => Promise<{ close(): Promise<void>; where: string }>,
): Promise<void> {
  const root = resolve(flags.root);
  if (!existsSync(root)) throw new InputError(`--root ${flags.root}: directory not found`);
  const server = await start(root);
  registerCleanup(`${protocol.toLowerCase()} server`, () => server.close());
  process.stdout.write(`${protocol} serving ${root} (read-only) on ${server.where}\n`);
  await new Promise(() => {});
}

export function serveTftp(flags: DirectoryFlags): Promise<void> {
  return serveDirectory(flags, "TFTP", async (root) => {
    const server = await startTftpServer({
      root,
      host: flags.host,
      port: flags.port,
      logger: { info: (m) => process.stderr.write(`tftp: ${m}\n`) },
    });
    return { close: () => server.close(), where: `${server.host}:${server.port}` };
  });
}

/** One stderr line per event; events carry no query strings and no headers, so nothing secret. */
export function describeHttpEvent(event: HttpEvent): string {
  switch (event.kind) {
    case "request": {
      const range = event.range ? ` bytes ${event.range.first}-${event.range.last}` : "";
      const cut = event.complete ? "" : " (connection ended early)";
      return `#${event.connection} ${event.method} ${event.path} ${event.status} ${event.bytes} bytes${range} ${event.durationMs} ms${cut}`;
    }
    case "refused":
      return `#${event.connection} ${event.method} ${event.path} ${event.status} refused: ${event.message}`;
    case "fault":
      return `#${event.connection} fault injected: ${event.action} on ${event.method} ${event.path} (rule ${event.rule})`;
    default:
      return JSON.stringify(event);
  }
}

export function serveHttp(flags: DirectoryFlags): Promise<void> {
  return serveDirectory(flags, "HTTP", async (root) => {
    const server = await startHttpServer({
      root,
      host: flags.host,
      port: flags.port,
      logger: (event) => process.stderr.write(`http: ${describeHttpEvent(event)}\n`),
    });
    return { close: () => server.close(), where: server.url() };
  });
}

export interface ServeNfsFlags {
  export: string[];
  host: string;
  port: number;
}

/** `DIR[:ro]` → an export of that directory (read-write unless `:ro`). */
export function parseExportArgument(argument: string) {
  const readOnly = argument.endsWith(":ro");
  const root = resolve(readOnly ? argument.slice(0, -3) : argument);
  if (!existsSync(root)) throw new InputError(`--export ${argument}: directory not found: ${root}`);
  return { root, readOnly };
}

export async function serveNfs(flags: ServeNfsFlags): Promise<void> {
  if (flags.export.length === 0) throw new InputError("give at least one --export DIR[:ro]");
  const server = await startNfsServer({
    exports: flags.export.map(parseExportArgument),
    host: flags.host,
    port: flags.port,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  registerCleanup("nfs server", () => server.close());
  for (const e of server.exports)
    process.stdout.write(`NFSv3 serving ${e.root}${e.readOnly ? " (read-only)" : ""} as ${server.url(e.path)}\n`);
  process.stdout.write(`mount -t nfs -o ${server.mountOptions()} ${server.host}:${server.exports[0]!.path} /mnt\n`);
  await new Promise(() => {});
}
