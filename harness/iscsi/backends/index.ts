import { openFileBackend } from "./file.js";
import { createMemoryBackend } from "./memory.js";
import { openOverlayBackend } from "./overlay.js";
import type { BackendSpec, BlockBackend } from "./types.js";

export type { BackendSpec, BlockBackend } from "./types.js";

export function openBackend(spec: BackendSpec): Promise<BlockBackend> {
  switch (spec.kind) {
    case "file":
      return openFileBackend(spec.path, spec.readOnly ?? false);
    case "overlay":
      return openOverlayBackend(spec);
    case "memory":
      return Promise.resolve(createMemoryBackend(spec.sizeBytes, spec.readOnly ?? false));
    default:
      throw new Error(
        `unknown LUN backend kind ${JSON.stringify((spec as { kind: unknown }).kind)} (use file, overlay or memory)`,
      );
  }
}
