// Volumes that outlive a boot: the disks of one case whose content a later boot must see (a
// deploy ramdisk writes an image, the node then boots it). Each is a sparse file in a private
// directory, served read-write (an iSCSI LU through a file backend); the directory is removed
// when the case releases them, or at exit.
import { closeSync, ftruncateSync, mkdtempSync, openSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { registerTempDir } from "../../emulator/reaper.js";

export interface CaseVolume {
  readonly name: string;
  readonly path: string;
  readonly sizeBytes: number;
}

export class CaseVolumes {
  private dir: string | undefined;
  private unregister: (() => void) | undefined;
  private readonly volumes = new Map<string, CaseVolume>();

  /** The volume called `name`: created zero-filled (sparse) on first use, the same file after. */
  volume(name: string, sizeBytes: number): CaseVolume {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`case volume name '${name}' must be letters, digits, '.', '_' or '-'`);
    if (!Number.isInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % 512 !== 0)
      throw new Error(`case volume '${name}': size ${sizeBytes} must be a positive multiple of 512 bytes`);
    const known = this.volumes.get(name);
    if (known) {
      if (known.sizeBytes !== sizeBytes)
        throw new Error(`case volume '${name}' exists with ${known.sizeBytes} bytes; asked for ${sizeBytes}`);
      return known;
    }
    // The file appears when a server first opens it: plans that never boot (a boot-free
    // sweep) leave nothing on disk.
    let path: string | undefined;
    const volume: CaseVolume = {
      name,
      sizeBytes,
      get path() {
        path ??= create();
        return path;
      },
    };
    const create = (): string => {
      if (!this.dir) {
        this.dir = mkdtempSync(join(tmpdir(), "bootproof-volumes-"));
        this.unregister = registerTempDir(this.dir);
      }
      const file = join(this.dir, `${name}.img`);
      const fd = openSync(file, "wx");
      try {
        ftruncateSync(fd, sizeBytes);
      } finally {
        closeSync(fd);
      }
      return file;
    };
    this.volumes.set(name, volume);
    return volume;
  }

  /** Every volume asked for so far, in the order they were. */
  list(): CaseVolume[] {
    return [...this.volumes.values()];
  }

  /** Whether the volume's first bytes are exactly `image`'s (an image written onto it). */
  startsWith(volume: CaseVolume, image: Buffer): boolean {
    if (image.length > volume.sizeBytes) return false;
    const fd = openSync(volume.path, "r");
    try {
      const head = Buffer.alloc(image.length);
      let done = 0;
      while (done < head.length) {
        const n = readSync(fd, head, done, head.length - done, done);
        if (n === 0) break;
        done += n;
      }
      return done === head.length && head.equals(image);
    } finally {
      closeSync(fd);
    }
  }

  /** Removes every volume's file, once the case that shared them has ended. */
  release(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.unregister?.();
    this.dir = undefined;
    this.unregister = undefined;
    this.volumes.clear();
  }
}
