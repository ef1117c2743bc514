// A copy-on-write export: a read-only base tree (a root file system shared by many cases,
// never modified) under a fresh upper directory per case. Opening the export lays out the
// base's skeleton in the upper directory: its directories and symlinks as they are, and for
// each regular file a sparse placeholder of the same size, mode and times. A placeholder's
// content is read from the base until a change (WRITE, a size change) copies the base file
// into it; since that happens inside the placeholder itself, its inode (and so every handle
// of it) stays the same, and renames, links and removals are plain operations on the upper
// tree. Which inodes are still placeholders is kept beside the upper tree, so a restarted
// server knows too.
import type { BigIntStats } from "node:fs";
import { lchown, lstat, lutimes, mkdir, open, readdir, readFile, readlink, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileReadBuffers } from "../files/aligned-buffers.js";

export class CopyOnWrite {
  /** upper inode → the base file that still holds its content. */
  private pending = new Map<bigint, string>();

  constructor(
    readonly base: string,
    readonly upper: string,
    private readonly stateFile: string,
  ) {}

  /** Lays out the skeleton (first open) or reads back the placeholders (a restart). */
  async open(): Promise<void> {
    const saved = await readFile(this.stateFile, "utf8").catch(() => undefined);
    if (saved !== undefined) {
      for (const [ino, path] of Object.entries(JSON.parse(saved) as Record<string, string>)) this.pending.set(BigInt(ino), path);
      return;
    }
    await this.layOut("");
    await this.save();
  }

  private async layOut(relative: string): Promise<void> {
    const from = relative === "" ? this.base : join(this.base, relative);
    for (const entry of await readdir(from, { withFileTypes: true })) {
      const rel = relative === "" ? entry.name : `${relative}/${entry.name}`;
      const source = join(this.base, rel);
      const target = join(this.upper, rel);
      const stats = await lstat(source, { bigint: true });
      if (entry.isDirectory()) {
        await mkdir(target, { mode: Number(stats.mode & 0o7777n) });
        await this.layOut(rel);
      } else if (entry.isSymbolicLink()) {
        await symlink(await readlink(source), target);
      } else if (entry.isFile()) {
        await writeFile(target, "", { mode: Number(stats.mode & 0o7777n) });
        await truncate(target, Number(stats.size));
        this.pending.set((await lstat(target, { bigint: true })).ino, source);
      } else continue; // devices, FIFOs, sockets: not served
      await this.copyMetadata(stats, target);
    }
  }

  private async copyMetadata(stats: BigIntStats, target: string): Promise<void> {
    if (process.getuid?.() === 0) await lchown(target, Number(stats.uid), Number(stats.gid)).catch(() => undefined);
    await lutimes(target, Number(stats.atimeNs) / 1e9, Number(stats.mtimeNs) / 1e9);
  }

  private async save(): Promise<void> {
    const state = Object.fromEntries([...this.pending].map(([ino, path]) => [ino.toString(), path]));
    await writeFile(this.stateFile, JSON.stringify(state));
  }

  /** Where a file's content is read from: its base file while it is a placeholder. */
  contentPath(ino: bigint, upperPath: string): string {
    return this.pending.get(ino) ?? upperPath;
  }

  isPlaceholder(ino: bigint): boolean {
    return this.pending.has(ino);
  }

  /** Before a change: the base content goes into the placeholder (same inode), once. */
  async copyUp(ino: bigint, upperPath: string): Promise<void> {
    const source = this.pending.get(ino);
    if (source === undefined) return;
    const stats = await lstat(upperPath, { bigint: true });
    // Into the placeholder in place: a rename over it would change its inode, and its handles.
    const from = await open(source, "r");
    const to = await open(upperPath, "r+");
    // Aligned (the page-cache copy into it is faster), and back to the pool after.
    const buffer = fileReadBuffers.take(1 << 20);
    try {
      let position = 0;
      for (;;) {
        const { bytesRead } = await from.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) break;
        await to.write(buffer, 0, bytesRead, position);
        position += bytesRead;
      }
      await to.truncate(position);
      await to.sync();
    } finally {
      fileReadBuffers.give(buffer);
      await from.close();
      await to.close();
    }
    await lutimes(upperPath, Number(stats.atimeNs) / 1e9, Number(stats.mtimeNs) / 1e9);
    this.pending.delete(ino);
    await this.save();
  }

  /** A placeholder whose last name is gone needs no copy any more. */
  async forget(ino: bigint): Promise<void> {
    if (this.pending.delete(ino)) await this.save();
  }
}
