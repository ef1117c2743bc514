// Files bootproof ships next to its code (firmware/probe/init.sh, firmware/kernel/probe.config).
// Source (tsx), compiled (dist/firmware/...) and bundled (dist/cli/) code all find them by
// walking up from their own location to the package root.
import { access } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** The absolute path of `relativePath` (from the package root), e.g. "firmware/probe/init.sh". */
export async function packageFile(relativePath: string, from: string): Promise<string> {
  const name = relativePath.split("/").pop() ?? relativePath;
  const candidates: URL[] = [new URL(`./${name}`, from)];
  for (let up = "../"; up.length <= 5 * 3; up += "../") candidates.push(new URL(`${up}${relativePath}`, from));
  for (const candidate of candidates) {
    const path = fileURLToPath(candidate);
    if (
      path.endsWith(relativePath) &&
      (await access(path).then(
        () => true,
        () => false,
      ))
    )
      return path;
  }
  throw new Error(
    `${relativePath} is missing (looked at ${candidates.map((c) => fileURLToPath(c)).join(", ")}); reinstall bootproof`,
  );
}
