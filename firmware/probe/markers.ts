// Console lines the guest side prints besides the observation itself, for harnesses that
// want to tell how far a boot got (the observation marker lives in ../observation.ts).

/** First line /init prints: the kernel ran the probe initramfs. */
export const PROBE_START_MARKER = "BOOTPROOF-PROBE start";
export { FLOPPY_MARKER } from "../media/floppy.js";
