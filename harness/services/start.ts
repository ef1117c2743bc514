// Starts the servers one boot needs (TFTP, iSCSI), fresh for that boot, and stops them
// after it. The guest reaches them through user-mode networking at 10.0.2.2:<port>.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { registerCleanup } from "../../emulator/reaper.js";
import type { IscsiEvent } from "../iscsi/connection.js";
import type { FaultPlan as IscsiFaultPlan } from "../iscsi/faults.js";
import { type IscsiTargetHandle, startIscsiTarget } from "../iscsi/target.js";
import type { GuestEndpoints, ServicesPlan } from "../scenario.js";
import type { TftpFaultPlan } from "../tftp/faults.js";
import { startTftpServer, type TftpServer } from "../tftp/server.js";

/** The host as QEMU's user-mode network shows it to the guest. */
export const GUEST_HOST_ADDRESS = "10.0.2.2";

export interface ServiceLogLine {
  atMs: number;
  service: "iscsi" | "tftp";
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

/**
 * Phase 1: the TFTP server (its port goes into the machine's bootfile URL). The TFTP root
 * stays empty until `finish` renders the files with every endpoint known.
 */
export async function startServices(
  plan: ServicesPlan | undefined,
  tftpRoot: string,
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
  let iscsi: IscsiTargetHandle | undefined;
  const close = async () => {
    await Promise.allSettled([tftp?.close(), iscsi?.close()]);
  };
  const unregister = registerCleanup("boot services", close);
  try {
    if (plan?.tftp) {
      await mkdir(tftpRoot, { recursive: true });
      tftp = await startTftpServer({ root: tftpRoot, faults: plan.tftp.faults as TftpFaultPlan | undefined });
      endpoints.tftp = { host: GUEST_HOST_ADDRESS, port: tftp.port };
    }
  } catch (error) {
    await close();
    unregister();
    throw error;
  }
  return {
    endpoints,
    log,
    /** Phase 2: the iSCSI target over the built LUN images, then the TFTP files. */
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
      if (plan?.tftp) {
        for (const [name, content] of Object.entries(plan.tftp.files(endpoints))) {
          const path = join(tftpRoot, name);
          await mkdir(dirname(path), { recursive: true });
          await writeFile(path, content);
        }
      }
    },
    async close() {
      await close();
      unregister();
    },
  };
}
