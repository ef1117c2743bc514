// Starts the servers one boot needs (TFTP, HTTP, iSCSI), fresh for that boot, and stops them
// after it. The guest reaches them through user-mode networking at 10.0.2.2:<port>.
import { copyFile, mkdir, open, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { registerCleanup } from "../../emulator/reaper.js";
import type { MediaSpec } from "../../firmware/media/spec.js";
import { InfraError } from "../errors.js";
import type { HttpEvent } from "../http/index.js";
import { type HttpServer, startHttpServer } from "../http/index.js";
import { ChangedRanges } from "../iscsi/backends/recording.js";
import type { IscsiEvent } from "../iscsi/connection.js";
import type { FaultPlan as IscsiFaultPlan } from "../iscsi/faults.js";
import { type IscsiTargetHandle, startIscsiTarget } from "../iscsi/target.js";
import { type NfsFaultRuleInput, type NfsServer, startNfsServer } from "../nfs/index.js";
import type { GuestEndpoints, ServedFile, ServicesPlan } from "../scenario.js";
import type { TftpFaultPlan } from "../tftp/faults.js";
import { startTftpServer, type TftpServer } from "../tftp/server.js";
import { downPortals, sanPathFaultRules } from "./san-paths.js";

/** The host as QEMU's user-mode network shows it to the guest. */
export const GUEST_HOST_ADDRESS = "10.0.2.2";

export interface ServiceLogLine {
  atMs: number;
  service: "iscsi" | "tftp" | "http" | "nfs";
  text: string;
}

function describeIscsiEvent(event: IscsiEvent): string | undefined {
  switch (event.type) {
    case "login":
      return `login: initiator ${event.initiator} → ${event.target ?? "discovery"} (${event.sessionType})`;
    case "login-failed":
      return `login failed: ${event.reason} (status class ${event.statusClass}, detail ${event.statusDetail})`;
    case "reject":
      return `reject: ${event.why}`;
    case "fault":
      return `fault injected: ${event.action} on opcode 0x${event.opcode.toString(16)} (portal ${event.portal})`;
    default:
      return undefined;
  }
}

function describeHttpEvent(event: HttpEvent): string | undefined {
  switch (event.kind) {
    case "request":
      return `${event.method} ${event.path} → ${event.status} (${event.bytes} bytes${event.complete ? "" : ", cut short"})`;
    case "refused":
      return `refused: ${event.method} ${event.path}: ${event.message} (${event.status})`;
    case "fault":
      return `fault injected: ${event.action} on ${event.path}`;
    default:
      return undefined;
  }
}

/** The guest kernel and probe initramfs of this boot, for `bootPayload` files. */
export interface BootPayloadFiles {
  kernel: string;
  initramfs: string;
}

async function writeServedFiles(
  root: string,
  files: Record<string, ServedFile>,
  payload?: BootPayloadFiles,
  overExisting = false,
  media?: ServedMediaBuilder,
): Promise<Record<string, { path: string; bytes: number }>> {
  const served: Record<string, { path: string; bytes: number }> = {};
  await mkdir(root, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, name);
    await mkdir(dirname(path), { recursive: true });
    // Over a copy-on-write layout: a new file, never written through a placeholder.
    if (overExisting) await rm(path, { force: true });
    if (typeof content === "string" || Buffer.isBuffer(content)) await writeFile(path, content);
    else if ("symlink" in content) await symlink(content.symlink, path);
    else if ("media" in content) {
      if (!media) throw new InfraError(`served file ${name} is a boot medium, but nothing builds media for this boot`);
      const built = await media(content.media);
      await copyFile(built, path);
      served[name] = { path: built, bytes: (await stat(built)).size };
    } else {
      if (!payload)
        throw new InfraError(
          `served file ${name} is the boot's ${content.bootPayload}, but the topology does not set servesBootPayload`,
        );
      await copyFile(content.bootPayload === "kernel" ? payload.kernel : payload.initramfs, path);
    }
  }
  return served;
}

/** Builds (or finds in the cache) a boot medium for the machine being booted; returns its path. */
export type ServedMediaBuilder = (spec: MediaSpec) => Promise<string>;

/** An export's top-level regular files after the boot (UTF-8, the first 64 KiB of each). */
async function exportContents(root: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isFile()) continue;
    const handle = await open(join(root, entry.name), "r");
    try {
      const buffer = Buffer.alloc(64 * 1024);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
      files[entry.name] = buffer.subarray(0, bytesRead).toString("utf8");
    } finally {
      await handle.close();
    }
  }
  return files;
}

/**
 * Phase 1: the TFTP server (its port goes into the machine's bootfile URL). The TFTP root
 * stays empty until `finish` renders the files with every endpoint known.
 */
export async function startServices(
  plan: ServicesPlan | undefined,
  serviceDir: string,
): Promise<{
  endpoints: GuestEndpoints;
  log: ServiceLogLine[];
  addIscsi(lunFiles: string[][], payload?: BootPayloadFiles, media?: ServedMediaBuilder): Promise<void>;
  /** What the guest changed on each LU, by "<iqn> lun <n>" (LUs never written are absent). */
  lunChanges(): Record<string, { bytes: number; ranges: Array<[number, number]> }>;
  /** The HTTP and TFTP files that are built media, by served path. */
  servedMedia(): Record<string, { path: string; bytes: number }>;
  /** What each NFS export holds now (call after the guest ended). */
  nfsExports(): Promise<Record<string, Record<string, string>>>;
  close(): Promise<void>;
}> {
  const started = Date.now();
  const log: ServiceLogLine[] = [];
  const endpoints: GuestEndpoints = {};
  let tftp: TftpServer | undefined;
  let http: HttpServer | undefined;
  let iscsi: IscsiTargetHandle | undefined;
  let nfs: NfsServer | undefined;
  const tftpRoot = join(serviceDir, "tftp");
  const httpRoot = join(serviceDir, "http");
  const changes = new Map<string, ChangedRanges>();
  const served: Record<string, { path: string; bytes: number }> = {};
  const nfsRoots = (plan?.nfs?.exports ?? []).map((_, index) => join(serviceDir, `nfs-${index}`));
  const close = async () => {
    await Promise.allSettled([tftp?.close(), http?.close(), iscsi?.close(), nfs?.close()]);
  };
  const unregister = registerCleanup("boot services", close);
  try {
    if (plan?.tftp) {
      await mkdir(tftpRoot, { recursive: true });
      tftp = await startTftpServer({ root: tftpRoot, faults: plan.tftp.faults as TftpFaultPlan | undefined });
      endpoints.tftp = { host: GUEST_HOST_ADDRESS, port: tftp.port };
    }
    if (plan?.http) {
      await mkdir(httpRoot, { recursive: true });
      http = await startHttpServer({
        root: httpRoot,
        faults: plan.http.faults as never,
        logger: (event) => {
          const text = describeHttpEvent(event);
          if (text) log.push({ atMs: Date.now() - started, service: "http", text });
        },
      });
      endpoints.http = { host: GUEST_HOST_ADDRESS, port: http.port };
    }
    if (plan?.nfs) {
      const exports = plan.nfs.exports;
      // A copy-on-write export lays out its base first; the plan's own files go on top.
      for (const root of nfsRoots) await mkdir(root, { recursive: true });
      for (const [index, exp] of exports.entries())
        if (exp.base === undefined) await writeServedFiles(nfsRoots[index]!, exp.files);
      nfs = await startNfsServer({
        exports: exports.map((exp, index) => ({
          root: nfsRoots[index]!,
          path: exp.path,
          readOnly: exp.readOnly,
          base: exp.base,
        })),
        faults: plan.nfs.faults as NfsFaultRuleInput[] | undefined,
        advertised: plan.nfs.advertised,
        log: (text) => log.push({ atMs: Date.now() - started, service: "nfs", text: text.replace(/^nfs: /, "") }),
      });
      for (const [index, exp] of exports.entries())
        if (exp.base !== undefined) await writeServedFiles(nfsRoots[index]!, exp.files, undefined, true);
      endpoints.nfs = { host: GUEST_HOST_ADDRESS, port: nfs.port };
    }
  } catch (error) {
    await close();
    unregister();
    throw error;
  }
  return {
    endpoints,
    log,
    /** Phase 2: the iSCSI target over the built LUN images, then the TFTP and HTTP files. */
    async addIscsi(lunFiles: string[][], payload?: BootPayloadFiles, media?: ServedMediaBuilder) {
      if (plan?.iscsi) {
        const iscsiPlan = plan.iscsi;
        const faultsSeen = new Set<string>();
        const portals = iscsiPlan.portals ?? 1;
        const rules = [
          ...((iscsiPlan.faults as IscsiFaultPlan | undefined)?.rules ?? []),
          ...sanPathFaultRules(iscsiPlan.pathFaults ?? [], portals),
        ];
        iscsi = await startIscsiTarget({
          portals: Array.from({ length: portals }, () => ({})),
          targets: plan.iscsi.targets.map((target, t) => ({
            iqn: target.iqn,
            chap: target.chap,
            luns: target.luns.map((lun, l) => {
              const ranges = new ChangedRanges();
              changes.set(`${target.iqn} lun ${lun.lun}`, ranges);
              return {
                lun: lun.lun,
                serial: lun.serial,
                wwn: lun.wwn,
                // A case volume is the case's own; cached images are shared by many cases:
                // writes go to a private overlay.
                backend: lun.volume
                  ? { kind: "file" as const, path: lun.volume.path, readOnly: lun.readOnly ?? false }
                  : lun.readOnly
                    ? { kind: "file" as const, path: lunFiles[t]![l]!, readOnly: true }
                    : { kind: "overlay" as const, base: lunFiles[t]![l]! },
                onChange: (offset: number, length: number) => ranges.add(offset, length),
              };
            }),
          })),
          faults: { rules },
          logger: (event) => {
            const text = describeIscsiEvent(event);
            // A slow or erroring path faults every command: its first fault says it all.
            if (event.type === "fault" && faultsSeen.has(text ?? "")) return;
            if (event.type === "fault") faultsSeen.add(text ?? "");
            if (text) log.push({ atMs: Date.now() - started, service: "iscsi", text });
          },
        });
        endpoints.iscsi = { host: GUEST_HOST_ADDRESS, port: iscsi.port };
        endpoints.sanPortals = iscsi.portals.map((p) => ({ host: p.host, port: p.port }));
        for (const portal of downPortals(iscsiPlan.pathFaults ?? [])) {
          await iscsi.closePortal(portal);
          log.push({
            atMs: Date.now() - started,
            service: "iscsi",
            text: `portal ${portal} is down (closed before the machine starts)`,
          });
        }
      }
      if (plan?.tftp) Object.assign(served, await writeServedFiles(tftpRoot, plan.tftp.files(endpoints), payload, false, media));
      if (plan?.http) Object.assign(served, await writeServedFiles(httpRoot, plan.http.files(endpoints), payload, false, media));
    },
    lunChanges() {
      return Object.fromEntries(
        [...changes]
          .map(([key, r]) => [key, r.list()] as const)
          .filter(([, ranges]) => ranges.length > 0)
          .map(([key, ranges]) => [key, { bytes: ranges.reduce((n, [, length]) => n + length, 0), ranges }]),
      );
    },
    servedMedia() {
      return served;
    },
    async nfsExports() {
      const out: Record<string, Record<string, string>> = {};
      for (const [index, exp] of (nfs?.exports ?? []).entries()) out[exp.path] = await exportContents(nfsRoots[index]!);
      return out;
    },
    async close() {
      await close();
      unregister();
    },
  };
}
