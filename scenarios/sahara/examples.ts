// Named node groups: two that boot from a volume and pass, one image-backed, and one for each
// defect real Sahara shows (they fail before any guest starts: Heat would refuse the stack).
import type { SaharaNodeGroup } from "../../harness/openstack/sahara.js";
import { IMAGE_ID, type SaharaBfvCase } from "./case.js";

export const baseNodeGroup = (change: Partial<SaharaNodeGroup> = {}): SaharaNodeGroup => ({
  clusterName: "bootproof",
  name: "worker",
  flavor: { id: "m1.sahara", diskGb: 2, ramMb: 512, vcpus: 1, ephemeralGb: 0 },
  imageId: IMAGE_ID,
  count: 1,
  bootFromVolume: true,
  volumesPerNode: 1,
  volumesSizeGb: 1,
  ...change,
});

const bios = { machineType: "pc", firmware: "seabios" } as const;
const uefi = { machineType: "q35", firmware: "ovmf" } as const;

export const saharaExamples: Array<{ name: string; input: SaharaBfvCase }> = [
  { name: "bfv-seabios-pc", input: { nodeGroup: baseNodeGroup(), image: bios } },
  {
    name: "bfv-ovmf-q35-two-volumes",
    input: {
      nodeGroup: baseNodeGroup({
        flavor: { id: "m1.sahara", diskGb: 3, ramMb: 512, vcpus: 1, ephemeralGb: 0 },
        volumesPerNode: 2,
        volumesSizeGb: 2,
        bootVolumeType: "ssd",
        bootVolumeAvailabilityZone: "az-2",
        volumeType: "standard",
        volumesAvailabilityZone: "nova",
        volumeLocalToInstance: true,
        availabilityZone: "nova",
      }),
      image: uefi,
    },
  },
  { name: "image-backed-seabios-pc", input: { nodeGroup: baseNodeGroup({ bootFromVolume: false }), image: bios } },
  {
    name: "expected-failure-flavor-root-disk-0",
    input: {
      nodeGroup: baseNodeGroup({ flavor: { id: "m1.sahara", diskGb: 0, ramMb: 512, vcpus: 1, ephemeralGb: 0 } }),
      image: bios,
    },
  },
  {
    name: "expected-failure-boot-volume-local-to-instance",
    input: { nodeGroup: baseNodeGroup({ bootVolumeLocalToInstance: true }), image: bios },
  },
];

export const exampleNamed = (name: string): SaharaBfvCase => {
  const example = saharaExamples.find((e) => e.name === name);
  if (!example) throw new Error(`no sahara-bfv example '${name}'`);
  return example.input;
};
