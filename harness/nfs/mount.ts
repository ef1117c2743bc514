// The MOUNT version 3 program (RFC 1813 Appendix I): MNT hands out an export's root handle
// for its exact path (no subdirectory mounts, so no path outside an export is ever looked
// up), EXPORT lists the exports, DUMP / UMNT / UMNTALL keep the list of who mounted what.
import type { NfsExport } from "./export.js";
import { AcceptStat, AUTH_NONE, AUTH_SYS, type RpcCall, type RpcOutcome } from "./rpc.js";
import { XdrError, XdrWriter } from "./xdr.js";

export const MOUNT_PROGRAM = 100005;
export const MOUNT_VERSION = 3;
const MNTPATHLEN = 1024;
enum MountStat {
  OK = 0,
  NOENT = 2,
  ACCES = 13,
  NOTDIR = 20,
  SERVERFAULT = 10006,
}

export class MountProgram {
  private mounts = new Map<string, { host: string; path: string }>();

  constructor(private readonly exports: NfsExport[]) {}

  /**
   * The export a mount path names, or a directory inside it (what libnfs mounts for a URL's
   * directory part): walked one component at a time like LOOKUP, never through a symlink or
   * above the export's root.
   */
  private async directoryOf(path: string): Promise<{ exp: NfsExport; handle: Buffer } | MountStat> {
    const clean = path.replace(/\/+$/, "") || "/";
    const exp = this.exports
      .filter((e) => clean === e.options.path || clean.startsWith(`${e.options.path}/`))
      .sort((a, b) => b.options.path.length - a.options.path.length)[0];
    if (!exp) return MountStat.NOENT;
    let relative = "";
    for (const name of clean
      .slice(exp.options.path.length)
      .split("/")
      .filter((n) => n !== "")) {
      if (name === "." || name === "..") return MountStat.ACCES;
      relative = exp.child(relative, name);
    }
    const stats = exp.statInside(relative);
    if (!stats) return MountStat.NOENT;
    if (!stats.isDirectory()) return MountStat.NOTDIR;
    return { exp, handle: exp.handleOf(stats, relative) };
  }

  handle = async (call: RpcCall): Promise<RpcOutcome> => {
    try {
      const body = new XdrWriter();
      switch (call.procedure) {
        case 0:
          break;
        case 1: {
          const path = call.args.string(MNTPATHLEN, "dirpath");
          const found = await this.directoryOf(path);
          if (typeof found === "number") {
            body.uint32(found);
            break;
          }
          const { exp, handle } = found;
          body.uint32(MountStat.OK).opaque(handle);
          body.uint32(2).uint32(AUTH_SYS).uint32(AUTH_NONE);
          const host = call.auth.flavor === AUTH_SYS ? call.auth.sys.machineName : "unknown";
          this.mounts.set(`${host}\0${exp.options.path}`, { host, path: exp.options.path });
          break;
        }
        case 2:
          for (const m of this.mounts.values()) body.bool(true).string(m.host).string(m.path);
          body.bool(false);
          break;
        case 3: {
          const path = call.args.string(MNTPATHLEN, "dirpath");
          const host = call.auth.flavor === AUTH_SYS ? call.auth.sys.machineName : "unknown";
          this.mounts.delete(`${host}\0${path}`);
          break;
        }
        case 4:
          this.mounts.clear();
          break;
        case 5:
          for (const e of this.exports) body.bool(true).string(e.options.path).bool(false);
          body.bool(false);
          break;
        default:
          return { kind: "error", stat: AcceptStat.PROC_UNAVAIL };
      }
      return { kind: "success", body };
    } catch (error) {
      if (error instanceof XdrError) throw error; // GARBAGE_ARGS, from the transport
      return { kind: "success", body: new XdrWriter().uint32(MountStat.SERVERFAULT) };
    }
  };
}
