// Content-addressed build cache for everything the guest runs (kernel, probe initramfs,
// boot media). An entry is built once per distinct key and never modified afterwards:
// cases that write to an image do so through copy-on-write overlays.
//
// Layout: <cacheRoot>/<kind>/<sha256 of key>/<file>, plus a small ".entry.json" next to the
// file that names it. The entry directory only ever appears through an atomic rename of a
// fully built temporary directory, so a present entry is always complete, two processes
// building the same key never see each other's half-written files (the loser of the rename
// race discards its copy), and a failed build leaves nothing behind.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, join, normalize, sep } from "node:path";
import { byCodePoint } from "./code-point-order.js";

/** Bump when the cache layout or the meaning of keys changes: old entries are then ignored. */
const CACHE_FORMAT_VERSION = 1;
const ENTRY_MANIFEST = ".entry.json";
const TEMP_PREFIX = ".tmp-";
/** Temporary build directories older than this belong to crashed builds and are removed. */
const STALE_TEMP_MS = 6 * 60 * 60 * 1000;

export function cacheRoot(): string {
  const configured = process.env.BOOTPROOF_CACHE;
  if (configured && configured.trim() !== "") return configured;
  return join(homedir(), ".cache", "bootproof");
}

/** JSON with object keys sorted, so equal keys always hash equally. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => byCodePoint(a, b)));
    }
    return v;
  });
}

export function cacheKeyHash(kind: string, key: unknown): string {
  return createHash("sha256")
    .update(stableJson({ cacheFormat: CACHE_FORMAT_VERSION, kind, key }))
    .digest("hex");
}

function checkKind(kind: string): void {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(kind)) {
    throw new Error(`cache kind '${kind}' must be lower-case letters, digits, '_' or '-' (it becomes a directory name)`);
  }
}

interface EntryManifest {
  file: string;
  key: unknown;
  builtAt: string;
}

async function readEntry(entryDir: string): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await readFile(join(entryDir, ENTRY_MANIFEST), "utf8")) as EntryManifest;
    return join(entryDir, manifest.file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cache entry ${entryDir} is damaged (${(error as Error).message}); delete that directory to rebuild it`);
  }
}

function checkProducedName(kind: string, name: string): string {
  const normalized = typeof name === "string" ? normalize(name) : "";
  if (
    name === "" ||
    isAbsolute(name) ||
    normalized.includes(sep) ||
    normalized === "." ||
    normalized === ".." ||
    normalized === ENTRY_MANIFEST
  ) {
    throw new Error(
      `cache builder for '${kind}' returned '${name}': it must return the plain name of a file it created in its work directory`,
    );
  }
  return normalized;
}

async function removeStaleTemps(kindDir: string): Promise<void> {
  const now = Date.now();
  for (const name of await readdir(kindDir).catch(() => [] as string[])) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const path = join(kindDir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && now - info.mtimeMs > STALE_TEMP_MS) await rm(path, { recursive: true, force: true });
  }
}

/** The cached file for (kind, key) if it was built, without building it. */
export async function cachedEntry(kind: string, key: unknown): Promise<string | undefined> {
  checkKind(kind);
  return readEntry(join(cacheRoot(), kind, cacheKeyHash(kind, key)));
}

/** Builds running in this process, so concurrent callers of one key share one build. */
const inFlight = new Map<string, Promise<string>>();

/**
 * Returns the cached file for (kind, key), building it first if needed. `build` gets an
 * empty work directory inside the cache and returns the name of the file (or directory) it
 * produced there; everything else it leaves in the work directory is discarded. The key
 * must capture every input of the build, including the builder's own version.
 */
export async function contentAddressed(kind: string, key: unknown, build: (workDir: string) => Promise<string>): Promise<string> {
  checkKind(kind);
  const hash = cacheKeyHash(kind, key);
  const kindDir = join(cacheRoot(), kind);
  const entryDir = join(kindDir, hash);

  const existing = await readEntry(entryDir);
  if (existing) return existing;

  const pending = inFlight.get(entryDir);
  if (pending) return pending;
  const job = buildEntry(kind, key, kindDir, entryDir, build).finally(() => inFlight.delete(entryDir));
  inFlight.set(entryDir, job);
  return job;
}

async function buildEntry(
  kind: string,
  key: unknown,
  kindDir: string,
  entryDir: string,
  build: (workDir: string) => Promise<string>,
): Promise<string> {
  await mkdir(kindDir, { recursive: true });
  await removeStaleTemps(kindDir);
  const tempDir = await mkdtemp(join(kindDir, `${TEMP_PREFIX}${entryDir.slice(-12)}-`));
  try {
    const produced = checkProducedName(kind, await build(tempDir));
    const producedInfo = await stat(join(tempDir, produced)).catch(() => undefined);
    if (!producedInfo) {
      throw new Error(
        `cache builder for '${kind}' said it produced '${produced}', but ${join(tempDir, produced)} does not exist`,
      );
    }
    for (const name of await readdir(tempDir)) {
      if (name !== produced) await rm(join(tempDir, name), { recursive: true, force: true });
    }
    const manifest: EntryManifest = { file: produced, key, builtAt: new Date().toISOString() };
    await writeFile(join(tempDir, ENTRY_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    try {
      await rename(tempDir, entryDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
      // Another process finished the same key first: its entry is equivalent, keep it.
      await rm(tempDir, { recursive: true, force: true });
      const winner = await readEntry(entryDir);
      if (!winner) throw new Error(`cache entry ${entryDir} appeared without its manifest; delete it to rebuild`);
      return winner;
    }
    return join(entryDir, produced);
  } catch (error) {
    await rm(tempDir, { recursive: true, force: true });
    throw error;
  }
}
