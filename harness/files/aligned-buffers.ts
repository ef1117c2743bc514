// Buffers that start on a 64-byte boundary, for what the servers read from files.
//
// Why: the kernel's copy from the page cache into a user buffer is much slower when the
// buffer starts 16 bytes past a 64-byte boundary, which is where glibc's malloc puts large
// blocks, hence every Buffer.allocUnsafe of more than 4 KiB. Measured on this host (AMD
// EPYC with FSRM, pread of a cached file, median): 1 MiB into a malloc'd Buffer 0.67 ms,
// into an aligned one 0.15 ms; 256 KiB 118 µs vs 30 µs; 64 KiB 29 µs vs 9 µs; 4 KiB 3.4 µs
// vs 2.6 µs. Writes from a misaligned buffer (to a file or a socket) were not slower.
// What counts is the distance between destination and source modulo 64 (the kernel's copy
// to user space is a `rep movsb`): a C sweep of pread from the page cache (source on a page)
// into buffer + d took 440-820 µs per MiB for every d from 1 to 31, and 70-115 µs at d = 0
// and for every d from 32 to 63 (2026-12-03; d = 0 and 32..63 alike over 200 interleaved
// reads). A client's copies out of a socket obey the same rule (a loopback TCP receive of
// 1 MiB into buffer + 20: about 700 µs; + 0 or + 36: about 230 µs), and that part is the
// client's: no server here guesses where a client's buffer lies.
//
// Node has no aligned allocation, but a WebAssembly.Memory's buffer starts on a page, so
// slices of one at multiples of 64 bytes are aligned. Every Memory also reserves about
// 10 GiB of address space (V8's guard regions), so buffers are cut from 16 MiB slabs rather
// than given a Memory each; a slab's memory returns once every buffer cut from it is gone,
// as with Node's own Buffer pool. That makes them right for buffers that are kept and reused
// (AlignedBufferPool) and wrong for per-request garbage: iSCSI READ buffers cut from slabs
// halved the target's 128 KiB QD32 throughput (bench/iscsi-perf.mjs, 1.65x -> 0.49x tgtd;
// every slab is a fresh mapping to fault in, and only a full GC releases one).
// Where WebAssembly is unavailable (--jitless) or a reservation fails, a plain Buffer is
// returned: slower, never wrong.

export const IO_ALIGNMENT = 64;
const PAGE_BYTES = 64 * 1024; // WebAssembly's page
const SLAB_BYTES = 16 * 1024 * 1024;
/** Larger buffers get a Memory of their own instead of a quarter of a slab or more. */
const OWN_MEMORY_FROM = SLAB_BYTES / 4;

let slab: ArrayBuffer | undefined;
let slabUsed = 0;
let wasmUsable = typeof WebAssembly === "object" && typeof WebAssembly.Memory === "function";

function memory(bytes: number): ArrayBuffer | undefined {
  if (!wasmUsable) return undefined;
  try {
    return new WebAssembly.Memory({ initial: Math.ceil(bytes / PAGE_BYTES) }).buffer;
  } catch {
    // Out of address space for guard regions: stop trying, plain buffers from here on.
    wasmUsable = false;
    return undefined;
  }
}

/** A new buffer of `size` bytes whose first byte is 64-byte aligned (uninitialised, like allocUnsafe). */
export function alignedBuffer(size: number): Buffer {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`alignedBuffer: size ${size}`);
  if (size >= OWN_MEMORY_FROM) {
    const own = memory(size);
    return own ? Buffer.from(own, 0, size) : Buffer.allocUnsafeSlow(size);
  }
  const rounded = Math.ceil(size / IO_ALIGNMENT) * IO_ALIGNMENT;
  if (!slab || slabUsed + rounded > slab.byteLength) {
    slab = memory(SLAB_BYTES);
    slabUsed = 0;
    if (!slab) return Buffer.allocUnsafeSlow(size);
  }
  const buffer = Buffer.from(slab, slabUsed, size);
  slabUsed += rounded;
  return buffer;
}

/**
 * Aligned buffers kept for reuse, by exact size: a server that reads the same sizes over and
 * over (a client's rsize) takes back what it gave, so it neither allocates nor cuts into new
 * slabs. Holds at most `maxFreeBytes` of free buffers; a buffer given beyond that is dropped.
 */
export class AlignedBufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private freeBytes = 0;
  private readonly issued = new WeakSet<Buffer>();
  private readonly idle = new WeakSet<Buffer>();

  constructor(private readonly maxFreeBytes = 32 * 1024 * 1024) {}

  take(size: number): Buffer {
    const buffer = this.free.get(size)?.pop();
    if (buffer) {
      this.idle.delete(buffer);
      this.freeBytes -= size;
      return buffer;
    }
    const fresh = alignedBuffer(size);
    this.issued.add(fresh);
    return fresh;
  }

  /** Back for reuse; the caller no longer touches it. Buffers this pool did not hand out, or given twice, are ignored. */
  give(buffer: Buffer): void {
    if (!this.issued.has(buffer) || this.idle.has(buffer) || this.freeBytes + buffer.length > this.maxFreeBytes) return;
    this.idle.add(buffer);
    let list = this.free.get(buffer.length);
    if (!list) {
      list = [];
      this.free.set(buffer.length, list);
    }
    list.push(buffer);
    this.freeBytes += buffer.length;
  }

  /** Bytes held for reuse (for tests). */
  get heldBytes(): number {
    return this.freeBytes;
  }
}

/** The process's pool for buffers that file reads land in (NFS READ replies and read-ahead, COW copy-up, HTTP bodies). */
export const fileReadBuffers = new AlignedBufferPool();
