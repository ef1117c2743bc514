// Topology → a bootable, validated Machine: find the guest kernel, build the probe
// initramfs for exactly this machine's devices, build (or reuse from the cache) every boot
// medium, and fill in the file paths. All side effects are cache writes.
import type { Machine } from "../../emulator/machine.js";
import { MachineValidationError, parseMachine } from "../../emulator/validate.js";
import { findKernel, type KernelChoice } from "../../firmware/kernel/choice.js";
import { PROBE_KERNEL_BUILD_HINT } from "../../firmware/kernel/probe-kernel.js";
import type { GuestKernel } from "../../firmware/kernel.js";
import { buildMedia } from "../../firmware/media/build.js";
import type { MediaSpec } from "../../firmware/media/spec.js";
import { ROLE_KEY } from "../../firmware/observation.js";
import { buildProbeInitramfs } from "../../firmware/probe/initramfs.js";
import { modulesForMachine } from "../../firmware/probe/modules.js";
import { describeError, InfraError, InputError } from "../errors.js";
import type { Topology } from "../scenario.js";

/** `panic=-1` turns a guest panic into a reboot, which -no-reboot turns into a fast exit. */
export function guestCmdline(role: string, extra = ""): string {
  return `${ROLE_KEY}=${role} panic=-1 ${extra}`.trim();
}

/**
 * Validates the machine before anything is built (shape, collisions, references), so a bad
 * scenario fails in milliseconds; drive files may still be empty here.
 */
export function parseTopologyMachine(topology: Topology): Machine {
  try {
    return parseMachine(topology.machine);
  } catch (error) {
    throw new InputError(describeError(error));
  }
}

/** The guest kernel of this choice (default: the fast one once built, else Debian's). */
export async function requireGuestKernel(choice?: KernelChoice): Promise<GuestKernel> {
  const kernel = await findKernel(choice);
  if (!kernel) {
    throw new InfraError(
      choice === "fast"
        ? `--kernel fast: the fast probe kernel is not built for this checkout and source package; ${PROBE_KERNEL_BUILD_HINT}, or pass --kernel debian`
        : "the guest kernel is not in the cache: run `bootproof doctor --fix` (it downloads Debian's linux-image-amd64 with apt-get download and unpacks it into the cache, never into /boot)",
    );
  }
  return kernel;
}

export interface PrepareOptions {
  /** The kernel the probe runs (default: requireGuestKernel's). */
  kernel?: KernelChoice;
}

export async function prepareMachine(topology: Topology, options: PrepareOptions = {}): Promise<Machine> {
  return (await prepareBoot(topology, [], options)).machine;
}

/**
 * Builds everything one boot needs. `extraMedia` are media served from outside the
 * machine (iSCSI LUNs): they carry a probe built for this machine's devices too.
 */
export async function prepareBoot(
  topology: Topology,
  extraMedia: readonly MediaSpec[] = [],
  options: PrepareOptions = {},
): Promise<{ machine: Machine; extraMediaPaths: string[]; payload?: { kernel: string; initramfs: string } }> {
  const machine = structuredClone(parseTopologyMachine(topology));
  const media = topology.media ?? {};
  const extraMediaPaths: string[] = [];
  for (const driveId of Object.keys(media)) {
    if (!machine.drives.some((d) => d.id === driveId)) {
      throw new InputError(
        `topology.media names drive '${driveId}', but machine '${machine.name}' has no such drive; add it to drives[]`,
      );
    }
  }
  const needsProbe =
    topology.directBoot !== undefined ||
    topology.servesBootPayload === true ||
    [...Object.values(media), ...extraMedia].some((spec) => spec.kind !== "blank");
  // The kernel and the probe are found or built only when something boots with them.
  const probe = needsProbe ? await buildProbe(machine, topology, options.kernel) : undefined;
  const build = (spec: MediaSpec, what: string) =>
    buildMedia(spec, spec.kind === "blank" || !probe ? undefined : { ...probe, cmdline: guestCmdline(spec.role) }).catch(
      (error: unknown) => {
        throw new InfraError(`building ${spec.kind} media for ${what} failed: ${describeError(error)}`, { cause: error });
      },
    );
  for (const drive of machine.drives) {
    const spec = media[drive.id];
    if (spec) drive.file = await build(spec, `drive '${drive.id}'`);
  }
  for (const [index, spec] of extraMedia.entries()) extraMediaPaths.push(await build(spec, `served volume #${index}`));
  if (topology.directBoot && probe) {
    machine.directKernel = {
      kernel: probe.kernel.vmlinuz,
      initrd: probe.initramfs,
      cmdline: `console=ttyS0,115200 ${guestCmdline(topology.directBoot.role, topology.directBoot.extraCmdline)}`,
    };
  }
  try {
    const payload =
      topology.servesBootPayload && probe ? { kernel: probe.kernel.vmlinuz, initramfs: probe.initramfs } : undefined;
    return { machine: parseMachine(machine, { checkFiles: true }), extraMediaPaths, ...(payload ? { payload } : {}) };
  } catch (error) {
    if (error instanceof MachineValidationError) throw new InputError(error.message);
    throw error;
  }
}

/** The guest kernel plus a probe initramfs with exactly the modules this machine needs. */
async function buildProbe(
  machine: Machine,
  topology: Topology,
  choice: KernelChoice | undefined,
): Promise<{ kernel: GuestKernel; initramfs: string }> {
  const kernel = await requireGuestKernel(choice);
  const modules = [...new Set([...modulesForMachine(machine), ...(topology.extraProbeModules ?? [])])];
  const initramfs = await buildProbeInitramfs(kernel, modules).catch((error: unknown) => {
    throw new InfraError(`building the probe initramfs failed: ${describeError(error)}`, { cause: error });
  });
  return { kernel, initramfs };
}
