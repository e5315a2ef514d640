import { isIPv4 } from "node:net";
import {
  maskWords,
  newAddressWords,
  parseAddressWords,
  type AddressWords,
} from "./address-words.ts";

/** An address or prefix as a number, so containment is arithmetic. */
export interface IpRange {
  readonly family: 4 | 6;
  /** First address of the range. */
  readonly start: bigint;
  readonly bits: number;
}

/**
 * A small memo for IPv6: logs repeat the same addresses, and this runs per line (a hit costs a
 * fifth of parsing and formatting again). Cleared when full, so it stays bounded.
 */
class Memo {
  readonly #map = new Map<string, string | undefined>();
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  get(key: string, compute: (key: string) => string | undefined): string | undefined {
    const hit = this.#map.get(key);
    if (hit !== undefined || this.#map.has(key)) return hit;
    const value = compute(key);
    if (this.#map.size >= this.#max) this.#map.clear();
    this.#map.set(key, value);
    return value;
  }
}

const v6Memo = new Memo(8192);

/**
 * Normalises an address: IPv4 dotted, IPv6 compressed lower-case (RFC 5952), IPv4-mapped IPv6
 * as IPv4. Strips brackets and a zone id. Returns undefined for anything that is not an address.
 */
export function normalizeIp(raw: string): string | undefined {
  let s = raw;
  if (s.charCodeAt(0) === 91 /* [ */ && s.charCodeAt(s.length - 1) === 93) s = s.slice(1, -1);
  if (isIPv4(s)) return s;
  const pct = s.indexOf("%");
  if (pct > 0) s = s.slice(0, pct);
  return v6Memo.get(s, normalizeV6);
}

/**
 * Through 32-bit words, never BigInt nor node:net's regular expression: in a flood each address
 * is new (the memo does not hit), and those cost several times more. The words parser takes
 * exactly the texts that `isIPv6` takes (a test holds them equal).
 */
function normalizeV6(s: string): string | undefined {
  // Brackets left here were not a pair around the whole text (normalizeIp drops those).
  if (!s.includes(":") || s.charCodeAt(0) === 91 /* [ */) return undefined;
  const family = parseAddressWords(s, scratchWords);
  if (family === 6) return formatWords6(scratchWords);
  if (family === 0) return undefined;
  // IPv4-mapped, dotted (::ffff:192.0.2.1) or in hex (::ffff:c000:201): the IPv4 address, as
  // the prefix map matches it. Kept as IPv6 text, a decision on ::ffff:7f00:1 would pass the
  // allowlist's check for 127.0.0.1 and then ban it.
  const w = scratchWords[0]!;
  return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
}

export function ipFamily(ip: string): 4 | 6 {
  return ip.includes(":") ? 6 : 4;
}

function parseV4(s: string): bigint {
  let n = 0;
  for (const part of s.split(".")) n = n * 256 + Number(part);
  return BigInt(n);
}

function parseV6(s: string): bigint {
  let text = s.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4).
  const lastColon = text.lastIndexOf(":");
  const tail = text.slice(lastColon + 1);
  if (tail.includes(".")) {
    const v4 = Number(parseV4(tail));
    text = `${text.slice(0, lastColon + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, rest] = text.split("::") as [string, string | undefined];
  const left = head === "" ? [] : head.split(":");
  const right = rest === undefined || rest === "" ? [] : rest.split(":");
  const fill = rest === undefined ? 0 : 8 - left.length - right.length;
  const groups = [...left, ...Array<string>(fill).fill("0"), ...right];
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return n;
}

function formatV4(n: bigint): string {
  const x = Number(n);
  return `${(x >>> 24) & 255}.${(x >>> 16) & 255}.${(x >>> 8) & 255}.${x & 255}`;
}

function formatV6(n: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  return formatGroups(groups);
}

/**
 * RFC 5952 text of an IPv6 address's eight 16-bit groups: lower-case hex, the longest run (≥ 2)
 * of zero groups compressed, the first one on a tie. The one formatter of IPv6 text.
 */
export function formatGroups(g: ArrayLike<number>): string {
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += i === 0 ? "::" : ":";
      i += bestLen - 1;
      continue;
    }
    s += g[i]!.toString(16);
    if (i < 7) s += ":";
  }
  return s;
}

export function ipToBigInt(ip: string): bigint {
  return ipFamily(ip) === 4 ? parseV4(ip) : parseV6(ip);
}

export function bigIntToIp(n: bigint, family: 4 | 6): string {
  return family === 4 ? formatV4(n) : formatV6(n);
}

function mask(bits: number, family: 4 | 6): bigint {
  const width = family === 4 ? 32 : 128;
  return ((1n << BigInt(width)) - 1n) ^ ((1n << BigInt(width - bits)) - 1n);
}

/**
 * Parses `1.2.3.0/24`, `2001:db8::/32`, or a bare address (a /32 or /128). Host bits are
 * cleared. Returns undefined when the text is not a prefix.
 */
export function parseCidr(text: string): IpRange | undefined {
  const slash = text.indexOf("/");
  const addr = normalizeIp(slash < 0 ? text : text.slice(0, slash));
  if (addr === undefined) return undefined;
  const family = ipFamily(addr);
  const width = family === 4 ? 32 : 128;
  let bits = width;
  if (slash >= 0) {
    const b = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(b)) return undefined;
    bits = Number(b);
    // An IPv4-mapped prefix was written over 128 bits: ::ffff:0:0/96 is 0.0.0.0/0, all of
    // IPv4, as the prefix map matches it. Shorter, it reaches past the mapped space: refused.
    if (family === 4 && text.lastIndexOf(":", slash) >= 0) {
      if (bits < 96 || bits > 128) return undefined;
      bits -= 96;
    }
    if (bits > width) return undefined;
  }
  return Object.freeze({ family, start: ipToBigInt(addr) & mask(bits, family), bits });
}

export function formatCidr(r: IpRange): string {
  return `${bigIntToIp(r.start, r.family)}/${r.bits}`;
}

export function rangeContains(r: IpRange, ip: string): boolean {
  if (ipFamily(ip) !== r.family) return false;
  return (ipToBigInt(ip) & mask(r.bits, r.family)) === r.start;
}

const scratchWords = newAddressWords();
const scratchGroups = new Uint16Array(8);

/** RFC 5952 text of the IPv6 address in `w` (words, most significant first). */
function formatWords6(w: AddressWords): string {
  const g = scratchGroups;
  for (let k = 0; k < 4; k++) {
    g[2 * k] = w[k]! >>> 16;
    g[2 * k + 1] = w[k]! & 0xffff;
  }
  return formatGroups(g);
}

/**
 * The prefix an address aggregates to: `1.2.3.0/24` for (ip, 24), `2001:db8:1:2::/64` for
 * (ip, 64). It runs per event and per assessment (`ip24`, `net` keys), with a new address each
 * time in a flood: IPv4 /24 is a slice, IPv6 goes through 32-bit words, never BigInt.
 */
export function ipPrefix(ip: string, bits: number): string {
  if (ipFamily(ip) === 4) {
    if (bits === 24) return `${ip.slice(0, ip.lastIndexOf("."))}.0/24`;
    return formatCidr({ family: 4, start: parseV4(ip) & mask(bits, 4), bits });
  }
  const w = scratchWords;
  // Not plain IPv6 text (an IPv4-mapped address, which normalizeIp never gives): the long way.
  if (parseAddressWords(ip, w) !== 6)
    return formatCidr({ family: 6, start: parseV6(ip) & mask(bits, 6), bits });
  maskWords(w, 6, bits);
  return `${formatWords6(w)}/${bits}`;
}

/** A small set of ranges (allowlists): linear, built once at load. */
export class RangeList {
  readonly #ranges: IpRange[];
  constructor(ranges: readonly IpRange[]) {
    this.#ranges = [...ranges];
  }
  get size(): number {
    return this.#ranges.length;
  }
  /** The first range containing the address or the whole range, if any. */
  find(ip: string): IpRange | undefined {
    const fam = ipFamily(ip);
    const n = ipToBigInt(ip);
    for (const r of this.#ranges) {
      if (r.family === fam && (n & mask(r.bits, fam)) === r.start) return r;
    }
    return undefined;
  }
  /** Whether `range` overlaps any listed range. */
  overlaps(range: IpRange): boolean {
    for (const r of this.#ranges) {
      if (r.family !== range.family) continue;
      const bits = Math.min(r.bits, range.bits);
      const m = mask(bits, r.family);
      if ((r.start & m) === (range.start & m)) return true;
    }
    return false;
  }
}

/** Loopback, private, link-local, CGNAT, unique-local, documentation-free special ranges. */
export const SPECIAL_RANGES: readonly string[] = Object.freeze([
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "::1/128",
  "::/128",
  "fc00::/7",
  "fe80::/10",
]);
