// Test setup: make the host ready exactly as a user would (`bootproof doctor --fix` when
// root: Debian packages, the guest kernel and the fast probe kernel), so a fresh clone needs no
// manual step. The suite runs the real Nova libvirt driver (and libvirt's embedded QEMU driver),
// real Ironic and real Sahara too, and boots on the default kernel (the fast one once built).
import { formatDoctorReport, runDoctor } from "../../harness/doctor/doctor.js";

export default async function setup(): Promise<void> {
  const fix = process.getuid?.() === 0;
  const report = await runDoctor({
    fix,
    groups: ["run", "test", "fast-kernel", "real-nova", "real-ironic", "real-sahara"],
    // As `doctor --fix` does: build the fast probe kernel from linux-source-6.1 when missing.
    buildFastKernel: async () => (await import("../../harness/cli/kernel-build.js")).kernelBuildCommand({ fix }),
  });
  if (!report.ok) throw new Error(`the tests need a ready host:\n${formatDoctorReport(report)}`);
}
