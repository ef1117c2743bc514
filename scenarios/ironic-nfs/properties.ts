// ironic-nfs properties: the conductor refuses a node it cannot NFS-boot before any boot,
// naming the field, the value and the fix; a node it boots loads the conductor's kernel and
// ramdisk, runs with the export nfs_root names as its root, and its write reaches the export.
import type { BootRecord, Property, StaticProperty } from "../../harness/scenario.js";
import { fail, isOutcome, observedOrFailure, pass } from "../common/outcomes.js";
import type { IronicNfsCase } from "./case.js";
import { decisionOf, GUEST_WRITE_FILE, NFS_BOOT } from "./driver.js";
import { parseNfsRoot } from "./model.js";

type NfsProperty = Property<IronicNfsCase, BootRecord>;
const trimSlash = (s: string) => s.replace(/\/+$/, "");

export const refusesBeforeBoot: StaticProperty<IronicNfsCase> = {
  name: "refuses-bad-nodes-before-boot",
  description:
    "a node without nfs_boot:true, without nfs_root, or with a malformed nfs_root is refused before any boot with an error naming the field, the value and the fix; any other node gets the nfsroot command line",
  check(input) {
    const decision = decisionOf(input);
    const { nfs_root: nfsRoot } = input.node.instanceInfo;
    const nfsBoot = input.node.capabilities.nfs_boot;
    const wellFormed = nfsRoot !== undefined && typeof parseNfsRoot(nfsRoot) !== "string";
    const wantsBoot = nfsBoot !== undefined && /^(true|1|yes|on|y|t)$/i.test(nfsBoot) && wellFormed;
    if (decision.outcome === "boot") {
      if (!wantsBoot)
        return fail(
          `the conductor boots a node it must refuse (nfs_boot ${JSON.stringify(nfsBoot)}, nfs_root ${JSON.stringify(nfsRoot)})`,
        );
      const script = decision.script("conductor");
      if (!script.includes(` root=/dev/nfs nfsroot=${nfsRoot} `))
        return fail(`the iPXE script does not pass nfsroot=${nfsRoot}:\n${script}`);
      return /^initrd http:\/\/conductor\//m.test(script) && /^kernel http:\/\/conductor\//m.test(script)
        ? pass()
        : fail(`the iPXE script does not load the kernel and ramdisk from the conductor:\n${script}`);
    }
    if (wantsBoot) return fail(`the conductor refuses a node it must boot: ${decision.message}`);
    const value = decision.field === "capabilities.nfs_boot" ? (nfsBoot ?? "missing") : (nfsRoot ?? "nfs_root");
    const field = decision.field.split(".")[1]!;
    if (!decision.message.includes(field) || !decision.message.includes(value) || !/\bset\b|expected/.test(decision.message))
      return fail(`the refusal does not name ${field}, its value ${JSON.stringify(value)} and the fix: ${decision.message}`);
    return pass();
  },
};

/** The node's boot and the conductor's boot decision; undefined for a refused node (no boot). */
function bootedNode(input: IronicNfsCase, boots: Record<string, BootRecord>) {
  const decision = decisionOf(input);
  const boot = boots[NFS_BOOT];
  return decision.outcome === "boot" && boot ? { boot, decision } : undefined;
}

export const kernelAndRamdiskFromConductor: NfsProperty = {
  name: "kernel-and-ramdisk-from-conductor",
  description:
    "the guest loaded the kernel and the ramdisk from the conductor's HTTP server, whole, and runs with the nfsroot command line",
  check(input, boots) {
    const booted = bootedNode(input, boots);
    if (!booted) return pass();
    const { boot, decision } = booted;
    for (const path of [decision.kernelPath, decision.ramdiskPath]) {
      const served = boot.serviceLog.find((l) => l.startsWith(`http: GET /${path} → 200`));
      if (!served)
        return fail(`the conductor never served /${path} (${boot.serviceLog.filter((l) => l.startsWith("http")).join("; ")})`);
      if (served.includes("cut short")) return fail(`/${path} was cut short: ${served}`);
    }
    const observation = observedOrFailure(boot);
    if (isOutcome(observation)) return observation;
    const nfsRoot = input.node.instanceInfo.nfs_root!;
    return observation.cmdline.includes(`nfsroot=${nfsRoot}`)
      ? pass()
      : fail(`the guest's command line lacks nfsroot=${nfsRoot}: ${observation.cmdline}`);
  },
};

export const rootIsTheExport: NfsProperty = {
  name: "root-is-the-export",
  description: "the guest's root is the export nfs_root names, mounted over NFS (/proc/mounts), and it read the export's marker",
  check(input, boots) {
    const booted = bootedNode(input, boots);
    if (!booted) return pass();
    const { boot, decision } = booted;
    const observation = observedOrFailure(boot);
    if (isOutcome(observation)) return observation;
    const nfs = observation.nfsRoot;
    if (!nfs) return fail("the probe mounted no NFS root (no root=/dev/nfs on its command line?)");
    if (nfs.error) return fail(`the guest could not mount its NFS root: ${nfs.error}`);
    const want = `${decision.nfsRoot.server}:${decision.nfsRoot.path}`;
    const mount = observation.mounts.find((m) => m.target === "/root");
    if (!mount?.fstype.startsWith("nfs") || trimSlash(mount.source) !== trimSlash(want))
      return fail(`the root (/root) is ${mount ? `${mount.source} (${mount.fstype})` : "not mounted"}, nfs_root names ${want}`);
    return nfs.marker === input.marker
      ? pass()
      : fail(
          `the export's marker read ${JSON.stringify(nfs.marker)} in the guest, the export holds ${JSON.stringify(input.marker)}`,
        );
  },
};

export const guestWriteReachedTheExport: NfsProperty = {
  name: "guest-write-reached-the-export",
  description: "the file the guest wrote on its NFS root is in the export after the boot, with what it wrote",
  check(input, boots) {
    const booted = bootedNode(input, boots);
    if (!booted) return pass();
    const { boot, decision } = booted;
    const files = boot.nfsExports?.[decision.nfsRoot.path];
    if (!files) return fail(`the export ${decision.nfsRoot.path} was not read after the boot`);
    const wrote = files[GUEST_WRITE_FILE];
    return wrote === `${input.node.uuid}\n`
      ? pass()
      : fail(
          `after the boot the export's ${GUEST_WRITE_FILE} holds ${JSON.stringify(wrote ?? null)}, the guest wrote ${JSON.stringify(`${input.node.uuid}\n`)}`,
        );
  },
};

export const ironicNfsBootProperties: NfsProperty[] = [
  kernelAndRamdiskFromConductor,
  rootIsTheExport,
  guestWriteReachedTheExport,
];
