/**
 * Addresses and prefixes as 32-bit words, parsed from text without allocating: the hot path of
 * every enforcement look-up runs through here, so no BigInt, no split, no regex.
 *
 * A buffer holds `[w0, w1, w2, w3, bits]`: IPv4 in w0 (the other words 0), IPv6 most significant
 * word first. IPv4-mapped IPv6 (`::ffff:0:0/96`) is IPv4 everywhere, as `normalizeIp` has it.
 */

/** Scratch for parsing: `[w0, w1, w2, w3, bits]`. */
export type AddressWords = Uint32Array;

export const newAddressWords = (): AddressWords => new Uint32Array(5);

const groups = new Int32Array(8);
/**
 * HEX_DIGIT[c]: the value of the hexadecimal digit whose code (a byte, or a character code below
 * 256) is c, either case; -1 for any other.
 */
export const HEX_DIGIT = new Int8Array(256).fill(-1);
for (let d = 0; d < 16; d++) {
  HEX_DIGIT["0123456789abcdef".charCodeAt(d)] = d;
  HEX_DIGIT["0123456789ABCDEF".charCodeAt(d)] = d;
}
/** The value parseV4 read, as int32 bits (a module variable: no boxing of a double). */
let v4 = 0;

/** Reads the IPv4 address in `s[i, end)` into `v4`; false when it is not a strict dotted quad. */
function parseV4(s: string, i: number, end: number): boolean {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d >>> 0 <= 9) {
      if (digits > 0 && part === 0) return false; // a leading zero: 01.2.3.4 is not an address here
      part = part * 10 + d;
      if (part > 255) return false;
      digits++;
    } else {
      if (d !== 46 - 48 || digits === 0 || dots === 3) return false;
      value = (value << 8) | part;
      part = 0;
      digits = 0;
      dots++;
    }
  }
  if (digits === 0 || dots !== 3) return false;
  v4 = (value << 8) | part;
  return true;
}

/** Parses the IPv6 address in `s[i, end)` into `out[0..3]`. */
function parseV6(s: string, i: number, end: number, out: AddressWords): boolean {
  let n = 0;
  let gap = -1;
  if (i < end && s.charCodeAt(i) === 58 /* : */) {
    if (i + 1 >= end || s.charCodeAt(i + 1) !== 58) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    const from = i;
    let v = 0;
    let c = 0;
    for (; i < end; i++) {
      c = s.charCodeAt(i);
      const h = c < 256 ? HEX_DIGIT[c]! : -1;
      if (h < 0) break;
      v = (v << 4) | h;
    }
    if (i === from || i - from > 4) {
      // Five digits or more may still start an IPv4 tail (::ffff:12345 is not one either).
      if (i === from || c !== 46) return false;
    }
    if (i < end && c === 46 /* . */) {
      // An IPv4 tail (::ffff:192.0.2.1, 64:ff9b::192.0.2.1) ends the address.
      if (n > 6 || !parseV4(s, from, end)) return false;
      groups[n++] = v4 >>> 16;
      groups[n++] = v4 & 0xffff;
      break;
    }
    if (n === 8) return false;
    groups[n++] = v;
    if (i === end) break;
    if (c !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = n;
      i++;
    } else if (i === end) return false;
  }
  if (gap < 0) {
    if (n !== 8) return false;
  } else {
    if (n > 7) return false;
    const move = n - gap;
    for (let k = 0; k < move; k++) groups[7 - k] = groups[n - 1 - k]!;
    for (let k = gap; k < 8 - move; k++) groups[k] = 0;
  }
  out[0] = (groups[0]! << 16) | groups[1]!;
  out[1] = (groups[2]! << 16) | groups[3]!;
  out[2] = (groups[4]! << 16) | groups[5]!;
  out[3] = (groups[6]! << 16) | groups[7]!;
  return true;
}

/** Parses the address in `s[i, end)`; brackets and (for IPv6) a zone id are dropped. */
function parseRange(s: string, i: number, end: number, out: AddressWords): 0 | 4 | 6 {
  if (end - i >= 2 && s.charCodeAt(i) === 91 /* [ */ && s.charCodeAt(end - 1) === 93) {
    i++;
    end--;
  }
  // IPv4 has a dot within its first four characters and no colon before it.
  let isV4 = false;
  for (let k = i + 1; k < end && k < i + 4; k++) {
    const c = s.charCodeAt(k);
    if (c === 46) {
      isV4 = s.charCodeAt(i) !== 58;
      break;
    }
    if (c === 58) break;
  }
  if (isV4) {
    if (!parseV4(s, i, end)) return 0;
    out[0] = v4;
    out[1] = 0;
    out[2] = 0;
    out[3] = 0;
    return 4;
  }
  const zone = s.indexOf("%", i);
  if (zone >= 0 && zone < end) {
    if (zone === i) return 0;
    end = zone;
  }
  if (!parseV6(s, i, end, out)) return 0;
  return unmapIPv4(out);
}

/** IPv6 words in `out` as their family: IPv4-mapped (`::ffff:a.b.c.d`) becomes IPv4 in place. */
export function unmapIPv4(out: AddressWords): 4 | 6 {
  if (out[0] !== 0 || out[1] !== 0 || out[2] !== 0xffff) return 6;
  out[0] = out[3]!;
  out[2] = 0;
  out[3] = 0;
  return 4;
}

/**
 * Parses an address into `out` (`out[4]` is set to the full width). Returns its family, or 0
 * when the text is not an address.
 */
export function parseAddressWords(text: string, out: AddressWords): 0 | 4 | 6 {
  const family = parseRange(text, 0, text.length, out);
  if (family !== 0) out[4] = family === 4 ? 32 : 128;
  return family;
}

/**
 * Parses `1.2.3.0/24`, `2001:db8::/32` or a bare address into `out`, host bits cleared, length
 * in `out[4]`. Returns the family, or 0 when the text is not a prefix. An IPv4-mapped prefix of
 * at least /96 is the IPv4 prefix it maps (`::ffff:1.2.3.0/120` is `1.2.3.0/24`).
 */
export function parsePrefixWords(text: string, out: AddressWords): 0 | 4 | 6 {
  const slash = text.indexOf("/");
  if (slash < 0) return parseAddressWords(text, out);
  const digits = text.length - slash - 1;
  if (digits < 1 || digits > 3) return 0;
  let bits = 0;
  for (let k = slash + 1; k < text.length; k++) {
    const d = text.charCodeAt(k) - 48;
    if (d < 0 || d > 9) return 0;
    bits = bits * 10 + d;
  }
  let family = parseRange(text, 0, slash, out);
  if (family === 0) return 0;
  // A mapped address was written as IPv6, so its length counts 128 bits.
  if (family === 4 && text.lastIndexOf(":", slash) >= 0) {
    if (bits > 128) return 0;
    if (bits < 96) {
      out[3] = out[0]!;
      out[0] = 0;
      out[1] = 0;
      out[2] = 0xffff;
      family = 6;
    } else bits -= 96;
  }
  if (bits > (family === 4 ? 32 : 128)) return 0;
  out[4] = bits;
  maskWords(out, family, bits);
  return family;
}

/** Clears the host bits of the address in `out` for a prefix of `bits`. */
export function maskWords(out: AddressWords, family: 4 | 6, bits: number): void {
  const words = family === 4 ? 1 : 4;
  for (let k = 0; k < words; k++) {
    const keep = bits - 32 * k;
    if (keep >= 32) continue;
    out[k] = keep <= 0 ? 0 : out[k]! & (-1 << (32 - keep));
  }
}

/** The words of an address or prefix as text: `1.2.3.4`, `2001:db8::/32` (not RFC 5952). */
export function formatWords(words: ArrayLike<number>, family: 4 | 6, bits?: number): string {
  let text: string;
  if (family === 4) {
    const a = words[0]!;
    text = `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  } else {
    const parts: string[] = [];
    for (let k = 0; k < 4; k++) {
      const w = words[k]!;
      parts.push(((w >>> 16) & 0xffff).toString(16), (w & 0xffff).toString(16));
    }
    text = parts.join(":");
  }
  return bits === undefined ? text : `${text}/${bits}`;
}
