// Integration setup: make the host ready exactly as a user would (`bootproof doctor --fix`
// when root), and build dist/ so tests can run the real CLI as a child process.
import { execa } from "execa";
import { formatDoctorReport, runDoctor } from "../../harness/doctor/doctor.js";

export default async function setup(): Promise<void> {
  const report = await runDoctor({ fix: process.getuid?.() === 0, groups: ["run", "test"] });
  if (!report.ok) throw new Error(`integration tests need a ready host:\n${formatDoctorReport(report)}`);
  if (!process.env.BOOTPROOF_TEST_SKIP_BUILD) await execa("npx", ["tsc", "-p", "tsconfig.build.json"], { stdio: "inherit" });
}
