// Generated node groups over what Sahara's API accepts: flavors with a root disk of 0-3 GiB
// (0 included: Sahara's own validation lets it through) and sometimes an ephemeral disk, boot
// from volume or not, 0-2 data volumes of 0-2 GiB, every volume type and availability zone the
// cloud has (or none), both local_to_instance flags, the boot_volume_* options, 1-2 instances,
// and the image's hardware (machine type pc / q35, firmware SeaBIOS / OVMF, as Glance image
// properties). Nothing is left out to make Sahara pass; the weights only make most cases boot.
import fc from "fast-check";
import type { SaharaNodeGroup } from "../../harness/openstack/sahara.js";
import { AVAILABILITY_ZONES, CINDER_VOLUME_TYPES, IMAGE_ID, type SaharaBfvCase } from "./case.js";

const optional = <T>(values: readonly T[]) => fc.constantFrom<T | null>(null, ...values);
/** true now and then (the options operators rarely set); shrinks to false. */
const sometimes = fc.integer({ min: 0, max: 3 }).map((n) => n === 3);
/** A weighted choice that shrinks towards the first (the common) one. */
const weighted = <T>(...choices: Array<{ arbitrary: fc.Arbitrary<T>; weight: number }>) =>
  fc.oneof({ withCrossShrink: true }, ...choices);

const flavor = fc.record({
  id: fc.constant("m1.sahara"),
  // Root disk 0 is a real flavor (Nova's "size of the image" flavors); weighted so most cases boot.
  diskGb: weighted({ arbitrary: fc.integer({ min: 1, max: 3 }), weight: 5 }, { arbitrary: fc.constant(0), weight: 1 }),
  ramMb: fc.constant(512),
  vcpus: fc.constant(1),
  ephemeralGb: weighted({ arbitrary: fc.constant(0), weight: 4 }, { arbitrary: fc.constant(1), weight: 1 }),
});

export const nodeGroupArbitrary: fc.Arbitrary<SaharaNodeGroup> = fc.record({
  clusterName: fc.constant("bootproof"),
  name: fc.constantFrom("worker", "datanode"),
  flavor,
  imageId: fc.constant(IMAGE_ID),
  count: fc.integer({ min: 1, max: 2 }),
  availabilityZone: optional(AVAILABILITY_ZONES),
  bootFromVolume: weighted({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
  bootVolumeType: optional(CINDER_VOLUME_TYPES),
  bootVolumeAvailabilityZone: optional(AVAILABILITY_ZONES),
  bootVolumeLocalToInstance: sometimes,
  volumesPerNode: fc.integer({ min: 0, max: 2 }),
  volumesSizeGb: fc.integer({ min: 0, max: 2 }),
  volumeType: optional(CINDER_VOLUME_TYPES),
  volumesAvailabilityZone: optional(AVAILABILITY_ZONES),
  volumeLocalToInstance: sometimes,
});

export const saharaBfvCaseArbitrary: fc.Arbitrary<SaharaBfvCase> = fc.record({
  nodeGroup: nodeGroupArbitrary,
  image: fc.record({
    machineType: fc.constantFrom<"pc" | "q35">("pc", "q35"),
    firmware: fc.constantFrom<"seabios" | "ovmf">("seabios", "ovmf"),
  }),
});
