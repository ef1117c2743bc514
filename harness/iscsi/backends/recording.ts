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

/**
 * Byte ranges, merged when they touch or overlap: what a LU's writes changed. Recording is on
 * every write of every boot, so `add` is O(1): a write that continues the last one extends
 * it (a sequential stream stays one range), any other is appended; merging waits for `list`.
 */
export class ChangedRanges {
  private ranges: Array<[start: number, end: number]> = [];

  add(offset: number, length: number): void {
    if (length <= 0) return;
    const last = this.ranges.at(-1);
    if (last && offset >= last[0] && offset <= last[1]) last[1] = Math.max(last[1], offset + length);
    else this.ranges.push([offset, offset + length]);
  }

  /** The merged ranges as [offset, length], lowest first. */
  list(): Array<[offset: number, length: number]> {
    const sorted = [...this.ranges].sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const [start, end] of sorted) {
      const last = merged.at(-1);
      if (last && start <= last[1]) last[1] = Math.max(last[1], end);
      else merged.push([start, end]);
    }
    this.ranges = merged;
    return merged.map(([s, e]) => [s, e - s]);
  }

  get bytes(): number {
    return this.list().reduce((sum, [, length]) => sum + length, 0);
  }
}
