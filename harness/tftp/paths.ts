// Maps a requested TFTP filename to a file inside the served root, or says why not. Two
// gates: a lexical one (no `..`, no absolute path, no NUL or control bytes) and a
// filesystem one at open time (realpath must stay under the root's realpath, so a symlink
// that leaves the root is refused even if its name looks harmless).
import { constants, type promises as fsp } from "node:fs";
import { open, realpath } from "node:fs/promises";
import { sep } from "node:path";
import { ErrorCode } from "./packets.js";

export class TftpRefusal extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "TftpRefusal";
  }
}

/** Lexical check; returns the path segments relative to the root. */
export function requestSegments(filename: string): string[] {
  if (filename.length === 0) throw new TftpRefusal(ErrorCode.FILE_NOT_FOUND, "empty filename");
  if (/[\x00-\x1f\x7f]/.test(filename)) {
    throw new TftpRefusal(ErrorCode.ACCESS_VIOLATION, "filename contains NUL or control characters");
  }
  if (filename.startsWith("/")) {
    throw new TftpRefusal(ErrorCode.ACCESS_VIOLATION, "absolute paths are refused; ask for a path relative to the root");
  }
  const segments = filename.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) throw new TftpRefusal(ErrorCode.ACCESS_VIOLATION, "'..' is refused");
  if (segments.length === 0) throw new TftpRefusal(ErrorCode.FILE_NOT_FOUND, "filename names the root itself");
  return segments;
}

export interface OpenedFile {
  handle: fsp.FileHandle;
  size: number;
  /** Real path, for logs. */
  path: string;
}

/** Opens `filename` read-only under `realRoot` (already a realpath), or throws TftpRefusal. */
export async function openUnderRoot(realRoot: string, filename: string): Promise<OpenedFile> {
  const segments = requestSegments(filename);
  const candidate = [realRoot, ...segments].join(sep);
  let resolved: string;
  try {
    resolved = await realpath(candidate);
  } catch (error) {
    throw fsRefusal(error);
  }
  if (resolved !== realRoot && !resolved.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) {
    throw new TftpRefusal(ErrorCode.ACCESS_VIOLATION, "path resolves outside the served root");
  }
  let handle: fsp.FileHandle;
  try {
    // O_NOFOLLOW: the resolved path's last component cannot be swapped for a symlink
    // between the realpath check and this open.
    handle = await open(resolved, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw fsRefusal(error);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new TftpRefusal(ErrorCode.ACCESS_VIOLATION, "not a regular file");
    return { handle, size: stats.size, path: resolved };
  } catch (error) {
    await handle.close();
    throw error instanceof TftpRefusal ? error : fsRefusal(error);
  }
}

function fsRefusal(error: unknown): TftpRefusal {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") return new TftpRefusal(ErrorCode.FILE_NOT_FOUND, "file not found");
  if (code === "EACCES" || code === "EPERM" || code === "ELOOP") {
    return new TftpRefusal(ErrorCode.ACCESS_VIOLATION, "access denied");
  }
  return new TftpRefusal(ErrorCode.NOT_DEFINED, `cannot open file (${code ?? "unknown error"})`);
}
