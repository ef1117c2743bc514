// What a read transfer sends: the file's bytes ("octet") or their netascii form
// (LF → CR LF, CR → CR NUL; RFC 1350 / RFC 764). Octet reads are served from memory, a
// chunk at a time, and the next chunk is read while the current one is being sent: a
// lock-step transfer is bounded by per-packet latency, so it must never wait on the disk.
import type { promises as fsp } from "node:fs";
import { ErrorCode } from "./packets.js";
import { TftpRefusal } from "./paths.js";

export interface TransferSource {
  readonly size: number;
  /**
   * Bytes [offset, offset + length) clipped to the end; may share memory with a cache.
   * Synchronous when the bytes are already in memory (the common case per block).
   */
  read(offset: number, length: number): Buffer | Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * Read-ahead unit. Two chunks live per transfer (the one being sent, the one being read),
 * so many concurrent transfers stay cheap; one disk read per ~2000 blocks of 512.
 */
const CHUNK_BYTES = 1024 * 1024;
/** netascii is converted in memory; text files this large are not what TFTP boots. */
const NETASCII_MAX_BYTES = 64 * 1024 * 1024;

interface Chunk {
  offset: number;
  bytes: Buffer;
}

interface ReadAhead {
  offset: number;
  end: number;
  loading: Promise<Chunk>;
  /** Set once `loading` has settled, so a ready chunk is taken without an async hop. */
  ready?: Chunk;
}

const EMPTY = Buffer.alloc(0);

export function octetSource(handle: fsp.FileHandle, size: number): TransferSource {
  let current: Chunk = { offset: 0, bytes: EMPTY };
  let ahead: ReadAhead | undefined;
  let closed = false;

  const holds = (chunk: Chunk, offset: number, end: number) => offset >= chunk.offset && end <= chunk.offset + chunk.bytes.length;
  const slice = (chunk: Chunk, offset: number, end: number) =>
    chunk.bytes.subarray(offset - chunk.offset, Math.min(end, chunk.offset + chunk.bytes.length) - chunk.offset);
  // Chunks are whole multiples of the read size (blksize × windowsize in practice), so the
  // reads of a sequential transfer never straddle two chunks.
  const chunkLength = (unit: number) => Math.ceil(CHUNK_BYTES / unit) * unit;

  async function load(offset: number, length: number): Promise<Chunk> {
    const buffer = Buffer.allocUnsafe(Math.min(length, size - offset));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, offset + filled);
      if (bytesRead === 0) break; // file shrank while served: send what exists
      filled += bytesRead;
    }
    return { offset, bytes: buffer.subarray(0, filled) };
  }

  function readAhead(after: Chunk, unit: number): void {
    const offset = after.offset + after.bytes.length;
    if (closed || offset >= size) return;
    const length = chunkLength(unit);
    const entry: ReadAhead = { offset, end: Math.min(offset + length, size), loading: load(offset, length) };
    // Also marks the rejection handled; a transfer that needs the chunk sees it on await.
    entry.loading.then(
      (chunk) => {
        entry.ready = chunk;
      },
      () => {},
    );
    ahead = entry;
  }

  /** Past the middle of the current chunk, starts reading the one after it (once). */
  function keepAhead(end: number, unit: number): void {
    const next = current.offset + current.bytes.length;
    if (ahead?.offset !== next && end - current.offset > current.bytes.length / 2) readAhead(current, unit);
  }

  return {
    size,
    read(offset, length) {
      const end = Math.min(offset + length, size);
      if (offset >= end) return EMPTY;
      if (!holds(current, offset, end) && ahead?.ready && holds(ahead.ready, offset, end)) {
        current = ahead.ready;
        ahead = undefined;
      }
      if (holds(current, offset, end)) {
        keepAhead(end, length);
        return slice(current, offset, end);
      }
      return (async () => {
        let chunk: Chunk | undefined;
        if (ahead && offset >= ahead.offset && end <= ahead.end) {
          const pending = ahead;
          ahead = undefined;
          chunk = await pending.loading;
        }
        // Not read ahead (the first read, a jump back after loss, a moved window): read from here.
        if (!chunk || !holds(chunk, offset, end)) chunk = await load(offset, chunkLength(length));
        current = chunk;
        keepAhead(end, length);
        return slice(chunk, offset, end);
      })();
    },
    close: () => {
      closed = true;
      // FileHandle.close waits for a read still in flight.
      return handle.close();
    },
  };
}

export function toNetascii(bytes: Uint8Array): Buffer {
  let extra = 0;
  for (const b of bytes) if (b === 0x0a || b === 0x0d) extra++;
  const out = Buffer.allocUnsafe(bytes.length + extra);
  let j = 0;
  for (const b of bytes) {
    if (b === 0x0a) {
      out[j++] = 0x0d;
      out[j++] = 0x0a;
    } else if (b === 0x0d) {
      out[j++] = 0x0d;
      out[j++] = 0x00;
    } else {
      out[j++] = b;
    }
  }
  return out;
}

export async function netasciiSource(handle: fsp.FileHandle, size: number): Promise<TransferSource> {
  if (size > NETASCII_MAX_BYTES) {
    await handle.close();
    throw new TftpRefusal(ErrorCode.NOT_DEFINED, `file too large for netascii mode (${size} bytes); use octet mode`);
  }
  const text = toNetascii(await handle.readFile());
  await handle.close();
  return {
    size: text.length,
    read: (offset, length) => text.subarray(offset, Math.min(offset + length, text.length)),
    close: async () => {},
  };
}
