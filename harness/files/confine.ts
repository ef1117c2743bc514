// Root confinement shared by the built-in file servers (TFTP, HTTP): maps the path segments
// a client asked for to a regular file inside the served root, or says why not. Two gates:
// a lexical one (no empty, `.` or `..` segment, no separator or NUL/control byte inside a
// segment) and a filesystem one at open time (realpath must stay under the root's realpath,
// so a symlink that leaves the root is refused even if its name looks harmless; symlinks
// that stay inside are followed). The final open uses O_NOFOLLOW, so the last component
// cannot be swapped for a symlink between the check and the open.
//
// Each protocol first turns its own request syntax into segments (TFTP: a filename;
// HTTP: a percent-encoded request target) and maps a PathRefusal's reason to its own codes.
import { constants, type promises as fsp } from "node:fs";
import { open, realpath, stat } from "node:fs/promises";
import { sep } from "node:path";
import { InputError } from "../errors.js";

export type PathRefusalReason =
  /** The name itself is malformed or tries to climb (`..`, control bytes, separators). */
  | "invalid-name"
  /** The name is the root directory itself. */
  | "root"
  /** The name resolves (through a symlink) to a place outside the root. */
  | "outside-root"
  /** A directory, device, FIFO...: only regular files are served (no listings). */
  | "not-regular"
  | "not-found"
  /** The file system said no (permissions, symlink loop). */
  | "denied"
  /** Any other file system error. */
  | "io";

export class PathRefusal extends Error {
  constructor(
    readonly reason: PathRefusalReason,
    message: string,
  ) {
    super(message);
    this.name = "PathRefusal";
  }
}

const CONTROL = /[\x00-\x1f\x7f]/;

/** Lexical gate over already-split (and, for HTTP, already-decoded) segments. */
export function checkSegments(segments: readonly string[]): void {
  if (segments.length === 0) throw new PathRefusal("root", "the name is the served root itself");
  for (const segment of segments) {
    if (CONTROL.test(segment)) throw new PathRefusal("invalid-name", "the name contains NUL or control characters");
    if (segment === "..") throw new PathRefusal("invalid-name", "'..' is refused");
    if (segment === "" || segment === ".") throw new PathRefusal("invalid-name", "empty or '.' path segment");
    if (segment.includes("/")) throw new PathRefusal("invalid-name", "a path segment contains '/' (encoded slash)");
  }
}

export interface ConfinedFile {
  handle: fsp.FileHandle;
  size: number;
  mtimeMs: number;
  /** Real path, for logs. */
  path: string;
}

/** A served root: must be a directory; returns its realpath (what openConfined expects). */
export async function resolveServedRoot(root: string, server: string): Promise<string> {
  const rootStats = await stat(root).catch(() => undefined);
  if (!rootStats?.isDirectory()) {
    throw new InputError(`${server} root '${root}' is not a directory: create it or pass --root DIR`);
  }
  return realpath(root);
}

/** Opens `segments` read-only under `realRoot` (already a realpath), or throws PathRefusal. */
export async function openConfined(realRoot: string, segments: readonly string[]): Promise<ConfinedFile> {
  checkSegments(segments);
  const candidate = [realRoot, ...segments].join(sep);
  let resolved: string;
  try {
    resolved = await realpath(candidate);
  } catch (error) {
    throw fsRefusal(error);
  }
  if (resolved !== realRoot && !resolved.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) {
    throw new PathRefusal("outside-root", "path resolves outside the served root");
  }
  let handle: fsp.FileHandle;
  try {
    handle = await open(resolved, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw fsRefusal(error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new PathRefusal("not-regular", "not a regular file");
    return { handle, size: stats.size, mtimeMs: stats.mtimeMs, path: resolved };
  } catch (error) {
    await handle.close();
    throw error instanceof PathRefusal ? error : fsRefusal(error);
  }
}

function fsRefusal(error: unknown): PathRefusal {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return new PathRefusal("not-found", "file not found");
  if (code === "EACCES" || code === "EPERM" || code === "ELOOP") return new PathRefusal("denied", "access denied");
  return new PathRefusal("io", `cannot open file (${code ?? "unknown error"})`);
}
