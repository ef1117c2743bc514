import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cachedEntry, contentAddressed } from "../../../firmware/cache.js";
import {
  describeProbeKernel,
  PROBE_KERNEL_CACHE_KIND,
  PROBE_KERNEL_DIR,
  probeKernelKey,
  probeKernelPackageVersion,
} from "../../../firmware/kernel/probe-kernel.js";
import { parseModulesBuiltin } from "../../../firmware/probe/modules.js";

let root: string;
const saved = process.env.BOOTPROOF_CACHE;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "bootproof-probe-kernel-"));
  process.env.BOOTPROOF_CACHE = root;
});
afterEach(async () => {
  if (saved === undefined) delete process.env.BOOTPROOF_CACHE;
  else process.env.BOOTPROOF_CACHE = saved;
  await rm(root, { recursive: true, force: true });
});

describe("the fast probe kernel's cache key", () => {
  it("changes with the source version and the fragment, and names both in the package version", () => {
    const key = probeKernelKey("6.1.192-3", "CONFIG_PCI=y\n");
    expect(key.source).toEqual({ packageName: "linux-source-6.1", packageVersion: "6.1.192-3" });
    expect(probeKernelKey("6.1.192-3", "CONFIG_PCI=y\n")).toEqual(key);
    expect(probeKernelKey("6.1.193-1", "CONFIG_PCI=y\n")).not.toEqual(key);
    expect(probeKernelKey("6.1.192-3", "CONFIG_PCI=y\nCONFIG_ACPI=y\n").fragment).not.toBe(key.fragment);
    expect(probeKernelPackageVersion(key)).toBe(`6.1.192-3+probe.${key.fragment.slice(0, 12)}.b${key.builder}`);
  });

  it("finds a finished build by its key only, and describes it as the fast kernel", async () => {
    const key = probeKernelKey("6.1.192-3", "CONFIG_PCI=y\n");
    expect(await cachedEntry(PROBE_KERNEL_CACHE_KIND, key)).toBeUndefined();
    const dir = await contentAddressed(PROBE_KERNEL_CACHE_KIND, key, async (work) => {
      const out = join(work, PROBE_KERNEL_DIR);
      await mkdir(join(out, "lib", "modules", "6.1.192-bootproof-probe"), { recursive: true });
      await writeFile(join(out, "vmlinuz"), "image");
      await writeFile(
        join(out, "kernel.json"),
        JSON.stringify({ release: "6.1.192-bootproof-probe", sourceVersion: "6.1.192-3" }),
      );
      return PROBE_KERNEL_DIR;
    });
    expect(await cachedEntry(PROBE_KERNEL_CACHE_KIND, key)).toBe(dir);
    expect(await cachedEntry(PROBE_KERNEL_CACHE_KIND, probeKernelKey("6.1.192-3", "CONFIG_ACPI=y\n"))).toBeUndefined();
    const kernel = await describeProbeKernel(dir, key);
    expect(kernel).toMatchObject({ flavor: "fast", release: "6.1.192-bootproof-probe", vmlinuz: join(dir, "vmlinuz") });
    await rm(join(dir, "vmlinuz"));
    await expect(describeProbeKernel(dir, key)).rejects.toThrow(/has no .*vmlinuz; delete .* and run `bootproof kernel build`/);
  });
});

describe("modules.builtin", () => {
  it("lists the built-in modules by normalized name", () => {
    const names = parseModulesBuiltin(
      "kernel/drivers/firmware/qemu_fw_cfg.ko\nkernel/fs/nfs/nfsv3.ko\nkernel/drivers/scsi/iscsi-boot-sysfs.ko\n\n",
    );
    expect([...names].sort()).toEqual(["iscsi_boot_sysfs", "nfsv3", "qemu_fw_cfg"]);
  });
});
