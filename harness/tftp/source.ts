// What a read transfer sends: the file's bytes ("octet") or their netascii form
// (LF → CR LF, CR → CR NUL; RFC 1350 / RFC 764). Octet reads are served from a read-ahead
// buffer so a lock-step transfer does not pay one filesystem call per 512-byte block.
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

const READ_AHEAD_BYTES = 256 * 1024;
/** netascii is converted in memory; text files this large are not what TFTP boots. */
const NETASCII_MAX_BYTES = 64 * 1024 * 1024;

export function octetSource(handle: fsp.FileHandle, size: number): TransferSource {
  let cacheOffset = 0;
  let cache = Buffer.alloc(0);
  return {
    size,
    read(offset, length) {
      const end = Math.min(offset + length, size);
      if (offset >= end) return Buffer.alloc(0);
      const cached = () => cache.subarray(offset - cacheOffset, Math.min(end, cacheOffset + cache.length) - cacheOffset);
      if (offset >= cacheOffset && end <= cacheOffset + cache.length) return cached();
      return (async () => {
        const want = Math.min(Math.max(end - offset, READ_AHEAD_BYTES), size - offset);
        const buffer = Buffer.allocUnsafe(want);
        let filled = 0;
        while (filled < want) {
          const { bytesRead } = await handle.read(buffer, filled, want - filled, offset + filled);
          if (bytesRead === 0) break; // file shrank while served: send what exists
          filled += bytesRead;
        }
        cacheOffset = offset;
        cache = buffer.subarray(0, filled);
        return cached();
      })();
    },
    close: () => handle.close(),
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
