// A writer (and, for tests, a reader) of the "newc" cpio format the Linux kernel unpacks as
// an initramfs, so building the probe needs no cpio binary and no root (device nodes are
// just header fields). Output is deterministic: fixed inode numbers, owner root, mtime 0.
import { gzipSync } from "node:zlib";

export type CpioEntry =
  | { type: "file"; path: string; data: Buffer; mode?: number }
  | { type: "dir"; path: string; mode?: number }
  | { type: "symlink"; path: string; target: string }
  | { type: "char" | "block"; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const NEWC_MAGIC = "070701";
const HEADER_SIZE = 110;
const TRAILER = "TRAILER!!!";

function checkPath(path: string): void {
  if (
    path === "" ||
    path.startsWith("/") ||
    path.endsWith("/") ||
    path.split("/").some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new Error(`cpio path '${path}' must be relative, without empty, '.' or '..' components`);
  }
}

const pad4 = (length: number) => (4 - (length % 4)) % 4;

interface RecordFields {
  ino: number;
  mode: number;
  nlink: number;
  fileSize: number;
  rdevMajor: number;
  rdevMinor: number;
}

function header(fields: RecordFields & { nameSize: number }): string {
  const hex = (n: number) => {
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`cpio header field ${n} does not fit in 32 bits`);
    return n.toString(16).padStart(8, "0");
  };
  return (
    NEWC_MAGIC +
    [
      fields.ino,
      fields.mode,
      0,
      0,
      fields.nlink,
      0,
      fields.fileSize,
      0,
      0,
      fields.rdevMajor,
      fields.rdevMinor,
      fields.nameSize,
      0,
    ]
      .map(hex)
      .join("")
  );
}

function record(chunks: Buffer[], name: string, fields: RecordFields, data: Buffer): void {
  const nameBytes = Buffer.from(`${name}\0`, "utf8");
  const head = Buffer.from(header({ ...fields, nameSize: nameBytes.length }), "latin1");
  chunks.push(head, nameBytes, Buffer.alloc(pad4(HEADER_SIZE + nameBytes.length)), data, Buffer.alloc(pad4(data.length)));
}

/**
 * Serialises entries into one newc archive. Missing parent directories are added (mode
 * 0755) before their first child; a path given twice is an error.
 */
export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  const seen = new Set<string>();
  let ino = 1;
  const emit = (entry: CpioEntry) => {
    checkPath(entry.path);
    if (seen.has(entry.path)) throw new Error(`cpio path '${entry.path}' appears twice`);
    const parts = entry.path.split("/");
    for (let depth = 1; depth < parts.length; depth++) {
      const parent = parts.slice(0, depth).join("/");
      if (!seen.has(parent)) emit({ type: "dir", path: parent });
    }
    seen.add(entry.path);
    const base = { ino: ino++, rdevMajor: 0, rdevMinor: 0 };
    switch (entry.type) {
      case "dir":
        record(chunks, entry.path, { ...base, mode: S_IFDIR | (entry.mode ?? 0o755), nlink: 2, fileSize: 0 }, Buffer.alloc(0));
        break;
      case "file":
        record(
          chunks,
          entry.path,
          { ...base, mode: S_IFREG | (entry.mode ?? 0o644), nlink: 1, fileSize: entry.data.length },
          entry.data,
        );
        break;
      case "symlink": {
        const target = Buffer.from(entry.target, "utf8");
        record(chunks, entry.path, { ...base, mode: S_IFLNK | 0o777, nlink: 1, fileSize: target.length }, target);
        break;
      }
      case "char":
      case "block":
        record(
          chunks,
          entry.path,
          {
            ...base,
            mode: (entry.type === "char" ? S_IFCHR : S_IFBLK) | (entry.mode ?? 0o600),
            nlink: 1,
            fileSize: 0,
            rdevMajor: entry.major,
            rdevMinor: entry.minor,
          },
          Buffer.alloc(0),
        );
        break;
    }
  };
  for (const entry of entries) emit(entry);
  record(chunks, TRAILER, { ino: 0, mode: 0, nlink: 1, fileSize: 0, rdevMajor: 0, rdevMinor: 0 }, Buffer.alloc(0));
  return Buffer.concat(chunks);
}

export function gzipCpio(entries: readonly CpioEntry[]): Buffer {
  // Level 6: level 9 is ten times slower for 0.3 % smaller output.
  return gzipSync(writeCpio(entries), { level: 6 });
}

/** Reads a newc archive back into entries (the trailer is not returned). */
export function parseCpio(archive: Buffer): CpioEntry[] {
  const entries: CpioEntry[] = [];
  let offset = 0;
  for (;;) {
    if (offset + HEADER_SIZE > archive.length) throw new Error(`cpio archive ends inside a header at byte ${offset}`);
    const head = archive.toString("latin1", offset, offset + HEADER_SIZE);
    if (!head.startsWith(NEWC_MAGIC)) throw new Error(`no newc cpio magic at byte ${offset}`);
    const field = (index: number) => Number.parseInt(head.slice(6 + index * 8, 14 + index * 8), 16);
    const mode = field(1);
    const fileSize = field(6);
    const nameSize = field(11);
    const nameStart = offset + HEADER_SIZE;
    const name = archive.toString("utf8", nameStart, nameStart + nameSize - 1);
    const dataStart = nameStart + nameSize + pad4(HEADER_SIZE + nameSize);
    const data = archive.subarray(dataStart, dataStart + fileSize);
    if (data.length !== fileSize) throw new Error(`cpio entry '${name}' is truncated`);
    offset = dataStart + fileSize + pad4(fileSize);
    if (name === TRAILER) return entries;
    const permissions = mode & 0o7777;
    switch (mode & 0o170000) {
      case S_IFDIR:
        entries.push({ type: "dir", path: name, mode: permissions });
        break;
      case S_IFREG:
        entries.push({ type: "file", path: name, data: Buffer.from(data), mode: permissions });
        break;
      case S_IFLNK:
        entries.push({ type: "symlink", path: name, target: data.toString("utf8") });
        break;
      case S_IFCHR:
      case S_IFBLK:
        entries.push({
          type: (mode & 0o170000) === S_IFCHR ? "char" : "block",
          path: name,
          major: field(9),
          minor: field(10),
          mode: permissions,
        });
        break;
      default:
        throw new Error(`cpio entry '${name}' has unsupported file type ${(mode & 0o170000).toString(8)}`);
    }
  }
}
