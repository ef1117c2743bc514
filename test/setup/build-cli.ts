// Integration tests run the real CLI as a child process (signals, exit codes), so dist/
// (compiled and bundled) must match the sources under test.
import { execa } from "execa";

export default async function setup(): Promise<void> {
  if (process.env.BOOTPROOF_TEST_SKIP_BUILD) return;
  await execa("npm", ["run", "build"], { stdio: "inherit" });
}
