import { type Command, CommanderError } from "commander";
import { afterEach, describe, expect, it } from "vitest";
import { defaultKernelChoice, FAST_KERNEL_IS_DEFAULT, isKernelChoice } from "../../../firmware/kernel/choice.js";
import { buildCli } from "../../../harness/cli/main.js";
import { formatDoctorReport } from "../../../harness/doctor/doctor.js";

const saved = process.env.BOOTPROOF_KERNEL;
afterEach(() => {
  if (saved === undefined) delete process.env.BOOTPROOF_KERNEL;
  else process.env.BOOTPROOF_KERNEL = saved;
});

/** Parses argv with the real CLI definition, output swallowed; returns commander's error code. */
async function usageError(argv: string[]): Promise<string | undefined> {
  const program = buildCli();
  const silent = { writeErr: () => {}, writeOut: () => {} };
  const quiet = (command: Command) => {
    command.configureOutput(silent);
    for (const sub of command.commands) quiet(sub);
  };
  quiet(program);
  try {
    await program.parseAsync(["node", "bootproof", ...argv]);
    return undefined;
  } catch (error) {
    if (error instanceof CommanderError) return error.code;
    throw error;
  }
}

describe("choosing the kernel", () => {
  it("knows the two kernels", () => {
    expect(isKernelChoice("fast")).toBe(true);
    expect(isKernelChoice("debian")).toBe(true);
    expect(isKernelChoice("Fast")).toBe(false);
    expect(isKernelChoice(undefined)).toBe(false);
  });

  it("takes $BOOTPROOF_KERNEL as the default and refuses a value it does not know", async () => {
    process.env.BOOTPROOF_KERNEL = "fast";
    expect(await defaultKernelChoice()).toBe("fast");
    process.env.BOOTPROOF_KERNEL = "debian";
    expect(await defaultKernelChoice()).toBe("debian");
    process.env.BOOTPROOF_KERNEL = "tiny";
    await expect(defaultKernelChoice()).rejects.toThrow("BOOTPROOF_KERNEL is 'tiny'; it must be one of fast, debian");
    delete process.env.BOOTPROOF_KERNEL;
    if (!FAST_KERNEL_IS_DEFAULT) expect(await defaultKernelChoice()).toBe("debian");
  });

  it("rejects an unknown --kernel on run and replay before anything runs", async () => {
    expect(await usageError(["run", "smoke", "--kernel", "tiny"])).toBe("commander.invalidArgument");
    expect(await usageError(["replay", "/nonexistent", "--kernel", "tiny"])).toBe("commander.invalidArgument");
    expect(await usageError(["kernel", "build", "--jobs", "0"])).toBe("commander.invalidArgument");
  });
});

describe("doctor on the kernels", () => {
  it("says whether the fast kernel is built and which kernel is the default", () => {
    const base = { groups: ["run" as const], missing: [], installed: [], fixCommands: [], kernel: undefined, ok: false };
    const notBuilt = formatDoctorReport({ ...base, defaultKernel: "debian" });
    expect(notBuilt).toContain("fast probe kernel: not built; run `bootproof kernel build`");
    expect(notBuilt).toMatch(/^default kernel: debian /m);
    const fast = {
      flavor: "fast" as const,
      release: "6.1.192-bootproof-probe",
      packageName: "linux-source-6.1",
      packageVersion: "6.1.192-3+probe.0123456789ab.b1",
      vmlinuz: "/cache/probe-kernel/x/kernel/vmlinuz",
      modulesDir: "/cache/probe-kernel/x/kernel/lib/modules/6.1.192-bootproof-probe",
    };
    const built = formatDoctorReport({ ...base, fastKernel: fast, defaultKernel: "fast" });
    expect(built).toContain("fast probe kernel: 6.1.192-bootproof-probe (/cache/probe-kernel/x/kernel/vmlinuz)");
    expect(built).toMatch(/^default kernel: fast /m);
  });
});
