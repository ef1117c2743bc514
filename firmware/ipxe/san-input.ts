// What the SAN boot script is rendered from: an initiator and its volume targets, shaped
// like Ironic's volume connector + volume_targets. Validated with zod; every problem names
// its field (`volumes[1].portals[0].port`) and what to do instead, all at once.
import * as z from "zod/mini";
import "../../emulator/zod-english.js";
import { MAX_SINGLE_LEVEL_LUN } from "./root-path.js";

// RFC 3720 §3.2.6.3: iqn.yyyy-mm.<reversed domain>[:<unique>], eui.<16 hex>, naa.<16|32 hex>;
// after stringprep only lowercase letters, digits, '.', '-' and ':' remain in an iqn.
const IQN = /^iqn\.[0-9]{4}-(0[1-9]|1[0-2])\.[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:[a-z0-9.:-]+)?$/;
const EUI = /^eui\.[0-9A-F]{16}$/;
const NAA = /^naa\.([0-9A-F]{16}|[0-9A-F]{32})$/;

export const IscsiNameSchema = z.string().check(
  z.maxLength(223, "an iSCSI name is at most 223 bytes"),
  z.refine((name) => IQN.test(name) || EUI.test(name) || NAA.test(name), {
    message:
      "not an iSCSI name: use iqn.YYYY-MM.reversed.domain[:name] in lowercase (e.g. iqn.2010-04.org.ipxe:node1), " +
      "eui.<16 uppercase hex> or naa.<16|32 uppercase hex>",
  }),
);

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export const PortalSchema = z.object({
  host: z.string().check(
    z.refine((h) => IPV4.test(h) || HOSTNAME.test(h), {
      message: "not an IPv4 address or hostname (IPv6 literals cannot be written in an iPXE root path's server field)",
    }),
  ),
  port: z._default(
    z
      .number()
      .check(z.int("port must be a whole number"), z.gte(1, "port must be 1..65535"), z.lte(65535, "port must be 1..65535")),
    3260,
  ),
});

// A word iPXE's script parser keeps intact: no whitespace (splits arguments), no '$' '{' '}'
// (setting expansion), no quotes or backslash, no '#', '|', '&', ';' (comments, operators).
const SCRIPT_SAFE = /^[A-Za-z0-9._~+=@%/,:!^*()[\]<>?-]+$/;
const scriptWord = (what: string) =>
  z
    .string()
    .check(
      z.minLength(1, `${what} is empty`),
      z.maxLength(255, `${what} is longer than 255 characters`),
      z.regex(SCRIPT_SAFE, `${what} has characters an iPXE script cannot carry (whitespace, $ { } " ' \\ # | & ;)`),
    );

export const ChapSchema = z.object({
  username: scriptWord("CHAP username"),
  password: scriptWord("CHAP secret"),
  /** Mutual CHAP: the target proves itself to the initiator with these. */
  reverse: z.optional(z.object({ username: scriptWord("reverse CHAP username"), password: scriptWord("reverse CHAP secret") })),
});

export const SanVolumeSchema = z.object({
  bootIndex: z.number().check(z.int(), z.gte(0, "boot_index must be >= 0")),
  targetIqn: IscsiNameSchema,
  portals: z.array(PortalSchema).check(z.minLength(1, "a volume needs at least one portal")),
  lun: z
    .number()
    .check(
      z.int(),
      z.gte(0, "a LUN is >= 0"),
      z.lte(
        MAX_SINGLE_LEVEL_LUN,
        `LUNs above ${MAX_SINGLE_LEVEL_LUN} need hierarchical addressing, which iPXE root paths cannot express here`,
      ),
    ),
  chap: z.optional(ChapSchema),
});

/** Extra volumes are hooked as BIOS drives 0x81.. so at most 127 of them fit. */
const MAX_VOLUMES = 128;

export const SanBootInputSchema = z
  .object({
    initiatorIqn: IscsiNameSchema,
    volumes: z
      .array(SanVolumeSchema)
      .check(z.minLength(1, "at least the boot volume (boot_index 0) is needed"), z.maxLength(MAX_VOLUMES)),
  })
  .check(
    z.superRefine((input, ctx) => {
      const seen = new Map<number, number>();
      input.volumes.forEach((volume, i) => {
        const first = seen.get(volume.bootIndex);
        if (first !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["volumes", i, "bootIndex"],
            message: `boot_index ${volume.bootIndex} is also used by volumes[${first}]: boot indexes must be unique`,
          });
        } else seen.set(volume.bootIndex, i);
        const portals = volume.portals.map((p) => `${p.host}:${p.port}`);
        portals.forEach((portal, j) => {
          if (portals.indexOf(portal) !== j) {
            ctx.addIssue({ code: "custom", path: ["volumes", i, "portals", j], message: `portal ${portal} is listed twice` });
          }
        });
      });
      if (!seen.has(0)) {
        ctx.addIssue({
          code: "custom",
          path: ["volumes"],
          message: "no volume has boot_index 0: Ironic boots the boot_index 0 volume, so exactly one must have it",
        });
      }
    }),
  );

export type SanBootInput = z.input<typeof SanBootInputSchema>;
export type SanBootSpec = z.output<typeof SanBootInputSchema>;
export type SanVolume = SanBootSpec["volumes"][number];

export class IpxeScriptInputError extends Error {
  constructor(readonly problems: { path: string; message: string }[]) {
    super(`iPXE script input is invalid:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n")}`);
    this.name = "IpxeScriptInputError";
  }
}

function dottedPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
  return out || "(input)";
}

export function parseSanBootInput(input: unknown): SanBootSpec {
  const parsed = SanBootInputSchema.safeParse(input);
  if (!parsed.success) {
    throw new IpxeScriptInputError(
      parsed.error.issues.map((issue) => ({ path: dottedPath(issue.path), message: issue.message })),
    );
  }
  return parsed.data;
}
