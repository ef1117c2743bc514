// Generated ironic-nfs nodes: boot mode, the capability's spelling (or none), and nfs_root
// values that are well formed (export paths, extra mount options) or malformed the ways an
// operator gets them wrong (no path, a relative path, '..', spaces, no server, a bad option).
import fc from "fast-check";
import { type IronicNfsCase, NFS_SERVER_ADDRESS, NODE_UUID, TCP_OPTIONS } from "./case.js";

const exportPath = fc.constantFrom("/export", "/srv/nfs/node-1", "/srv/nfs/node-1/");
const extraOptions = fc.subarray(["hard", "timeo=600", "rsize=65536", "wsize=65536", "noatime"], { maxLength: 3 });

const wellFormed = fc
  .record({ path: exportPath, extra: extraOptions })
  .map(({ path, extra }) => [`${NFS_SERVER_ADDRESS}:${path}`, TCP_OPTIONS, ...extra].join(","));

const malformed = fc.constantFrom(
  `${NFS_SERVER_ADDRESS}export`,
  `${NFS_SERVER_ADDRESS}:export`,
  `${NFS_SERVER_ADDRESS}:/srv/../etc`,
  `${NFS_SERVER_ADDRESS}:/export with space`,
  ":/export",
  `${NFS_SERVER_ADDRESS}:/export,VERS=3`,
  `${NFS_SERVER_ADDRESS}:/export,,vers=3`,
  "",
);

export const ironicNfsCaseArbitrary: fc.Arbitrary<IronicNfsCase> = fc
  .record({
    bootMode: fc.constantFrom("bios" as const, "uefi" as const),
    nfsBoot: fc.option(fc.constantFrom("true", "True", "false"), { nil: undefined, freq: 6 }),
    nfsRoot: fc.option(fc.oneof({ weight: 4, arbitrary: wellFormed }, { weight: 1, arbitrary: malformed }), {
      nil: undefined,
      freq: 8,
    }),
    marker: fc.stringMatching(/^[a-z0-9-]{1,24}$/),
  })
  .map(
    ({ bootMode, nfsBoot, nfsRoot, marker }): IronicNfsCase => ({
      node: {
        uuid: NODE_UUID,
        bootMode,
        capabilities: nfsBoot === undefined ? {} : { nfs_boot: nfsBoot },
        instanceInfo: nfsRoot === undefined ? {} : { nfs_root: nfsRoot },
      },
      marker,
    }),
  );
