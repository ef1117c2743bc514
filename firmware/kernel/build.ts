// `bootproof kernel build`: the fast probe kernel from Debian's linux-source-6.1 tarball.
// Steps: unpack the tarball (without Documentation), config (`make allnoconfig` with
// probe.config forced on top, then checked line by line), make (bzImage and modules, -j of the
// host's cores), install (image, config and stripped modules into the entry). Everything
// happens in a temporary directory of the cache that becomes the entry by one atomic rename
// (firmware/cache.ts), so concurrent builds never see each other's files and a failed or
// interrupted build leaves no entry; the 1.3 GB source tree is dropped before the rename.

import { copyFile, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { registerTempDir } from "../../emulator/reaper.js";
import { cachedEntry, cacheRoot, contentAddressed } from "../cache.js";
import type { GuestKernel } from "../kernel.js";
import { KernelBuildError, type KernelBuildStep, runBuildStep } from "./build-step.js";
import { checkConfig, describeMismatches, parseKconfig } from "./config-fragment.js";
import {
  currentProbeKernelKey,
  describeProbeKernel,
  KERNEL_SOURCE_PACKAGE,
  KERNEL_SOURCE_TARBALL,
  PROBE_KERNEL_CACHE_KIND,
  PROBE_KERNEL_DIR,
  type ProbeKernelBuildInfo,
  probeConfigPath,
} from "./probe-kernel.js";

export interface KernelBuildProgress {
  step: KernelBuildStep;
  /** Since the build started. */
  elapsedMs: number;
  /** Files compiled so far (make's CC lines). */
  compiled: number;
  lastLine?: string;
}

export interface KernelBuildOptions {
  /** make -j (default: the host's cores). */
  jobs?: number;
  onProgress?: (progress: KernelBuildProgress) => void;
}

export interface KernelBuildResult {
  kernel: GuestKernel;
  /** False when the cache already held this build. */
  built: boolean;
  durationMs: number;
}

// Fixed build identity: the image does not depend on who built it when.
const REPRODUCIBLE_ENV = {
  KBUILD_BUILD_USER: "bootproof",
  KBUILD_BUILD_HOST: "bootproof",
  KBUILD_BUILD_TIMESTAMP: "2023-01-01",
};

export async function buildProbeKernel(options: KernelBuildOptions = {}): Promise<KernelBuildResult> {
  const started = performance.now();
  const key = await currentProbeKernelKey();
  if (!key) {
    throw new KernelBuildError(
      "unpack",
      `${KERNEL_SOURCE_PACKAGE} is not installed, so the probe kernel cannot be built: run \`bootproof doctor --fix\` as root (or apt-get install -y ${KERNEL_SOURCE_PACKAGE})`,
    );
  }
  const existing = await cachedEntry(PROBE_KERNEL_CACHE_KIND, key);
  if (existing) return { kernel: await describeProbeKernel(existing, key), built: false, durationMs: 0 };
  const fragmentPath = await probeConfigPath();
  const fragment = parseKconfig(await readFile(fragmentPath, "utf8"), fragmentPath);
  let compiled = 0;
  const report = (step: KernelBuildStep, lastLine?: string) =>
    options.onProgress?.({ step, elapsedMs: performance.now() - started, compiled, lastLine });

  const dir = await contentAddressed(PROBE_KERNEL_CACHE_KIND, key, async (workDir) => {
    const unregister = registerTempDir(workDir);
    try {
      const src = join(workDir, "src");
      const out = join(workDir, PROBE_KERNEL_DIR);
      await mkdir(src);
      await mkdir(out);
      const step = (name: KernelBuildStep, command: string, args: string[], onLine?: (line: string) => void) => {
        report(name);
        return runBuildStep({
          step: name,
          command,
          args,
          cwd: src,
          logFile: join(workDir, `${name}.log`),
          env: REPRODUCIBLE_ENV,
          onLine,
        }).catch(async (error: unknown) => {
          await keepFailedLog(workDir, name);
          if (!(error instanceof KernelBuildError)) throw error;
          throw new KernelBuildError(name, `${error.message}\n(whole log: ${failedLogPath(name)})`);
        });
      };
      const make = ["ARCH=x86_64", "-C", src];
      // Documentation is 60 MB of text the build never reads, except Documentation/Kconfig.
      await step("unpack", "tar", [
        "-xf",
        KERNEL_SOURCE_TARBALL,
        "--strip-components=1",
        "--exclude=*/Documentation/[!K]*",
        "-C",
        src,
      ]);
      await step("config", "make", [...make, `KCONFIG_ALLCONFIG=${fragmentPath}`, "allnoconfig"]);
      const resolved = parseKconfig(await readFile(join(src, ".config"), "utf8"), join(src, ".config"));
      const mismatches = checkConfig(fragment, resolved);
      if (mismatches.length > 0) {
        throw new KernelBuildError(
          "config",
          `the probe kernel build failed in its config step: Kconfig did not keep ${mismatches.length} line(s) of the fragment:\n${describeMismatches(mismatches, fragmentPath)}`,
        );
      }
      const jobs = options.jobs ?? availableParallelism();
      await step("make", "make", [...make, `-j${jobs}`, "bzImage", "modules"], (line) => {
        if (/^\s+CC\s/.test(line)) compiled += 1;
        report("make", line.trim());
      });
      report("install");
      const release = (await readFile(join(src, "include", "config", "kernel.release"), "utf8")).trim();
      await copyFile(join(src, "arch", "x86", "boot", "bzImage"), join(out, "vmlinuz"));
      await copyFile(join(src, ".config"), join(out, "config"));
      await step("install", "make", [...make, `INSTALL_MOD_PATH=${out}`, "INSTALL_MOD_STRIP=1", "modules_install"]);
      // The install links back into the build tree, which is about to go.
      for (const link of ["build", "source"]) await rm(join(out, "lib", "modules", release, link), { force: true });
      const info: ProbeKernelBuildInfo = { release, sourceVersion: key.source.packageVersion };
      await writeFile(join(out, "kernel.json"), `${JSON.stringify(info, null, 2)}\n`);
      await rm(src, { recursive: true, force: true });
      return PROBE_KERNEL_DIR;
    } finally {
      unregister();
    }
  });
  return { kernel: await describeProbeKernel(dir, key), built: true, durationMs: performance.now() - started };
}

/** A failed step's whole log outlives the discarded work directory, for the user to read. */
async function keepFailedLog(workDir: string, step: KernelBuildStep): Promise<void> {
  const logs = join(cacheRoot(), "logs");
  await mkdir(logs, { recursive: true });
  const names = await readdir(workDir).catch(() => [] as string[]);
  if (names.includes(`${step}.log`)) await copyFile(join(workDir, `${step}.log`), join(logs, `probe-kernel-${step}.log`));
}

/** Where keepFailedLog puts a failed step's log. */
export function failedLogPath(step: KernelBuildStep): string {
  return join(cacheRoot(), "logs", `probe-kernel-${step}.log`);
}
