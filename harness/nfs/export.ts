// One exported directory and its file handles. A handle names a file by its inode and birth
// time (stable across renames and server restarts, different for a new file that reuses the
// inode number) inside one export; the server keeps inode → path and finds a path again by
// walking the export after a restart. Every path it touches is built from names the client
// sent one component at a time ("..", "/", NUL refused; ".." of the root is the root), its
// parent's realpath must stay inside the export, and the last component is never followed
// when it is a symlink: a client cannot reach outside the export, even with symlinks it made.
import { createHash } from "node:crypto";
import { type BigIntStats, lstatSync, realpathSync } from "node:fs";
import { readdir, realpath } from "node:fs/promises";
import { dirname, join, sep } from "node:path";
import { CopyOnWrite } from "./cow.js";
import { Nfs3Status, NfsError } from "./status.js";

const MAGIC = Buffer.from("BPN3");
export const HANDLE_BYTES = 24;
/** NFS3 names longer than this are NAMETOOLONG (what Linux's NAME_MAX is). */
export const MAX_NAME = 255;

export interface ExportOptions {
  /** The directory exported (the upper directory of a copy-on-write export). */
  root: string;
  /**
   * A read-only base tree under `root` (harness/nfs/cow.ts): the export starts as a copy of
   * it, and the base is never written. `root` must be empty (or hold an earlier run's state).
   */
  base?: string;
  /** The path clients mount (MNT's dirpath), e.g. "/export". */
  path: string;
  readOnly: boolean;
}

export class NfsExport {
  readonly id: number;
  /** inode → path relative to the root ("" is the root). */
  private paths = new Map<bigint, string>();
  private rootReal = "";

  constructor(readonly options: ExportOptions) {
    // The same export (root and mount path) gets the same id in every server instance, so
    // handles survive a restart.
    this.id = createHash("sha256").update(`${options.root}\0${options.path}`).digest().readUInt32BE(0);
  }

  private rootStats: BigIntStats | undefined;

  /** The copy-on-write layer, when the export has a base tree. */
  cow: CopyOnWrite | undefined;

  async open(): Promise<void> {
    this.rootReal = await realpath(this.options.root);
    if (this.options.base !== undefined) {
      const base = await realpath(this.options.base);
      if (base === this.rootReal || base.startsWith(this.rootReal + sep) || this.rootReal.startsWith(base + sep))
        throw new Error(`the base ${this.options.base} and the export ${this.options.root} overlap`);
      this.cow = new CopyOnWrite(base, this.rootReal, `${this.rootReal}.bootproof-cow.json`);
      await this.cow.open();
    }
    const stats = lstatSync(this.rootReal, { bigint: true });
    if (!stats.isDirectory()) throw new Error(`export root ${this.options.root} is not a directory`);
    this.rootStats = stats;
    this.paths.set(stats.ino, "");
  }

  /** The root directory's handle (what MNT hands out). */
  rootHandle(): Buffer {
    if (!this.rootStats) throw new Error("the export is not open");
    return this.handleOf(this.rootStats, "");
  }

  get readOnly(): boolean {
    return this.options.readOnly;
  }

  absolute(relative: string): string {
    return relative === "" ? this.rootReal : join(this.rootReal, relative);
  }

  handleOf(stats: BigIntStats, relative: string): Buffer {
    this.paths.set(stats.ino, relative);
    const handle = Buffer.alloc(HANDLE_BYTES);
    MAGIC.copy(handle, 0);
    handle.writeUInt32BE(this.id, 4);
    handle.writeBigUInt64BE(stats.ino, 8);
    handle.writeBigUInt64BE(BigInt.asUintN(64, stats.birthtimeNs), 16);
    return handle;
  }

  /** True when the handle claims to be this export's (it may still be stale). */
  owns(handle: Buffer): boolean {
    return handle.length === HANDLE_BYTES && handle.subarray(0, 4).equals(MAGIC) && handle.readUInt32BE(4) === this.id;
  }

  /** The path and attributes of a handle; STALE when the file is gone (or a new one reuses its inode). */
  async resolve(handle: Buffer): Promise<{ relative: string; stats: BigIntStats }> {
    if (!this.owns(handle)) throw new NfsError(Nfs3Status.BADHANDLE, "not a handle of this export");
    const ino = handle.readBigUInt64BE(8);
    const birth = handle.readBigUInt64BE(16);
    const known = this.paths.get(ino);
    if (known !== undefined) {
      const stats = this.statInside(known);
      if (stats && stats.ino === ino && BigInt.asUintN(64, stats.birthtimeNs) === birth) return { relative: known, stats };
    }
    // After a restart (or a rename by another client): find the inode again.
    const found = await this.find(ino, birth);
    if (!found) throw new NfsError(Nfs3Status.STALE, "the file of this handle no longer exists");
    this.paths.set(ino, found.relative);
    return found;
  }

  /** The path this server knows for a handle's inode, if any (no check: see resolveOpen). */
  knownPath(handle: Buffer): string | undefined {
    return this.paths.get(handle.readBigUInt64BE(8));
  }

  /** The path of a handle whose file is open (its stats from the descriptor). */
  async resolveKnown(handle: Buffer, stats: BigIntStats): Promise<{ relative: string; stats: BigIntStats }> {
    const known = this.knownPath(handle);
    return known !== undefined ? { relative: known, stats } : this.resolve(handle);
  }

  /**
   * lstat of a path inside the export (its parent checked), undefined when it is gone.
   * Metadata is read synchronously, here and in the procedures: an export is a local
   * directory whose inodes are in the kernel's caches, and through fs/promises every stat
   * and realpath was a trip through libuv's thread pool and back (four for a LOOKUP).
   */
  statInside(relative: string): BigIntStats | undefined {
    try {
      this.checkParent(relative);
    } catch {
      return undefined;
    }
    return this.statChecked(relative);
  }

  /**
   * statInside for a path whose parent the caller has just checked (checkParent, as every
   * directory-changing procedure does first), so that the walk is not made twice in a row.
   */
  statChecked(relative: string): BigIntStats | undefined {
    try {
      // A missing name is the common answer (a client looks names up before creating them):
      // no exception for it, whose error object costs more than the lstat.
      return lstatSync(this.absolute(relative), { bigint: true, throwIfNoEntry: false });
    } catch {
      return undefined;
    }
  }

  private async find(ino: bigint, birth: bigint): Promise<{ relative: string; stats: BigIntStats } | undefined> {
    const queue = [""];
    while (queue.length > 0) {
      const dir = queue.shift()!;
      let names: string[];
      try {
        names = await readdir(this.absolute(dir));
      } catch {
        continue;
      }
      for (const name of names) {
        const relative = dir === "" ? name : `${dir}/${name}`;
        const stats = lstatSync(this.absolute(relative), { bigint: true, throwIfNoEntry: false });
        if (!stats) continue;
        if (stats.ino === ino && BigInt.asUintN(64, stats.birthtimeNs) === birth) return { relative, stats };
        if (stats.isDirectory()) queue.push(relative);
      }
    }
    return undefined;
  }

  /** The path of `name` in directory `dir` (both relative); refuses names that climb or nest. */
  child(dir: string, name: string): string {
    if (name.length === 0 || name.includes("/") || name.includes("\0"))
      throw new NfsError(Nfs3Status.INVAL, `invalid name ${JSON.stringify(name)}`);
    if (Buffer.byteLength(name) > MAX_NAME) throw new NfsError(Nfs3Status.NAMETOOLONG);
    if (name === ".") return dir;
    if (name === "..") return dir === "" ? "" : dir.includes("/") ? dir.slice(0, dir.lastIndexOf("/")) : "";
    return dir === "" ? name : `${dir}/${name}`;
  }

  /**
   * The parent directory's real path must be inside the export: a directory the client
   * replaced by a symlink to somewhere else is refused (ACCES), never followed.
   *
   * Only the components below the root can be symlinks a client made (names come from
   * child(), which never lets `..` climb), so they are lstat'ed first, and only a symlink
   * among them costs the full realpath (one that stays inside the export is allowed, as it
   * always was). A name in the root needs no syscall at all, where realpath read every link
   * from `/` down: a readlink per component of the root's own path (three for a LOOKUP of a
   * name in /tmp/x/export, measured with strace), twice per directory-changing operation. A missing or non-directory
   * component is left to the operation itself, which fails with ENOENT or ENOTDIR as it did.
   */
  checkParent(relative: string): void {
    for (let slash = relative.indexOf("/"); slash !== -1; slash = relative.indexOf("/", slash + 1)) {
      if (!lstatSync(this.absolute(relative.slice(0, slash)), { throwIfNoEntry: false })?.isSymbolicLink()) continue;
      const parent = realpathSync.native(dirname(this.absolute(relative)));
      if (parent !== this.rootReal && !parent.startsWith(this.rootReal + sep))
        throw new NfsError(Nfs3Status.ACCES, `${relative} leads outside the export`);
      return;
    }
  }
}
