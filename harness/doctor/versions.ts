// The versions of the real code a `--driver real` run tests against, read cheaply: dpkg's
// status file and the Python projects' PKG-INFO, never by importing Nova or starting a
// process. The parsers are pure (unit-tested); realPathVersions() reads the files.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

/** A user's Nova source tree put first on the Nova worker's PYTHONPATH (harness/openstack). */
import { NOVA_SRC_ENV } from "../openstack/nova-src.js";

export { NOVA_SRC_ENV };

const DPKG_STATUS = "/var/lib/dpkg/status";
const DIST_PACKAGES = "/usr/lib/python3/dist-packages";

export const REAL_PATH_COMPONENTS = [
  { component: "nova", debianPackage: "python3-nova", distribution: "nova" },
  { component: "libvirt", debianPackage: "libvirt-daemon-driver-qemu" },
  { component: "libvirt-python", debianPackage: "python3-libvirt", distribution: "libvirt_python" },
  { component: "ironic", debianPackage: "python3-ironic", distribution: "ironic" },
  { component: "ironic-lib", debianPackage: "python3-ironic-lib", distribution: "ironic_lib" },
  { component: "sahara", debianPackage: "python3-sahara", distribution: "sahara" },
  { component: "qemu", debianPackage: "qemu-system-x86" },
] as const satisfies ReadonlyArray<{ component: string; debianPackage: string; distribution?: string }>;
export type RealPathComponent = (typeof REAL_PATH_COMPONENTS)[number]["component"];

export interface ComponentVersion {
  debianPackage: string;
  /** The installed package's version as dpkg records it ("2:26.2.2-1~deb12u5"). */
  debianVersion: string | undefined;
  /** The upstream version: PKG-INFO's for Python projects, else from the Debian version. */
  version: string | undefined;
}

export interface NovaSource {
  /** $BOOTPROOF_NOVA_SRC, resolved. */
  path: string;
  /** Whether it holds nova/__init__.py (else the Nova worker refuses it). */
  hasNovaPackage: boolean;
  /** Its PKG-INFO version, when the tree has one (an sdist or an installed egg-info). */
  version: string | undefined;
}

export interface RealPathVersions {
  components: Record<RealPathComponent, ComponentVersion>;
  /** Set when $BOOTPROOF_NOVA_SRC is: Nova is then taken from that tree, not python3-nova. */
  novaSource?: NovaSource;
}

/** Installed packages' versions from dpkg's status file (only "install ok installed" ones). */
export function parseDpkgStatus(text: string, packages: readonly string[]): Map<string, string> {
  const wanted = new Set(packages);
  const versions = new Map<string, string>();
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}: *(.*)$`, "m").exec(stanza)?.[1]?.trim();
    const name = field("Package");
    const version = field("Version");
    if (name && version && wanted.has(name) && field("Status") === "install ok installed") versions.set(name, version);
  }
  return versions;
}

/** "1:7.2+dfsg-7+deb12u18+b3" → "7.2": no epoch, no Debian revision, no repack suffix. */
export function upstreamVersion(debianVersion: string): string {
  const noEpoch = debianVersion.replace(/^\d+:/, "");
  const dash = noEpoch.lastIndexOf("-");
  const upstream = dash > 0 ? noEpoch.slice(0, dash) : noEpoch;
  return upstream.replace(/[+~](dfsg|ds|repack)\d*.*$/, "");
}

/** The `Version:` header of a PKG-INFO (or METADATA) file. */
export function pkgInfoVersion(text: string): string | undefined {
  const header = text.split(/\n\n/, 1)[0] ?? "";
  return /^Version: *(\S+)/m.exec(header)?.[1];
}

/** The egg-info / dist-info entry of a distribution among a dist-packages listing. */
export function metadataEntry(entries: readonly string[], distribution: string): string | undefined {
  const pattern = new RegExp(`^${distribution}-\\d[^-]*\\.(egg-info|dist-info)$`, "i");
  return entries.filter((e) => pattern.test(e)).sort()[0];
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** PKG-INFO's version from an egg-info (a directory or a file) or a dist-info directory. */
function metadataVersion(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  const file = !statSync(path).isDirectory() ? path : join(path, path.endsWith(".dist-info") ? "METADATA" : "PKG-INFO");
  const text = readIfExists(file);
  return text === undefined ? undefined : pkgInfoVersion(text);
}

function novaSource(dir: string): NovaSource {
  const path = resolve(dir);
  const version = metadataVersion(join(path, "PKG-INFO")) ?? metadataVersion(join(path, "nova.egg-info"));
  return { path, hasNovaPackage: existsSync(join(path, "nova", "__init__.py")), version };
}

/** What a real-driver run would test here: a few file reads, no process, no Python import. */
export function realPathVersions(env: NodeJS.ProcessEnv = process.env): RealPathVersions {
  const installed = parseDpkgStatus(
    readIfExists(DPKG_STATUS) ?? "",
    REAL_PATH_COMPONENTS.map((c) => c.debianPackage),
  );
  let entries: string[] = [];
  try {
    entries = readdirSync(DIST_PACKAGES);
  } catch {
    // No Debian Python packages at all: every Python component is "not installed".
  }
  const components = {} as Record<RealPathComponent, ComponentVersion>;
  for (const c of REAL_PATH_COMPONENTS) {
    const debianVersion = installed.get(c.debianPackage);
    const entry = "distribution" in c && debianVersion ? metadataEntry(entries, c.distribution) : undefined;
    const fromMetadata = entry ? metadataVersion(join(DIST_PACKAGES, entry)) : undefined;
    components[c.component] = {
      debianPackage: c.debianPackage,
      debianVersion,
      version: fromMetadata ?? (debianVersion ? upstreamVersion(debianVersion) : undefined),
    };
  }
  const src = env[NOVA_SRC_ENV];
  return src ? { components, novaSource: novaSource(src) } : { components };
}

/** One line per component, then where Nova comes from. */
export function formatRealPathVersions(versions: RealPathVersions): string[] {
  const lines = ["real OpenStack drivers (what `--driver real` tests):"];
  for (const { component } of REAL_PATH_COMPONENTS) {
    const v = versions.components[component];
    lines.push(
      v.debianVersion
        ? `  ${component} ${v.version} (${v.debianPackage} ${v.debianVersion})`
        : `  ${component}: not installed (${v.debianPackage})`,
    );
  }
  const src = versions.novaSource;
  if (src) {
    const state = src.hasNovaPackage
      ? `has nova/__init__.py${src.version ? `, version ${src.version}` : ""}`
      : "MISSING nova/__init__.py: the Nova worker will refuse it";
    lines.push(`  nova is taken from $${NOVA_SRC_ENV}=${src.path} (${state}), not from python3-nova`);
  }
  return lines;
}
