// A nova-placeholder case (seed 001): a volume-backed server, its snapshot (the content-free
// placeholder image Nova registers), and a later server create from that image, alone or with
// the request's own block device mappings. Volume contents are bootproof's: a volume whose
// medium carries a role marker boots and says which it is; a data volume is blank.

/** What a volume holds: a bootable medium with this role marker, or nothing (data). */
export type VolumeContent = "original-root" | "override-root" | "data";

export interface PlaceholderVolume {
  id: string;
  sizeGb: number;
  content: VolumeContent;
}

/** One mapping of the new server's request, in API terms (v2 or legacy). */
export type RequestMapping =
  /** An existing volume (v2 source volume, or legacy volume_id). */
  | { kind: "volume"; volumeId: string; bootIndex: number | null; deviceName?: string }
  /** The placeholder's own snapshot again, at a size of the request's choosing (v2 only). */
  | { kind: "snapshot"; bootIndex: number | null; deviceName?: string; volumeSizeGb?: number }
  /** A new blank volume (v2 only): a data disk. */
  | { kind: "blank"; volumeSizeGb: number; deviceName?: string };

export interface PlaceholderCase {
  hardware: { machineType: "pc" | "q35"; firmware: "seabios" | "ovmf"; diskBus: "virtio" | "scsi" };
  /** The volume-backed server that is snapshotted. */
  original: {
    flavorRootGb: number;
    root: PlaceholderVolume;
    /** Volumes attached to it at create (v2, boot_index none): Nova snapshots them too. */
    data: PlaceholderVolume[];
  };
  /** The server created from the placeholder image. */
  request: {
    flavorRootGb: number;
    syntax: "v2" | "legacy";
    mappings: RequestMapping[];
    /** Volumes that exist before the request (what its volume mappings name). */
    volumes: PlaceholderVolume[];
  };
}

const id = (n: number) => `b0070001-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;
export const ORIGINAL_ROOT_ID = id(1);
export const ORIGINAL_DATA_ID = id(2);
export const OVERRIDE_ROOT_ID = id(3);
export const EXTRA_DATA_ID = id(4);
export const ORIGINAL_SERVER_UUID = "b0070001-5e4e-4000-8000-000000000001";
export const NEW_SERVER_UUID = "b0070001-5e4e-4000-8000-000000000002";

export const volumeFixtures = {
  originalRoot: (sizeGb: number): PlaceholderVolume => ({ id: ORIGINAL_ROOT_ID, sizeGb, content: "original-root" }),
  originalData: (sizeGb: number): PlaceholderVolume => ({ id: ORIGINAL_DATA_ID, sizeGb, content: "data" }),
  overrideRoot: (sizeGb: number): PlaceholderVolume => ({ id: OVERRIDE_ROOT_ID, sizeGb, content: "override-root" }),
  extraData: (sizeGb: number): PlaceholderVolume => ({ id: EXTRA_DATA_ID, sizeGb, content: "data" }),
};

const base = (request: PlaceholderCase["request"], data: PlaceholderVolume[] = []): PlaceholderCase => ({
  hardware: { machineType: "pc", firmware: "seabios", diskBus: "virtio" },
  original: { flavorRootGb: 1, root: volumeFixtures.originalRoot(1), data },
  request,
});

export const placeholderExamples: Array<{ name: string; input: PlaceholderCase }> = [
  { name: "image-only", input: base({ flavorRootGb: 1, syntax: "v2", mappings: [], volumes: [] }) },
  {
    name: "override-root-by-device-name",
    input: base({
      flavorRootGb: 1,
      syntax: "v2",
      mappings: [{ kind: "volume", volumeId: OVERRIDE_ROOT_ID, bootIndex: 0, deviceName: "/dev/vda" }],
      volumes: [volumeFixtures.overrideRoot(2)],
    }),
  },
  {
    name: "bigger-root-from-the-snapshot",
    input: base({
      flavorRootGb: 1,
      syntax: "v2",
      mappings: [{ kind: "snapshot", bootIndex: 0, deviceName: "/dev/vda", volumeSizeGb: 3 }],
      volumes: [],
    }),
  },
  {
    name: "with-data-and-a-new-blank-volume",
    input: base({ flavorRootGb: 1, syntax: "v2", mappings: [{ kind: "blank", volumeSizeGb: 1 }], volumes: [] }, [
      volumeFixtures.originalData(1),
    ]),
  },
  {
    name: "q35-ovmf-legacy-extra-volume",
    input: {
      ...base({
        flavorRootGb: 1,
        syntax: "legacy",
        mappings: [{ kind: "volume", volumeId: EXTRA_DATA_ID, bootIndex: null, deviceName: "vdb" }],
        volumes: [volumeFixtures.extraData(1)],
      }),
      hardware: { machineType: "q35", firmware: "ovmf", diskBus: "virtio" },
    },
  },
];
