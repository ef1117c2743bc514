// Maps a requested TFTP filename to a file inside the served root, or says why not. The
// TFTP syntax (a relative filename, `/`-separated; empty and `.` segments skipped) is turned
// into segments here; the confinement itself (lexical gate, realpath gate, O_NOFOLLOW) is
// shared with the HTTP server (harness/files/confine.ts), its reasons mapped to TFTP codes.
import { type ConfinedFile, checkSegments, openConfined, PathRefusal, type PathRefusalReason } from "../files/confine.js";
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

const CODE_FOR: Record<PathRefusalReason, number> = {
  "invalid-name": ErrorCode.ACCESS_VIOLATION,
  root: ErrorCode.FILE_NOT_FOUND,
  "outside-root": ErrorCode.ACCESS_VIOLATION,
  "not-regular": ErrorCode.ACCESS_VIOLATION,
  "not-found": ErrorCode.FILE_NOT_FOUND,
  denied: ErrorCode.ACCESS_VIOLATION,
  io: ErrorCode.NOT_DEFINED,
};

const asTftp = (error: unknown) =>
  error instanceof PathRefusal ? new TftpRefusal(CODE_FOR[error.reason], error.message) : error;

/** Lexical check; returns the path segments relative to the root. */
export function requestSegments(filename: string): string[] {
  if (filename.length === 0) throw new TftpRefusal(ErrorCode.FILE_NOT_FOUND, "empty filename");
  if (filename.startsWith("/")) {
    throw new TftpRefusal(ErrorCode.ACCESS_VIOLATION, "absolute paths are refused; ask for a path relative to the root");
  }
  const segments = filename.split("/").filter((s) => s !== "" && s !== ".");
  try {
    checkSegments(segments);
  } catch (error) {
    throw asTftp(error);
  }
  return segments;
}

export type OpenedFile = ConfinedFile;

/** Opens `filename` read-only under `realRoot` (already a realpath), or throws TftpRefusal. */
export async function openUnderRoot(realRoot: string, filename: string): Promise<OpenedFile> {
  const segments = requestSegments(filename);
  try {
    return await openConfined(realRoot, segments);
  } catch (error) {
    throw asTftp(error);
  }
}
