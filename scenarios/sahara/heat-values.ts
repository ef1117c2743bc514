// The small pure helpers of bootproof's Heat: derived uuids and MACs, Heat's Integer and Boolean
// coercion, unresolved-value detection, property path formatting and JSON-object guards.
import { createHash } from "node:crypto";
import type { HeatTemplate } from "../../harness/openstack/sahara.js";
import { Unresolved } from "./heat-types.js";

const ID_NAMESPACE = "bootproof-heat";

export type Json = Record<string, unknown>;
export const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Unresolved);

/** A uuid derived from `seed` (uuid5-shaped): what Heat's and Cinder's random ids are here. */
export function derivedUuid(seed: string): string {
  const h = createHash("sha1").update(`${ID_NAMESPACE}/${seed}`).digest("hex");
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The MAC Neutron would give a port: its OUI fa:16:3e and three bytes of the port's id. */
export function neutronMac(portId: string): string {
  const h = createHash("sha1").update(`neutron-mac/${portId}`).digest("hex");
  return `fa:16:3e:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}`;
}

export function hasUnresolved(value: unknown): boolean {
  if (value instanceof Unresolved) return true;
  if (Array.isArray(value)) return value.some(hasUnresolved);
  if (isObject(value)) return Object.values(value).some(hasUnresolved);
  return false;
}

/** Heat's Integer property: Python's int() of the value (heat/engine/properties.py _get_integer). */
export function heatInteger(value: unknown): number | null {
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number") return Number.isFinite(value) ? Math.trunc(value) : null;
  if (typeof value === "string" && /^\s*[+-]?\d+\s*$/.test(value)) return Number.parseInt(value, 10);
  return null;
}

/** Heat's Boolean property: oslo strutils.bool_from_string(strict=True); null when not a boolean. */
export function heatBoolean(value: unknown): boolean | null {
  if (typeof value === "boolean") return value;
  const text = String(value).trim().toLowerCase();
  if (["1", "t", "true", "on", "y", "yes"].includes(text)) return true;
  if (["0", "f", "false", "off", "n", "no"].includes(text)) return false;
  return null;
}

export const resourcesOf = (template: HeatTemplate): Json => (isObject(template.resources) ? template.resources : {});
export const parametersOf = (template: HeatTemplate): Json => (isObject(template.parameters) ? template.parameters : {});

/** `a.b[0].c` as Heat prints property paths. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? p : `.${p}`)).join("");
}
