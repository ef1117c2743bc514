// One entry point from a MediaSpec to a cached, immutable image file.

import { buildBiosDisk } from "./bios-disk.js";
import { buildBlank } from "./blank.js";
import { buildFloppy } from "./floppy.js";
import { buildIso } from "./iso.js";
import type { BootPayload } from "./payload.js";
import type { MediaSpec } from "./spec.js";
import { buildUefiDisk } from "./uefi-disk.js";

export type { BootPayload } from "./payload.js";

function requirePayload(spec: MediaSpec, payload: BootPayload | undefined): BootPayload {
  if (!payload)
    throw new Error(`${spec.kind} media boot the guest kernel and probe: pass a BootPayload (kernel, initramfs, cmdline)`);
  return payload;
}

/** Builds (or finds in the cache) the image for spec; returns its absolute path. */
export async function buildMedia(spec: MediaSpec, payload: BootPayload | undefined): Promise<string> {
  switch (spec.kind) {
    case "bios-disk":
      return buildBiosDisk(spec.role, spec.sizeMiB, requirePayload(spec, payload));
    case "uefi-disk":
      return buildUefiDisk(spec.role, spec.sizeMiB, requirePayload(spec, payload));
    case "iso":
      return buildIso(spec.role, requirePayload(spec, payload));
    case "floppy":
      return buildFloppy(spec.role);
    case "blank":
      return buildBlank(spec.sizeMiB);
    default: {
      const unknown: never = spec;
      throw new Error(`unknown media kind ${JSON.stringify((unknown as { kind?: unknown }).kind)}`);
    }
  }
}
