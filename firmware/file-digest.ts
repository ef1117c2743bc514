// sha256 of the files cache keys depend on (busybox, user images, kernels outside the cache).
// Hashing megabytes on every run would cost start-up time that counts against every boot,
// so a digest is remembered, in memory and in the cache directory, next to the file's
// identity (device, inode, size, mtime and ctime, as git's index does): a changed file
// changes at least its ctime, which nothing but the kernel can set.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { cacheRoot } from "./cache.js";

const DIGEST_RECORDS = "digests";

interface DigestRecord {
  path: string;
  identity: string;
  sha256: string;
}

const memo = new Map<string, { identity: string; digest: Promise<string> }>();

export async function fileDigest(path: string): Promise<string> {
  // A file inside a content-addressed entry is immutable and already named by the hash of
  // everything it was built from: that name is its identity.
  const inCache = relative(cacheRoot(), path);
  if (/^[^/]+\/[0-9a-f]{64}\//.test(inCache)) return `cache:${inCache}`;
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot hash ${path}: ${error.code === "ENOENT" ? "no such file" : error.message}`);
  });
  if (!info.isFile()) throw new Error(`cannot hash ${path}: not a regular file`);
  const identity = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
  const known = memo.get(path);
  if (known && known.identity === identity) return known.digest;
  const digest = recordedOrHashed(path, identity);
  memo.set(path, { identity, digest });
  digest.catch(() => memo.delete(path));
  return digest;
}

function recordFile(path: string): string {
  return join(cacheRoot(), DIGEST_RECORDS, `${createHash("sha256").update(path).digest("hex")}.json`);
}

async function recordedOrHashed(path: string, identity: string): Promise<string> {
  const recordPath = recordFile(path);
  const recorded = await readFile(recordPath, "utf8")
    .then((text) => JSON.parse(text) as Partial<DigestRecord>)
    .catch(() => undefined);
  if (recorded?.path === path && recorded.identity === identity && typeof recorded.sha256 === "string") return recorded.sha256;
  const sha256 = await hashFile(path);
  // Best effort: a record that cannot be written only means hashing again next time. The
  // rename makes a record appear whole or not at all.
  try {
    await mkdir(join(cacheRoot(), DIGEST_RECORDS), { recursive: true });
    const temp = `${recordPath}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify({ path, identity, sha256 } satisfies DigestRecord));
    await rename(temp, recordPath);
  } catch {
    // read-only cache directory
  }
  return sha256;
}

function hashFile(path: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", (error) => reject(new Error(`cannot hash ${path}: ${error.message}`)))
      .on("end", () => resolve(hash.digest("hex")));
  });
}
