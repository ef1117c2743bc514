// Which kernel a boot's probe runs: `--kernel fast|debian`. Without a choice the fast kernel
// is used once it is built, Debian's until then; a run resolves the choice once, records it
// (summary.json, case.json) and replays use the recorded one.
import { findGuestKernel, GUEST_KERNEL_PACKAGE_HINT, type GuestKernel, type KernelFlavor } from "../kernel.js";
import { findProbeKernel, PROBE_KERNEL_BUILD_HINT } from "./probe-kernel.js";

export type KernelChoice = KernelFlavor;
export const KERNEL_CHOICES: readonly KernelChoice[] = ["fast", "debian"];

export function isKernelChoice(value: unknown): value is KernelChoice {
  return typeof value === "string" && (KERNEL_CHOICES as readonly string[]).includes(value);
}

/**
 * Whether a built fast kernel is the default. On since the whole test suite passed on it
 * (`BOOTPROOF_KERNEL=fast npm test`); the fidelity test and the bench choose it explicitly.
 */
export const FAST_KERNEL_IS_DEFAULT = true;

/** $BOOTPROOF_KERNEL, when set: the default for every run of this process. */
function kernelFromEnvironment(): KernelChoice | undefined {
  const value = process.env.BOOTPROOF_KERNEL;
  if (value === undefined || value === "") return undefined;
  if (!isKernelChoice(value)) throw new Error(`BOOTPROOF_KERNEL is '${value}'; it must be one of ${KERNEL_CHOICES.join(", ")}`);
  return value;
}

/** The kernel used when none is asked for: $BOOTPROOF_KERNEL, else fast once built (when that is the default), else debian. */
export async function defaultKernelChoice(): Promise<KernelChoice> {
  const fromEnvironment = kernelFromEnvironment();
  if (fromEnvironment) return fromEnvironment;
  return FAST_KERNEL_IS_DEFAULT && (await findProbeKernel()) ? "fast" : "debian";
}

/** The cached kernel of this choice (the default when undefined); undefined when it is not there. */
export async function findKernel(choice?: KernelChoice): Promise<GuestKernel | undefined> {
  const chosen = choice ?? (await defaultKernelChoice());
  return chosen === "fast" ? findProbeKernel() : findGuestKernel();
}

/** What to run when the kernel of this choice is missing. */
export function kernelMissingHint(choice: KernelChoice | undefined): string {
  return choice === "fast" ? PROBE_KERNEL_BUILD_HINT : GUEST_KERNEL_PACKAGE_HINT;
}
