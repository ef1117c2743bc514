// Range requests (RFC 9110 §14), pure. One byte range is served as 206 with Content-Range;
// none satisfiable is 416 with `Content-Range: bytes */size`. Several ranges are answered
// with the whole file (200), which §14.2 allows ("a server MAY ignore the Range header"):
// no boot client asks for several, and a multipart answer is one more parser to get wrong.
// A header that does not parse, or another unit than bytes, is ignored the same way.

export type RangeDecision =
  | { kind: "full" }
  /** Inclusive byte positions. */
  | { kind: "partial"; first: number; last: number }
  | { kind: "unsatisfiable" };

const INT_RANGE = /^(\d+)-(\d*)$/;
const SUFFIX_RANGE = /^-(\d+)$/;

export function decideRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: "full" };
  const equals = header.indexOf("=");
  if (equals < 0 || header.slice(0, equals).trim().toLowerCase() !== "bytes") return { kind: "full" };
  // 1#range-spec: empty list elements are allowed (RFC 9110 §5.6.1), at least one is not.
  const specs = header
    .slice(equals + 1)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (specs.length === 0) return { kind: "full" };
  const satisfiable: Array<{ first: number; last: number }> = [];
  for (const spec of specs) {
    const int = INT_RANGE.exec(spec);
    if (int) {
      const first = Number(int[1]);
      const last = int[2] === "" ? undefined : Number(int[2]);
      if (last !== undefined && last < first) return { kind: "full" }; // invalid: the whole header is ignored
      if (first < size) satisfiable.push({ first, last: Math.min(last ?? size - 1, size - 1) });
      continue;
    }
    const suffix = SUFFIX_RANGE.exec(spec);
    if (!suffix) return { kind: "full" };
    const length = Number(suffix[1]);
    // A zero-length file has nothing to send for "-n": it is answered whole (200, empty).
    if (length > 0 && size > 0) satisfiable.push({ first: Math.max(0, size - length), last: size - 1 });
    else if (length > 0) return { kind: "full" };
  }
  if (satisfiable.length === 0) return { kind: "unsatisfiable" };
  if (specs.length > 1) return { kind: "full" };
  return { kind: "partial", ...satisfiable[0]! };
}

/**
 * If-Range (RFC 9110 §13.1.5): the range applies only while the validator still matches.
 * An entity tag is compared strongly (a weak one never matches); a date must equal the
 * Last-Modified value exactly.
 */
export function ifRangeHolds(ifRange: string | undefined, etag: string, lastModified: string): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith("W/")) return value === etag;
  return value === lastModified;
}
