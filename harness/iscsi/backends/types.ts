// What a logical unit stores its blocks in. Offsets and lengths are in bytes and always
// whole blocks; the SCSI layer checks ranges before calling.

export interface BlockBackend {
  /** Human description for logs and errors (a path, "memory"). */
  readonly description: string;
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  /** Fill `into` with the bytes at `offset` (bytes past the end of a short file read as zeros). */
  read(into: Buffer, offset: number): Promise<void>;
  /** Write `data` at `offset`; when `durable`, it is on stable storage before this resolves (FUA). */
  write(data: Buffer, offset: number, durable: boolean): Promise<void>;
  /** Make every acknowledged write durable (SYNCHRONIZE CACHE). */
  flush(): Promise<void>;
  /** Deallocate a range; later reads return zeros (UNMAP, WRITE SAME with UNMAP). */
  discard(offset: number, length: number): Promise<void>;
  close(): Promise<void>;
}

export type BackendSpec =
  | { kind: "file"; path: string; readOnly?: boolean }
  | {
      kind: "overlay";
      /** Read-only base image; never opened for writing, so many cases can share it. */
      base: string;
      /** Where the copy-on-write data goes; a private temporary file when omitted. */
      overlayPath?: string;
      /** Size of the LUN; defaults to the base image's size. */
      sizeBytes?: number;
    }
  | { kind: "memory"; sizeBytes: number; readOnly?: boolean };
