// An ironic-nfs case (seed 002, scenario 5): a node with capability nfs_boot and an
// instance_info nfs_root, booted by iPXE with the conductor's kernel and ramdisk and its root
// on that NFS export. The export's content is bootproof's: a marker the guest must read.

export interface IronicNfsCase {
  node: {
    uuid: string;
    bootMode: "bios" | "uefi";
    /** node.properties['capabilities'], as key → value (nfs_boot: "true"). */
    capabilities: Record<string, string>;
    /** instance_info: nfs_root is SERVER:/PATH[,OPTIONS]. */
    instanceInfo: { nfs_root?: string };
  };
  /** What the export holds before the boot: bootproof-marker's content. */
  marker: string;
}

export const NODE_UUID = "5ce0a1f5-0b07-4e5f-8a7b-1c2d3e4f5a6b";
/** Where the node reaches the NFS server: a QEMU forward to bootproof's server. */
export const NFS_SERVER_ADDRESS = "10.0.2.100";
export const NFS_PORT = 2049;
/** What the node needs to mount without a port mapper over UDP (bootproof's world is TCP). */
export const TCP_OPTIONS = `vers=3,proto=tcp,port=${NFS_PORT},mountport=${NFS_PORT},mountproto=tcp`;

const node = (bootMode: "bios" | "uefi", nfsRoot: string | undefined, nfsBoot: string | undefined): IronicNfsCase => ({
  node: {
    uuid: NODE_UUID,
    bootMode,
    capabilities: nfsBoot === undefined ? {} : { nfs_boot: nfsBoot },
    instanceInfo: nfsRoot === undefined ? {} : { nfs_root: nfsRoot },
  },
  marker: "bootproof nfs root marker",
});

export const ironicNfsExamples: Array<{ name: string; input: IronicNfsCase }> = [
  { name: "bios", input: node("bios", `${NFS_SERVER_ADDRESS}:/export,${TCP_OPTIONS}`, "true") },
  { name: "uefi", input: node("uefi", `${NFS_SERVER_ADDRESS}:/srv/nfs/node-1,${TCP_OPTIONS},hard,timeo=600`, "true") },
];

/** Must be refused before any boot: the capability is missing. */
export const missingCapabilityCase = node("bios", `${NFS_SERVER_ADDRESS}:/export,${TCP_OPTIONS}`, undefined);
/** Must be refused before any boot: no path after the server. */
export const malformedRootCase = node("bios", `${NFS_SERVER_ADDRESS}export`, "true");
