import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { prepareMachine } from "../../../harness/boot/prepare.js";
import { ensureRequirements, formatDoctorReport } from "../../../harness/doctor/doctor.js";
import {
  aptInstallCommand,
  missingRequirements,
  packagesOf,
  REQUIREMENT_GROUPS,
  type RequirementGroup,
  SYSTEM_REQUIREMENTS,
} from "../../../harness/doctor/requirements.js";
import { InfraError } from "../../../harness/errors.js";

describe("doctor requirements", () => {
  it("names the Debian package when QEMU is not installed", () => {
    const missing = missingRequirements((path) => path !== "/usr/bin/qemu-system-x86_64");
    expect(missing.map((r) => r.debianPackage)).toEqual(["qemu-system-x86"]);
    const text = formatDoctorReport({
      groups: ["run", "test"],
      missing,
      installed: [],
      kernel: undefined,
      ok: false,
      fixCommands: [aptInstallCommand(["qemu-system-x86"]).join(" ")],
    });
    expect(text).toContain("MISSING qemu-system-x86 (/usr/bin/qemu-system-x86_64): runs the guests [run]");
    expect(text).toContain("apt-get install -y --no-install-recommends qemu-system-x86");
    expect(text).toContain("MISSING guest kernel");
  });

  it("separates what booting needs from what tests need", () => {
    const runOnly = missingRequirements(() => false, ["run"]);
    expect(runOnly.every((r) => r.group === "run")).toBe(true);
    expect(runOnly.map((r) => r.debianPackage)).toContain("ovmf");
    expect(missingRequirements(() => false).length).toBe(SYSTEM_REQUIREMENTS.length);
  });

  const packagesIn = (group: RequirementGroup) => packagesOf(missingRequirements(() => false, [group]));

  it("puts the real OpenStack code in its own groups, installed only when asked for", () => {
    expect(packagesIn("real-nova")).toEqual(["python3-nova", "python3-libvirt", "libvirt-daemon-driver-qemu", "libvirt-clients"]);
    expect(packagesIn("real-ironic")).toEqual(["python3-ironic", "python3-ironic-lib"]);
    expect(packagesIn("real-sahara")).toEqual(["python3-sahara"]);
    const everyday = packagesOf(missingRequirements(() => false, ["run", "test"]));
    expect(everyday.filter((p) => p.startsWith("python3-") || p.startsWith("libvirt"))).toEqual([]);
  });

  it("has requirements in every group and one probe file per package", () => {
    for (const group of REQUIREMENT_GROUPS) expect(packagesIn(group).length).toBeGreaterThan(0);
    const probes = SYSTEM_REQUIREMENTS.map((r) => r.probeFile);
    expect(new Set(probes).size).toBe(probes.length);
    expect(probes.every((p) => p.startsWith("/"))).toBe(true);
    expect(packagesOf(SYSTEM_REQUIREMENTS)).toHaveLength(SYSTEM_REQUIREMENTS.length);
  });

  it("installs missing packages of several groups with one apt-get command", () => {
    const missing = missingRequirements((path) => !path.includes("dist-packages/nova/") && !path.endsWith("/virsh"));
    expect(aptInstallCommand(packagesOf(missing)).join(" ")).toBe(
      "apt-get install -y --no-install-recommends python3-nova libvirt-clients",
    );
  });

  it("ensureRequirements only checks files when the groups are installed (as the test setup made them)", async () => {
    const log = vi.fn();
    const started = performance.now();
    const report = await ensureRequirements(["run", "real-nova"], { fix: false, log });
    expect(performance.now() - started).toBeLessThan(200);
    expect(report).toEqual({ groups: ["run", "real-nova"], missing: [], installed: [], fixCommands: [] });
    expect(log).not.toHaveBeenCalled();
  });
});

describe("missing guest kernel", () => {
  const saved = process.env.BOOTPROOF_CACHE;
  let empty: string | undefined;
  afterEach(async () => {
    if (saved === undefined) delete process.env.BOOTPROOF_CACHE;
    else process.env.BOOTPROOF_CACHE = saved;
    if (empty) await rm(empty, { recursive: true, force: true });
  });

  it("is an infra-error that says how to get it", async () => {
    empty = await mkdtemp(join(tmpdir(), "bp-empty-cache-"));
    process.env.BOOTPROOF_CACHE = empty;
    const attempt = prepareMachine({ machine: { name: "m" }, directBoot: { role: "root" } });
    await expect(attempt).rejects.toBeInstanceOf(InfraError);
    await expect(attempt).rejects.toThrow(/guest kernel is not in the cache: run `bootproof doctor --fix`/);
  });
});
