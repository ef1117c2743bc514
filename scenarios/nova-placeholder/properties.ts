// Boot properties: what the guest of the new server saw. It must boot the volume the spec
// says (its role marker), whose block device has that volume's serial and size, on the root
// device; and it must see every other mapped volume with its size.
import type { DomainBootRecord, Property } from "../../harness/scenario.js";
import { fail, isOutcome, observedOrFailure, pass } from "../common/outcomes.js";
import type { PlaceholderCase } from "./case.js";
import { expectationFor, guestSerialMatches, volumeDisks } from "./decision-reading.js";
import { decisionOf, PLACEHOLDER_BOOT } from "./driver.js";

type PlaceholderProperty = Property<PlaceholderCase, DomainBootRecord>;
const GiB = 1024 ** 3;

/** The new server's boot and Nova's build, or why there is nothing to judge. */
function bootAndBuild(input: PlaceholderCase, boots: Record<string, DomainBootRecord>) {
  const boot = boots[PLACEHOLDER_BOOT];
  const { server } = decisionOf(input);
  const expected = expectationFor(input);
  // No guest: Nova refused (the static properties judged whether it should have).
  if (!boot || server?.outcome !== "built" || expected.outcome !== "boots") return undefined;
  return { boot, built: server, expected };
}

export const guestBootsTheRootVolume: PlaceholderProperty = {
  name: "PB1-guest-boots-the-root-volume",
  description:
    "the guest boots the volume the spec says (its role marker); its root block device carries that volume's serial and size, under the root device's name",
  check(input, boots) {
    const found = bootAndBuild(input, boots);
    if (!found) return pass();
    const { boot, built, expected } = found;
    const observation = observedOrFailure(boot);
    if (isOutcome(observation)) return observation;
    if (observation.role !== expected.root.content)
      return fail(
        `the guest booted '${observation.role ?? "nothing it could name"}', the spec's root is ${expected.root.content}: ${expected.root.origin}`,
      );
    const root = volumeDisks(input, built).find((d) => d.disk.root);
    if (!root?.disk.volumeId) return fail("Nova's domain has no root volume to find in the guest");
    const device = observation.blockDevices.find((b) => guestSerialMatches(b.serial, root.disk.volumeId!));
    if (!device)
      return fail(
        `no block device in the guest has the root volume's serial ${root.disk.volumeId} (the guest saw ${observation.blockDevices.map((b) => `${b.name}:${b.serial}`).join(", ")})`,
      );
    if (device.sizeBytes !== expected.root.sizeGb * GiB)
      return fail(`the root volume ${device.name} has ${device.sizeBytes} bytes, the spec's root is ${expected.root.sizeGb} GiB`);
    if (expected.root.device !== undefined && device.name !== expected.root.device)
      return fail(`the guest sees the root volume as ${device.name}, the image maps it on ${expected.root.device}`);
    return pass();
  },
};

export const guestSeesEveryVolume: PlaceholderProperty = {
  name: "PB2-guest-sees-every-mapped-volume",
  description: "every other volume of Nova's domain is a block device of the guest with its serial and its size",
  check(input, boots) {
    const found = bootAndBuild(input, boots);
    if (!found) return pass();
    const { boot, built } = found;
    const observation = observedOrFailure(boot);
    if (isOutcome(observation)) return observation;
    for (const { disk, volume } of volumeDisks(input, built).filter((d) => !d.disk.root)) {
      const device = observation.blockDevices.find((b) => guestSerialMatches(b.serial, disk.volumeId!));
      if (!device) return fail(`the guest has no block device with the serial of volume ${disk.volumeId} (Nova's ${disk.dev})`);
      if (volume && device.sizeBytes !== volume.sizeGb * GiB)
        return fail(`volume ${disk.volumeId} is ${device.sizeBytes} bytes in the guest, ${volume.sizeGb} GiB in Cinder`);
    }
    return pass();
  },
};

export const placeholderBootProperties: PlaceholderProperty[] = [guestBootsTheRootVolume, guestSeesEveryVolume];
