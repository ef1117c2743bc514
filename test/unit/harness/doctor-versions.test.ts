import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatDoctorReport } from "../../../harness/doctor/doctor.js";
import {
  formatRealPathVersions,
  metadataEntry,
  NOVA_SRC_ENV,
  parseDpkgStatus,
  pkgInfoVersion,
  type RealPathVersions,
  realPathVersions,
  upstreamVersion,
} from "../../../harness/doctor/versions.js";

const STATUS = `Package: python3-nova
Status: install ok installed
Priority: optional
Version: 2:26.2.2-1~deb12u5
Description: OpenStack Compute - libraries
 Version: 1.0 (a description line, not the field)

Package: python3-sahara
Status: deinstall ok config-files
Version: 1:16.0.0-2

Package: qemu-system-x86
Status: install ok installed
Version: 1:7.2+dfsg-7+deb12u18+b3
`;

describe("doctor: versions of the real path", () => {
  it("reads installed packages' versions from dpkg's status file", () => {
    const versions = parseDpkgStatus(STATUS, ["python3-nova", "python3-sahara", "qemu-system-x86", "python3-ironic"]);
    expect(Object.fromEntries(versions)).toEqual({
      "python3-nova": "2:26.2.2-1~deb12u5",
      "qemu-system-x86": "1:7.2+dfsg-7+deb12u18+b3",
    });
  });

  it("turns Debian versions into upstream ones", () => {
    expect(upstreamVersion("2:26.2.2-1~deb12u5")).toBe("26.2.2");
    expect(upstreamVersion("1:7.2+dfsg-7+deb12u18+b3")).toBe("7.2");
    expect(upstreamVersion("9.0.0-4+deb12u2")).toBe("9.0.0");
    expect(upstreamVersion("1:21.4.4-0+deb12u3")).toBe("21.4.4");
    expect(upstreamVersion("5.3.0")).toBe("5.3.0");
  });

  it("reads PKG-INFO's Version header and finds a distribution's metadata", () => {
    expect(pkgInfoVersion("Metadata-Version: 2.1\nName: nova\nVersion: 26.2.2\nSummary: x\n\nVersion: 9\n")).toBe("26.2.2");
    expect(pkgInfoVersion("Name: nova\n")).toBeUndefined();
    const entries = ["python_novaclient-18.2.0.egg-info", "nova", "nova-26.2.2.egg-info", "ironic_lib-5.3.0.egg-info"];
    expect(metadataEntry(entries, "nova")).toBe("nova-26.2.2.egg-info");
    expect(metadataEntry(entries, "ironic_lib")).toBe("ironic_lib-5.3.0.egg-info");
    expect(metadataEntry(entries, "sahara")).toBeUndefined();
  });

  const sample: RealPathVersions = {
    components: {
      nova: { debianPackage: "python3-nova", debianVersion: "2:26.2.2-1~deb12u5", version: "26.2.2" },
      libvirt: { debianPackage: "libvirt-daemon-driver-qemu", debianVersion: "9.0.0-4+deb12u2", version: "9.0.0" },
      "libvirt-python": { debianPackage: "python3-libvirt", debianVersion: "9.0.0-1", version: "9.0.0" },
      ironic: { debianPackage: "python3-ironic", debianVersion: undefined, version: undefined },
      "ironic-lib": { debianPackage: "python3-ironic-lib", debianVersion: undefined, version: undefined },
      sahara: { debianPackage: "python3-sahara", debianVersion: "1:16.0.0-2", version: "16.0.0" },
      qemu: { debianPackage: "qemu-system-x86", debianVersion: "1:7.2+dfsg-7+deb12u18+b3", version: "7.2" },
    },
    novaSource: { path: "/src/nova", hasNovaPackage: false, version: undefined },
  };

  it("prints one line per component and where Nova comes from", () => {
    const lines = formatRealPathVersions(sample);
    expect(lines).toContain("  nova 26.2.2 (python3-nova 2:26.2.2-1~deb12u5)");
    expect(lines).toContain("  ironic: not installed (python3-ironic)");
    expect(lines).toContain("  qemu 7.2 (qemu-system-x86 1:7.2+dfsg-7+deb12u18+b3)");
    expect(lines.at(-1)).toBe(
      "  nova is taken from $BOOTPROOF_NOVA_SRC=/src/nova (MISSING nova/__init__.py: the Nova worker will refuse it), not from python3-nova",
    );
    const report = formatDoctorReport({
      groups: ["real-nova"],
      missing: [],
      installed: [],
      fixCommands: [],
      kernel: undefined,
      versions: sample,
      ok: false,
    });
    expect(report).toContain("system packages (real-nova): all present");
    expect(report).toContain("  libvirt 9.0.0 (libvirt-daemon-driver-qemu 9.0.0-4+deb12u2)");
  });

  let tree: string | undefined;
  afterEach(async () => {
    if (tree) await rm(tree, { recursive: true, force: true });
    tree = undefined;
  });

  it("reads this host's versions without Python and describes a $BOOTPROOF_NOVA_SRC tree", async () => {
    tree = await mkdtemp(join(tmpdir(), "bp-nova-src-"));
    await mkdir(join(tree, "nova"));
    await writeFile(join(tree, "nova", "__init__.py"), "");
    await writeFile(join(tree, "PKG-INFO"), "Metadata-Version: 1.2\nName: nova\nVersion: 27.0.0.dev1\n");
    const versions = realPathVersions({ [NOVA_SRC_ENV]: tree });
    expect(versions.novaSource).toEqual({ path: tree, hasNovaPackage: true, version: "27.0.0.dev1" });
    // The test setup installs the real-nova group (and the run group's QEMU).
    expect(versions.components.nova.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(versions.components.libvirt.version).toMatch(/^\d+\.\d+/);
    expect(versions.components.qemu.version).toMatch(/^\d+\.\d+/);
    expect(realPathVersions({}).novaSource).toBeUndefined();
  });
});
