// A backend that reports every byte range a write or a discard touches, so the harness can
// say afterwards which LUs a boot changed and where (a deploy must write one disk only).
import type { BlockBackend } from "./types.js";

export function recordChanges(backend: BlockBackend, onChange: (offset: number, length: number) => void): BlockBackend {
  return {
    get description() {
      return backend.description;
    },
    get sizeBytes() {
      return backend.sizeBytes;
    },
    get readOnly() {
      return backend.readOnly;
    },
    read: (into, offset) => backend.read(into, offset),
    write: async (data, offset, durable) => {
      await backend.write(data, offset, durable);
      onChange(offset, data.length);
    },
    flush: () => backend.flush(),
    discard: async (offset, length) => {
      await backend.discard(offset, length);
      onChange(offset, length);
    },
    close: () => backend.close(),
  };
}

/** Byte ranges, merged when they touch: what a LU's writes changed. */
export class ChangedRanges {
  private readonly ranges: Array<[start: number, end: number]> = [];

  add(offset: number, length: number): void {
    if (length <= 0) return;
    let start = offset;
    let end = offset + length;
    const kept: Array<[number, number]> = [];
    for (const [s, e] of this.ranges) {
      if (e < start || s > end) kept.push([s, e]);
      else {
        start = Math.min(start, s);
        end = Math.max(end, e);
      }
    }
    kept.push([start, end]);
    kept.sort((a, b) => a[0] - b[0]);
    this.ranges.splice(0, this.ranges.length, ...kept);
  }

  /** The merged ranges as [offset, length], lowest first. */
  list(): Array<[offset: number, length: number]> {
    return this.ranges.map(([s, e]) => [s, e - s]);
  }

  get bytes(): number {
    return this.ranges.reduce((sum, [s, e]) => sum + e - s, 0);
  }
}
