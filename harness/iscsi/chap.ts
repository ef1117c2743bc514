// CHAP with MD5 (RFC 1994, as profiled by RFC 7143 §12.1.3): response = MD5(id || secret || challenge).
import { createHash, timingSafeEqual } from "node:crypto";

export const CHAP_MD5 = "5";

export function chapResponse(id: number, secret: string | Buffer, challenge: Buffer): Buffer {
  const h = createHash("md5");
  h.update(Buffer.from([id & 0xff]));
  h.update(typeof secret === "string" ? Buffer.from(secret, "utf8") : secret);
  h.update(challenge);
  return h.digest();
}

/** Binary text values: 0x/0X hex or 0b/0B base64 (RFC 7143 §6.1). Null when malformed. */
export function decodeBinaryValue(value: string): Buffer | null {
  if (value.length < 3) return null;
  const prefix = value.slice(0, 2).toLowerCase();
  const body = value.slice(2);
  if (prefix === "0x") {
    if (!/^[0-9a-fA-F]+$/.test(body)) return null;
    return Buffer.from(body.length % 2 ? `0${body}` : body, "hex");
  }
  if (prefix === "0b") {
    if (!/^[A-Za-z0-9+/]+=*$/.test(body)) return null;
    return Buffer.from(body, "base64");
  }
  return null;
}

export const encodeHex = (b: Buffer): string => `0x${b.toString("hex")}`;

export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
