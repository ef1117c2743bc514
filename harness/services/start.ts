// Starts the servers one boot needs (TFTP, HTTP, iSCSI), fresh for that boot, and stops them
// after it. The guest reaches them through user-mode networking at 10.0.2.2:<port>.
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { registerCleanup } from "../../emulator/reaper.js";
import type { HttpEvent } from "../http/index.js";
import { type HttpServer, startHttpServer } from "../http/index.js";
import type { IscsiEvent } from "../iscsi/connection.js";
import type { FaultPlan as IscsiFaultPlan } from "../iscsi/faults.js";
import { type IscsiTargetHandle, startIscsiTarget } from "../iscsi/target.js";
import type { GuestEndpoints, ServedFile, ServicesPlan } from "../scenario.js";
import type { TftpFaultPlan } from "../tftp/faults.js";
import { startTftpServer, type TftpServer } from "../tftp/server.js";

/** The host as QEMU's user-mode network shows it to the guest. */
export const GUEST_HOST_ADDRESS = "10.0.2.2";

export interface ServiceLogLine {
  atMs: number;
  service: "iscsi" | "tftp" | "http";
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
      return `fault injected: ${event.action} on opcode 0x${event.opcode.toString(16)}`;
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

async function writeServedFiles(root: string, files: Record<string, ServedFile>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, name);
    await mkdir(dirname(path), { recursive: true });
    if (typeof content === "object" && !Buffer.isBuffer(content)) await symlink(content.symlink, path);
    else await writeFile(path, content);
  }
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
  addIscsi(lunFiles: string[][]): Promise<void>;
  close(): Promise<void>;
}> {
  const started = Date.now();
  const log: ServiceLogLine[] = [];
  const endpoints: GuestEndpoints = {};
  let tftp: TftpServer | undefined;
  let http: HttpServer | undefined;
  let iscsi: IscsiTargetHandle | undefined;
  const tftpRoot = join(serviceDir, "tftp");
  const httpRoot = join(serviceDir, "http");
  const close = async () => {
    await Promise.allSettled([tftp?.close(), http?.close(), iscsi?.close()]);
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
  } catch (error) {
    await close();
    unregister();
    throw error;
  }
  return {
    endpoints,
    log,
    /** Phase 2: the iSCSI target over the built LUN images, then the TFTP and HTTP files. */
    async addIscsi(lunFiles: string[][]) {
      if (plan?.iscsi) {
        iscsi = await startIscsiTarget({
          targets: plan.iscsi.targets.map((target, t) => ({
            iqn: target.iqn,
            chap: target.chap,
            luns: target.luns.map((lun, l) => ({
              lun: lun.lun,
              serial: lun.serial,
              wwn: lun.wwn,
              // Cached images are shared by many cases: writes go to a private overlay.
              backend: lun.readOnly
                ? { kind: "file" as const, path: lunFiles[t]![l]!, readOnly: true }
                : { kind: "overlay" as const, base: lunFiles[t]![l]! },
            })),
          })),
          faults: plan.iscsi.faults as IscsiFaultPlan | undefined,
          logger: (event) => {
            const text = describeIscsiEvent(event);
            if (text) log.push({ atMs: Date.now() - started, service: "iscsi", text });
          },
        });
        endpoints.iscsi = { host: GUEST_HOST_ADDRESS, port: iscsi.port };
      }
      if (plan?.tftp) await writeServedFiles(tftpRoot, plan.tftp.files(endpoints));
      if (plan?.http) await writeServedFiles(httpRoot, plan.http.files(endpoints));
    },
    async close() {
      await close();
      unregister();
    },
  };
}
