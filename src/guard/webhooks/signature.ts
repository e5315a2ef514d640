import { createHmac, timingSafeEqual } from "node:crypto";

const HEX = /^(?:[0-9a-fA-F]{2})+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** HMAC-SHA256 of the parts, concatenated, with `secret`. */
export function hmacSha256(secret: string, ...parts: readonly Uint8Array[]): Buffer {
  const mac = createHmac("sha256", secret);
  for (const p of parts) mac.update(p);
  return mac.digest();
}

/**
 * Whether `given` (as sent, hex or base64) is `expected`, compared in constant time. Text that
 * is not well-formed, or of the wrong length, is simply not equal: a MAC's length is public.
 */
export function signatureMatches(
  expected: Uint8Array,
  given: string | undefined,
  encoding: "hex" | "base64",
): boolean {
  if (given === undefined) return false;
  const text = given.trim();
  if (!(encoding === "hex" ? HEX : BASE64).test(text)) return false;
  const bytes = Buffer.from(text, encoding);
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
}
