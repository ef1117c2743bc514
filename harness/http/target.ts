// The HTTP request target → path segments under the served root (RFC 9112 §3.2). Pure.
// Origin-form (`/a/b?q`) and absolute-form (`http://host/a/b`, which servers must accept)
// are taken; authority-form, asterisk-form and other schemes are refused. The query is
// cut off first (it may carry secrets; it is never logged) and ignored. Segments are
// split on the raw '/' and only then percent-decoded, so `%2F` can never become a
// separator; a decoded `..`, `.`, empty segment, '/', '\' or control byte is refused by
// the same lexical gate the TFTP server uses (harness/files/confine.ts).
import { checkSegments, PathRefusal } from "../files/confine.js";

export interface RequestTarget {
  /** The path as sent, without query or fragment: what logs and fault rules see. */
  path: string;
  /** Decoded segments, relative to the root. */
  segments: string[];
}

const ABSOLUTE_FORM = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/[^/?#]*/;
/** Longest path kept for logs. */
const LOG_PATH_LIMIT = 512;

/** The path part of a target, query and fragment cut, for logs (never throws). */
export function targetPath(target: string): string {
  let path = target;
  const absolute = ABSOLUTE_FORM.exec(path);
  if (absolute) path = path.slice(absolute[0].length) || "/";
  const cut = path.search(/[?#]/);
  if (cut >= 0) path = path.slice(0, cut);
  return path.length > LOG_PATH_LIMIT ? `${path.slice(0, LOG_PATH_LIMIT)}...` : path;
}

export function parseRequestTarget(target: string): RequestTarget {
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute && !/^https?$/i.test(absolute[1]!)) {
    throw new PathRefusal("invalid-name", `scheme '${absolute[1]}' is not served: use http:// or a path`);
  }
  const path = targetPath(target);
  if (!path.startsWith("/")) {
    throw new PathRefusal("invalid-name", "the request target must be a path starting with '/' (or an http:// URL)");
  }
  if (path.includes("\\")) throw new PathRefusal("invalid-name", "backslashes are refused in paths");
  const directory = path.endsWith("/");
  const body = directory ? path.slice(1, -1) : path.slice(1);
  if (body === "") throw new PathRefusal("root", "the root is a directory: directory listings are not served");
  const segments = body.split("/").map((raw) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      throw new PathRefusal("invalid-name", "malformed percent-encoding (or not UTF-8) in the path");
    }
    if (decoded.includes("\\")) throw new PathRefusal("invalid-name", "backslashes are refused in paths");
    return decoded;
  });
  checkSegments(segments);
  if (directory)
    throw new PathRefusal("not-regular", "a path ending in '/' names a directory: directory listings are not served");
  return { path, segments };
}
