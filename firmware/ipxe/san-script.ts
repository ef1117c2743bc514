// Renders the iPXE script of Ironic's iSCSI boot-from-volume path (ipxe_config.template,
// label :boot_iscsi), from a validated SanBootInput. Ironic's semantics, kept on purpose:
//   - `set initiator-iqn` before any SAN command (iPXE puts it in the iBFT);
//   - the boot_index 0 volume is hooked first as drive 0x80, then every other volume is
//     hooked as 0x81, 0x82, ... in boot_index order, each with its own CHAP credentials
//     (iPXE reads username/password when it opens a root path, so they are set just
//     before each sanhook);
//   - the boot volume's credentials are set again before `sanboot --no-describe`, which
//     boots drive 0x80 (the iBFT was already written by the sanhooks; reconnecting to the
//     boot volume reads the credentials afresh, so they must be the boot volume's);
//   - any failure jumps to a retry label that prints Ironic's message, sleeps and retries.
// Additions over Ironic's template: mutual CHAP (`reverse-username`/`reverse-password`),
// credentials cleared for a volume without CHAP (so one volume's secret never leaks into
// the next login), several portals as multipath root paths on one sanhook line, and
// `sanunhook` of every drive before a retry (re-hooking a drive number in use fails).
import { formatIscsiRootPath } from "./root-path.js";
import { parseSanBootInput, type SanVolume } from "./san-input.js";

export const BOOT_DRIVE = 0x80;
/** What the script prints when a SAN command fails (Ironic's wording). */
export const SAN_ATTACH_FAILED_MESSAGE = "Failed to attach iSCSI volume(s)";

export interface SanScriptOptions {
  /** Seconds between attempts after a failure (Ironic: 10); `false` exits instead. */
  retryDelaySeconds?: number | false;
  /** Run `dhcp` first, for scripts not chained from an already configured iPXE. */
  dhcp?: boolean;
}

/** Root paths of one volume, one per portal (iPXE treats several as multipath). */
export function volumeRootPaths(volume: SanVolume): string[] {
  return volume.portals.map((portal) =>
    formatIscsiRootPath({ server: portal.host, port: portal.port, lun: volume.lun, targetIqn: volume.targetIqn }),
  );
}

/** The drive each volume is hooked as: the boot volume 0x80, the others 0x81.. by boot_index. */
export function driveAssignments(volumes: readonly SanVolume[]): { drive: number; volume: SanVolume }[] {
  const ordered = [...volumes].sort((a, b) => a.bootIndex - b.bootIndex);
  return ordered.map((volume, i) => ({ drive: BOOT_DRIVE + i, volume }));
}

const hex = (drive: number) => `0x${drive.toString(16)}`;

function credentialLines(volume: SanVolume): string[] {
  const chap = volume.chap;
  return [
    chap ? `set username ${chap.username}` : "clear username",
    chap ? `set password ${chap.password}` : "clear password",
    chap?.reverse ? `set reverse-username ${chap.reverse.username}` : "clear reverse-username",
    chap?.reverse ? `set reverse-password ${chap.reverse.password}` : "clear reverse-password",
  ];
}

export function renderSanBootScript(input: unknown, options: SanScriptOptions = {}): string {
  const spec = parseSanBootInput(input);
  const retryDelay = options.retryDelaySeconds ?? 10;
  if (retryDelay !== false && (!Number.isInteger(retryDelay) || retryDelay < 0)) {
    throw new RangeError(`retryDelaySeconds ${retryDelay} is invalid: use a whole number of seconds >= 0, or false`);
  }
  const drives = driveAssignments(spec.volumes);
  const boot = drives[0]!.volume;
  const lines = ["#!ipxe", "", ":boot_iscsi"];
  if (options.dhcp) lines.push("dhcp || goto fail_iscsi_retry");
  lines.push(`set initiator-iqn ${spec.initiatorIqn}`);
  for (const { drive, volume } of drives) {
    lines.push(...credentialLines(volume));
    lines.push(`sanhook --drive ${hex(drive)} ${volumeRootPaths(volume).join(" ")} || goto fail_iscsi_retry`);
  }
  if (drives.length > 1) lines.push(...credentialLines(boot));
  lines.push("sanboot --no-describe || goto fail_iscsi_retry", "");
  lines.push(":fail_iscsi_retry");
  if (retryDelay === false) {
    lines.push(`echo ${SAN_ATTACH_FAILED_MESSAGE}, giving up.`, "exit 1");
  } else {
    lines.push(`echo ${SAN_ATTACH_FAILED_MESSAGE}, retrying in ${retryDelay} seconds.`);
    for (const { drive } of [...drives].reverse()) lines.push(`sanunhook --drive ${hex(drive)} ||`);
    lines.push(`sleep ${retryDelay}`, "goto boot_iscsi");
  }
  return `${lines.join("\n")}\n`;
}
