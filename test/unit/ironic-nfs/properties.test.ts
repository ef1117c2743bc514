// ironic-nfs: the spec's model (refusals before any boot, the nfsroot command line) and each
// boot property against a faithful guest record and a deliberately wrong one.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Observation } from "../../../firmware/observation.js";
import type { BootRecord } from "../../../harness/scenario.js";
import { ironicNfsCaseArbitrary } from "../../../scenarios/ironic-nfs/arbitraries.js";
import {
  type IronicNfsCase,
  ironicNfsExamples,
  malformedRootCase,
  missingCapabilityCase,
} from "../../../scenarios/ironic-nfs/case.js";
import { decisionOf, GUEST_WRITE_FILE, ironicNfsBoots, NFS_BOOT } from "../../../scenarios/ironic-nfs/driver.js";
import { decideNfsBoot, parseNfsRoot } from "../../../scenarios/ironic-nfs/model.js";
import {
  guestWriteReachedTheExport,
  kernelAndRamdiskFromConductor,
  refusesBeforeBoot,
  rootIsTheExport,
} from "../../../scenarios/ironic-nfs/properties.js";

const bios = () => structuredClone(ironicNfsExamples[0]!.input);

describe("ironic-nfs spec model", () => {
  it("parses nfsroot's SERVER:/PATH[,OPTIONS] and says what is wrong otherwise", () => {
    expect(parseNfsRoot("10.0.2.100:/srv/nfs/,vers=3,hard")).toEqual({
      server: "10.0.2.100",
      path: "/srv/nfs",
      options: "vers=3,hard",
    });
    expect(parseNfsRoot("10.0.2.100export")).toMatch(/names no server before ':'/);
    expect(parseNfsRoot("10.0.2.100:export")).toMatch(/not absolute/);
    expect(parseNfsRoot("10.0.2.100:/a/../b")).toMatch(/climbs/);
    expect(parseNfsRoot("10.0.2.100:/a b")).toMatch(/whitespace/);
    expect(parseNfsRoot("10.0.2.100:/a,VERS=3")).toMatch(/option "VERS=3"/);
  });

  it("refuses a node without the capability or with a malformed nfs_root before any boot", () => {
    expect(decideNfsBoot(missingCapabilityCase)).toMatchObject({ outcome: "refused", field: "capabilities.nfs_boot" });
    expect(decideNfsBoot(malformedRootCase)).toMatchObject({ outcome: "refused", field: "instance_info.nfs_root" });
    expect(ironicNfsBoots(missingCapabilityCase)).toEqual([]);
  });

  it("writes an iPXE script that loads the conductor's kernel and ramdisk with the nfsroot command line", () => {
    const decision = decideNfsBoot(bios());
    if (decision.outcome !== "boot") throw new Error("refused");
    const script = decision.script("10.0.2.2:8080");
    expect(script).toMatch(
      /^kernel http:\/\/10\.0\.2\.2:8080\/\S+\/kernel initrd=ramdisk root=\/dev\/nfs nfsroot=10\.0\.2\.100:\/export,/m,
    );
    expect(script).toMatch(/^initrd http:\/\/10\.0\.2\.2:8080\/\S+\/ramdisk$/m);
  });

  it("the static property holds over generated nodes and fails for a model that boots a refused node", () => {
    for (const input of fc.sample(ironicNfsCaseArbitrary, { seed: 3, numRuns: 300 }))
      expect(refusesBeforeBoot.check(input, {}), JSON.stringify(input)).toMatchObject({ ok: true });
    const input = structuredClone(missingCapabilityCase);
    const good = decideNfsBoot(bios());
    // A wrong conductor: it boots the node whatever the capability says.
    Object.assign(decisionOf(input), good);
    expect(refusesBeforeBoot.check(input, {})).toMatchObject({
      ok: false,
      message: expect.stringMatching(/boots a node it must refuse/),
    });
  });
});

function record(
  input: IronicNfsCase,
  changes: { log?: string[]; observation?: Partial<Observation>; files?: Record<string, string> },
): Record<string, BootRecord> {
  const decision = decisionOf(input);
  if (decision.outcome !== "boot") throw new Error("refused");
  const source = `${decision.nfsRoot.server}:${decision.nfsRoot.path}`;
  const observation = {
    role: "nfs-root",
    cmdline: `initrd=ramdisk root=/dev/nfs nfsroot=${input.node.instanceInfo.nfs_root} ip=dhcp`,
    mounts: [{ source, target: "/root", fstype: "nfs" }],
    nfsRoot: { source, options: "", marker: input.marker, wrote: true },
    ...changes.observation,
  } as unknown as Observation;
  return {
    [NFS_BOOT]: {
      name: NFS_BOOT,
      topology: { machine: { name: "x" } },
      machine: {} as never,
      observation,
      firmwareLog: [],
      endpoints: {},
      serviceLog: changes.log ?? [
        `http: GET /${decision.kernelPath} → 200 (8247232 bytes)`,
        `http: GET /${decision.ramdiskPath} → 200 (2458361 bytes)`,
      ],
      nfsExports: { [decision.nfsRoot.path]: changes.files ?? { [GUEST_WRITE_FILE]: `${input.node.uuid}\n` } },
    },
  };
}

describe("ironic-nfs boot properties", () => {
  it("pass for a faithful guest", () => {
    const input = bios();
    for (const p of [kernelAndRamdiskFromConductor, rootIsTheExport, guestWriteReachedTheExport])
      expect(p.check(input, record(input, {})), p.name).toMatchObject({ ok: true });
  });

  it("kernel-and-ramdisk-from-conductor fails for a ramdisk cut short or never fetched", () => {
    const input = bios();
    const d = decisionOf(input);
    if (d.outcome !== "boot") throw new Error("refused");
    const cut = record(input, {
      log: [`http: GET /${d.kernelPath} → 200 (1 bytes)`, `http: GET /${d.ramdiskPath} → 200 (5 bytes, cut short)`],
    });
    expect(kernelAndRamdiskFromConductor.check(input, cut)).toMatchObject({
      ok: false,
      message: expect.stringMatching(/cut short/),
    });
    expect(kernelAndRamdiskFromConductor.check(input, record(input, { log: [] }))).toMatchObject({ ok: false });
  });

  it("root-is-the-export fails for another root, a failed mount or another marker", () => {
    const input = bios();
    expect(rootIsTheExport.check(input, record(input, { observation: { mounts: [] } }))).toMatchObject({ ok: false });
    const failed = { source: "x", options: "", marker: null, wrote: false, error: "mount: refused" };
    expect(rootIsTheExport.check(input, record(input, { observation: { nfsRoot: failed } }))).toMatchObject({
      ok: false,
      message: expect.stringMatching(/mount: refused/),
    });
    const other = { source: "10.0.2.100:/export", options: "", marker: "someone else's", wrote: true };
    expect(rootIsTheExport.check(input, record(input, { observation: { nfsRoot: other } }))).toMatchObject({ ok: false });
  });

  it("guest-write-reached-the-export fails when the export lacks the guest's file", () => {
    const input = bios();
    expect(guestWriteReachedTheExport.check(input, record(input, { files: {} }))).toMatchObject({ ok: false });
  });
});
