// Sends a byte range of an open file as a response body, from aligned buffers that are reused.
//
// Why not createReadStream + pipeline: its 64 KiB chunks are fresh malloc'd Buffers, and the
// kernel's page-cache copy into one is about 3x slower than into an aligned buffer on the CI
// host (files/aligned-buffers.ts: 29 µs vs 9 µs per 64 KiB). Here each chunk is read into a
// pooled aligned buffer, handed to the response, and returned to the pool once the socket has
// taken it (the write callback). The next chunk is read while the socket drains the current
// one, and a response whose client stops reading waits on 'drain', so a slow client holds
// only its own two buffers.
import type { FileHandle } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { fileReadBuffers } from "../files/aligned-buffers.js";

const CHUNK_BYTES = 256 * 1024;

interface Chunk {
  buffer: Buffer;
  bytes: number;
}

/**
 * Writes bytes [first, first + length) of `file` to `res` (not ending it) and resolves with how
 * many were handed to the connection: fewer when the file shrank or the response closed
 * first. `onBytes` sees every chunk as it is handed on. A read error rejects.
 */
export async function writeFileRange(
  file: FileHandle,
  res: ServerResponse,
  first: number,
  length: number,
  onBytes: (bytes: number) => void,
): Promise<number> {
  const end = first + length;
  let closed = res.destroyed;
  const onClose = () => {
    closed = true;
  };
  res.once("close", onClose);
  const read = async (position: number): Promise<Chunk | undefined> => {
    const buffer = fileReadBuffers.take(CHUNK_BYTES);
    try {
      const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK_BYTES, end - position), position);
      if (bytesRead > 0) return { buffer, bytes: bytesRead };
    } catch (error) {
      fileReadBuffers.give(buffer);
      throw error;
    }
    fileReadBuffers.give(buffer); // the file shrank while served: send what exists
    return undefined;
  };
  let position = first;
  let sent = 0;
  let next = position < end ? read(position) : undefined;
  try {
    while (next) {
      const chunk = await next;
      next = undefined;
      if (!chunk) break;
      if (closed) {
        fileReadBuffers.give(chunk.buffer);
        break;
      }
      position += chunk.bytes;
      if (position < end) next = read(position);
      sent += chunk.bytes;
      onBytes(chunk.bytes);
      const { buffer } = chunk;
      // The callback runs once the socket took the bytes, or with an error when it never will.
      const flowing = res.write(buffer.subarray(0, chunk.bytes), () => fileReadBuffers.give(buffer));
      if (!flowing && !closed) await drainOrClose(res);
    }
  } finally {
    res.off("close", onClose);
    // A read still in flight when the loop stopped: its buffer goes back once it settles.
    void next?.then(
      (chunk) => chunk && fileReadBuffers.give(chunk.buffer),
      () => {},
    );
  }
  return sent;
}

/** Resolves on the response's next 'drain' or its 'close', whichever comes first. */
function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.once("drain", done);
    res.once("close", done);
  });
}
