// The process edge of libvirt: one embedded QEMU driver (qemu:///embed, no daemon) per
// bootproof process, in its own root under the temp dir, served by the libvirt worker.
// libvirt probes QEMU's capabilities once per root (≈2 s); the probe's result is kept in the
// cache and copied into every new root, so only the first run on a host pays for it.
import { chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as z from "zod/mini";
import { registerTempDir } from "../../emulator/reaper.js";
import { cacheRoot } from "../../firmware/cache.js";
import { workerPythonDir, workerPythonFile } from "../openstack/python-dir.js";
import { type PythonWorker, workerFor } from "../openstack/worker.js";

/** Unprivileged user for the worker when bootproof runs as root (nobody:nogroup). */
const UNPRIVILEGED = { uid: 65534, gid: 65534 };

const LibvirtRefusalSchema = z.object({
  outcome: z.literal("refused"),
  error: z.object({ type: z.string(), code: z.number(), message: z.string() }),
});
export type LibvirtRefusal = z.infer<typeof LibvirtRefusalSchema>;

const DefineResultSchema = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal("defined"), name: z.string(), xml: z.string() }),
  LibvirtRefusalSchema,
]);
export type DefineResult = z.infer<typeof DefineResultSchema>;

const NativeResultSchema = z.discriminatedUnion("outcome", [
  z.object({ outcome: z.literal("native"), argv: z.array(z.string()), env: z.record(z.string(), z.string()) }),
  LibvirtRefusalSchema,
]);
export type NativeResult = z.infer<typeof NativeResultSchema>;

const EmptySchema = z.object({});

let embedded: EmbeddedLibvirt | undefined;

/** The process's embedded libvirt (created on first use). */
export function embeddedLibvirt(): EmbeddedLibvirt {
  embedded ??= new EmbeddedLibvirt();
  return embedded;
}

export class EmbeddedLibvirt {
  readonly root: string;
  private readonly worker: PythonWorker;
  private readonly unregisterRoot: () => void;
  private capabilitiesSaved = false;

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), "bootproof-libvirt-"));
    this.unregisterRoot = registerTempDir(this.root);
    const privileged = process.getuid?.() === 0;
    const cached = capabilitiesCacheDir();
    if (existsSync(cached)) cpSync(cached, join(this.root, "cache/qemu/capabilities"), { recursive: true });
    if (privileged) chownTree(this.root, UNPRIVILEGED);
    this.worker = workerFor({
      project: "libvirt",
      script: workerPythonFile("libvirt_worker.py"),
      pythonPath: [workerPythonDir()],
      env: { BOOTPROOF_LIBVIRT_ROOT: this.root, HOME: this.root, XDG_CACHE_HOME: join(this.root, "cache") },
      runAs: privileged ? UNPRIVILEGED : undefined,
      readyTimeoutMs: 120_000,
    });
  }

  async versions(): Promise<Record<string, string>> {
    await this.worker.start();
    this.saveCapabilities();
    return this.worker.versions;
  }

  /** Defines the domain; libvirt's dumpxml (every address it assigned) or its refusal. */
  async define(xml: string): Promise<DefineResult> {
    const result = await this.worker.request("define", { xml }, DefineResultSchema);
    this.saveCapabilities();
    return result;
  }

  /** QEMU's command line for a domain XML (as `virsh domxml-to-native qemu-argv`). */
  native(xml: string): Promise<NativeResult> {
    return this.worker.request("native", { xml }, NativeResultSchema);
  }

  async undefine(name: string): Promise<void> {
    await this.worker.request("undefine", { name }, EmptySchema);
  }

  /** Keeps the capability probe's result for the next process (atomic: copy, then rename). */
  private saveCapabilities(): void {
    if (this.capabilitiesSaved) return;
    const probed = join(this.root, "cache/qemu/capabilities");
    const target = capabilitiesCacheDir();
    if (!existsSync(probed) || readdirSync(probed).length === 0) return;
    this.capabilitiesSaved = true;
    if (existsSync(target)) return;
    try {
      mkdirSync(join(target, ".."), { recursive: true });
      const staging = `${target}.tmp-${process.pid}`;
      cpSync(probed, staging, { recursive: true });
      renameSync(staging, target);
    } catch {
      // Another process saved it first, or the cache is read-only: the next run probes again.
    }
  }

  async close(): Promise<void> {
    await this.worker.stop();
    rmSync(this.root, { recursive: true, force: true });
    this.unregisterRoot();
    if (embedded === this) embedded = undefined;
  }
}

function capabilitiesCacheDir(): string {
  return join(cacheRoot(), "libvirt", "qemu-capabilities");
}

function chownTree(path: string, owner: { uid: number; gid: number }): void {
  chownSync(path, owner.uid, owner.gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, owner);
    else chownSync(child, owner.uid, owner.gid);
  }
}

/** Stops the embedded libvirt of this process, if one was started. */
export async function closeEmbeddedLibvirt(): Promise<void> {
  await embedded?.close();
}
