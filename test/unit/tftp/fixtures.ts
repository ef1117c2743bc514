// A served root with files of the sizes that matter (empty, exact block multiple, text,
// random, > 65535 blocks of 512 for rollover) and the escape hazards (symlink out of the
// root, symlink inside, a directory), plus helpers to run the external clients.
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

export interface ServedTree {
  root: string;
  outside: string;
  files: Record<string, Buffer>;
  cleanup(): void;
}

/** 65536 blocks of 512 bytes plus a partial one: block numbers wrap past 65535. */
export const ROLLOVER_BYTES = 65536 * 512 + 1000;

export function makeServedTree(options: { withRollover?: boolean } = {}): ServedTree {
  const base = mkdtempSync(join(tmpdir(), "bootproof-tftp-"));
  const root = join(base, "root");
  const outside = join(base, "outside");
  mkdirSync(join(root, "sub"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, "secret"), "outside the root\n");
  const files: Record<string, Buffer> = {
    "empty.bin": Buffer.alloc(0),
    "block-multiple.bin": randomBytes(512 * 4),
    "boot.ipxe": Buffer.from("#!ipxe\r\ndhcp\nchain tftp://10.0.2.2/next\n\rend\n"),
    "medium.bin": randomBytes(1_500_000),
    "sub/nested.bin": randomBytes(10_000),
  };
  if (options.withRollover) files["rollover.bin"] = randomBytes(ROLLOVER_BYTES);
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(root, name), bytes);
  symlinkSync(join(outside, "secret"), join(root, "escape-link"));
  symlinkSync(outside, join(root, "escape-dir"));
  symlinkSync("medium.bin", join(root, "inside-link"));
  return { root, outside, files, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

export const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

export async function curlGet(port: number, name: string, out: string, blksize?: number) {
  const args = ["-s", "-S", "--max-time", "60", "-o", out];
  if (blksize) args.push("--tftp-blksize", String(blksize));
  args.push(`tftp://127.0.0.1:${port}/${name}`);
  return execa("curl", args, { reject: false });
}

/** tftp-hpa's client; mode "binary" (octet) or "ascii" (netascii, its default). */
export async function hpaGet(port: number, name: string, out: string, mode: "binary" | "ascii" = "binary") {
  return execa("tftp", ["-m", mode, "127.0.0.1", String(port), "-c", "get", name, out], { reject: false, timeout: 60_000 });
}
