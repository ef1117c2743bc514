import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { prepareMachine } from "../../../harness/boot/prepare.js";
import { formatDoctorReport } from "../../../harness/doctor/doctor.js";
import { aptInstallCommand, missingRequirements, SYSTEM_REQUIREMENTS } from "../../../harness/doctor/requirements.js";
import { InfraError } from "../../../harness/errors.js";

describe("doctor requirements", () => {
  it("names the Debian package when QEMU is not installed", () => {
    const missing = missingRequirements((path) => path !== "/usr/bin/qemu-system-x86_64");
    expect(missing.map((r) => r.debianPackage)).toEqual(["qemu-system-x86"]);
    const text = formatDoctorReport({
      missing,
      installed: [],
      kernel: undefined,
      ok: false,
      fixCommands: [aptInstallCommand(["qemu-system-x86"]).join(" ")],
    });
    expect(text).toContain("MISSING qemu-system-x86 (/usr/bin/qemu-system-x86_64): runs the guests");
    expect(text).toContain("apt-get install -y --no-install-recommends qemu-system-x86");
    expect(text).toContain("MISSING guest kernel");
  });

  it("separates what booting needs from what tests need", () => {
    const runOnly = missingRequirements(() => false, ["run"]);
    expect(runOnly.every((r) => r.group === "run")).toBe(true);
    expect(runOnly.map((r) => r.debianPackage)).toContain("ovmf");
    expect(missingRequirements(() => false).length).toBe(SYSTEM_REQUIREMENTS.length);
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
