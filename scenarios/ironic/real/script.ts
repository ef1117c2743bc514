// Reading the :boot_iscsi section of the node config Ironic wrote, the way iPXE runs it: the
// credentials in force at each sanhook and the root paths it hooks. Pure.
import { type IscsiRootPath, parseIscsiRootPath } from "../../../firmware/ipxe/index.js";

export interface HookedDrive {
  /** The sanhook's --drive number (0x80 is the boot drive). */
  drive: number;
  /** Each root path of the sanhook (several: multipath), parsed as iPXE parses it, or why not. */
  paths: Array<{ text: string; parsed?: IscsiRootPath; error?: string }>;
  /** iPXE settings in force when the sanhook runs (username, password, reverse-*, initiator-iqn). */
  settings: Record<string, string>;
}

/** The section of an iPXE script from `:label` to the next label. */
export function scriptSection(script: string, label: string): string[] | undefined {
  const lines = script.split("\n");
  const start = lines.findIndex((l) => l.trim() === `:${label}`);
  if (start === -1) return undefined;
  const end = lines.findIndex((l, i) => i > start && /^:\S/.test(l.trim()));
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/** The drives :boot_iscsi hooks, in order, or undefined when the script has no such section. */
export function hookedDrives(script: string): HookedDrive[] | undefined {
  const section = scriptSection(script, "boot_iscsi");
  if (!section) return undefined;
  const settings: Record<string, string> = {};
  const drives: HookedDrive[] = [];
  for (const raw of section) {
    // Only the indentation goes: a value's own trailing spaces are part of what Ironic wrote.
    const line = raw.replace(/^\s+/, "");
    const set = /^set\s+(\S+) ?(.*)$/.exec(line);
    if (set) {
      settings[set[1]!] = set[2]!;
      continue;
    }
    const hook = /^sanhook\s+--drive\s+(\S+)\s+(.*?)(?:\s+\|\|.*)?\s*$/.exec(line);
    if (!hook) continue;
    const paths = hook[2]!.split(/\s+/).map((text) => {
      try {
        return { text, parsed: parseIscsiRootPath(text) };
      } catch (error) {
        return { text, error: (error as Error).message };
      }
    });
    drives.push({ drive: Number(hook[1]), paths, settings: { ...settings } });
  }
  return drives;
}

/**
 * What iPXE stores for `set NAME VALUE...`, as measured with real boots (Debian's iPXE): the
 * line's `${...}` settings expand first (to nothing, for a setting nobody set), then the line
 * splits into words at whitespace, and `set` joins the words with one space. So a run of spaces
 * becomes one and `${x}` disappears; quotes and backslashes stay as they are.
 */
export function ipxeSetValue(raw: string): string {
  return raw
    .replace(/\$\{[^}]*\}/g, "")
    .split(/\s+/)
    .filter((word) => word.length > 0)
    .join(" ");
}
