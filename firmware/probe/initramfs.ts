// The probe initramfs: static busybox with its applet links, the kernel modules a machine
// needs (in load order), and /init (init.sh). Built as a gzip newc cpio in the cache, once
// per distinct (kernel, module set, init script, busybox) combination.
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { contentAddressed } from "../cache.js";
import { fileDigest } from "../file-digest.js";
import type { GuestKernel } from "../kernel.js";
import { requireBootFile, runTool } from "../media/tools.js";
import { packageFile } from "../package-file.js";
import { type CpioEntry, gzipCpio } from "./cpio.js";
import { isStaticExecutable } from "./elf.js";
import { MODULE_PARAMETERS, type ModuleFile, moduleGuestPath, normalizeModuleName, resolveModuleLoadOrder } from "./modules.js";

/** Bump when the image layout changes in a way the key does not capture. */
const INITRAMFS_BUILDER_VERSION = 2;
export const PROBE_INITRAMFS_FILE = "probe.cpio.gz";
/** Inside the initramfs: one "name path [parameters]" line per module, in load order. */
export const MODULE_LIST_PATH = "etc/bootproof/modules";

/** init.sh ships in the package's firmware/probe folder. */
export async function probeInitScript(): Promise<string> {
  return readFile(await packageFile("firmware/probe/init.sh", import.meta.url), "utf8");
}

/** The POSIX suite /init runs on an NFS root when asked (bootproof.nfs_suite=1). */
export const NFS_SUITE_PATH = "bin/bootproof-nfs-suite";
async function nfsSuiteScript(): Promise<string> {
  return readFile(await packageFile("firmware/probe/nfs-suite.sh", import.meta.url), "utf8");
}

/** The module list /init reads: dependencies first, with insmod parameters. */
export function renderModuleList(kernel: GuestKernel, modules: readonly ModuleFile[]): string {
  return modules
    .map((m) => [m.name, moduleGuestPath(kernel, m), MODULE_PARAMETERS[m.name] ?? ""].join(" ").trimEnd())
    .map((line) => `${line}\n`)
    .join("");
}

async function busyboxApplets(busybox: string): Promise<string[]> {
  const { stdout } = await runTool(busybox, ["--list"]);
  return stdout
    .split("\n")
    .map((a) => a.trim())
    .filter((a) => /^[A-Za-z0-9_.[-]+$/.test(a) && a !== "busybox");
}

export async function buildProbeInitramfs(kernel: GuestKernel, moduleNames: string[]): Promise<string> {
  const initScript = await probeInitScript();
  const nfsSuite = await nfsSuiteScript();
  const busybox = await requireBootFile("busybox");
  // The key holds only what is cheap to know: the requested names (their load order follows
  // from them and the kernel), the parameters, the script and busybox. Resolving the
  // dependencies reads hundreds of module files, so it happens only when building.
  const key = {
    builder: INITRAMFS_BUILDER_VERSION,
    kernel: { packageName: kernel.packageName, packageVersion: kernel.packageVersion, release: kernel.release },
    modules: moduleNames.map(normalizeModuleName),
    parameters: MODULE_PARAMETERS,
    init: createHash("sha256").update(initScript).digest("hex"),
    nfsSuite: createHash("sha256").update(nfsSuite).digest("hex"),
    busybox: await fileDigest(busybox),
  };
  return contentAddressed("probe-initramfs", key, async (workDir) => {
    const modules = await resolveModuleLoadOrder(kernel, moduleNames);
    const busyboxBytes = await readFile(busybox);
    if (!isStaticExecutable(busyboxBytes, busybox)) {
      throw new Error(`${busybox} is dynamically linked; the probe needs the static one: apt-get install -y busybox-static`);
    }
    const entries: CpioEntry[] = [
      { type: "dir", path: "dev" },
      // The kernel opens /dev/console before /init runs (devtmpfs is mounted later).
      { type: "char", path: "dev/console", major: 5, minor: 1, mode: 0o600 },
      { type: "dir", path: "proc" },
      { type: "dir", path: "sys" },
      { type: "dir", path: "tmp", mode: 0o1777 },
      { type: "file", path: "bin/busybox", data: busyboxBytes, mode: 0o755 },
      ...(await busyboxApplets(busybox)).map(
        (applet): CpioEntry => ({ type: "symlink", path: `bin/${applet}`, target: "busybox" }),
      ),
      { type: "symlink", path: "sbin", target: "bin" },
      { type: "file", path: "init", data: Buffer.from(initScript), mode: 0o755 },
      { type: "file", path: NFS_SUITE_PATH, data: Buffer.from(nfsSuite), mode: 0o755 },
      { type: "file", path: MODULE_LIST_PATH, data: Buffer.from(renderModuleList(kernel, modules)) },
    ];
    for (const module of modules) {
      entries.push({ type: "file", path: moduleGuestPath(kernel, module), data: await readFile(module.path) });
    }
    await writeFile(`${workDir}/${PROBE_INITRAMFS_FILE}`, gzipCpio(entries));
    return PROBE_INITRAMFS_FILE;
  });
}
