// Test setup: make the host ready exactly as a user would (`bootproof doctor --fix` when
// root: Debian packages and the guest kernel), so a fresh clone needs no manual step. The
// suite runs the real Nova libvirt driver (and libvirt's embedded QEMU driver) and real Ironic too.
import { formatDoctorReport, runDoctor } from "../../harness/doctor/doctor.js";

export default async function setup(): Promise<void> {
  const report = await runDoctor({
    fix: process.getuid?.() === 0,
    // fast-kernel: the kernel fidelity test builds the fast probe kernel from linux-source-6.1.
    groups: ["run", "test", "fast-kernel", "real-nova", "real-ironic", "real-sahara"],
  });
  if (!report.ok) throw new Error(`the tests need a ready host:\n${formatDoctorReport(report)}`);
}
