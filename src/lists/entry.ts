import { formatCidr, normalizeIp, parseCidr, type IpRange } from "../net/index.ts";

/**
 * One entry of an imported list: an address (`192.0.2.7`, `2001:db8::1`) or a range
 * (`192.0.2.0/24`), always canonical so that two versions of a list compare entry by entry.
 * A /32 or /128 is an address. `note` is what the list says about it (Spamhaus's SBL id).
 */
export interface ListEntry {
  readonly value: string;
  readonly note?: string;
}

/** The canonical form of an address or CIDR, or undefined when the text is neither. */
export function canonicalEntry(text: string): string | undefined {
  if (!text.includes("/")) return normalizeIp(text);
  const r = parseCidr(text);
  if (!r) return undefined;
  if (r.bits === (r.family === 4 ? 32 : 128)) return normalizeIp(text.slice(0, text.indexOf("/")));
  return formatCidr(r);
}

/** The decision scope an entry becomes. */
export const entryScope = (value: string): "ip" | "range" => (value.includes("/") ? "range" : "ip");

const V4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;

/** An entry as a range (an address is a /32 or /128). IPv4 without BigInt arithmetic: lists are long. */
export function entryRange(value: string): IpRange {
  const m = V4.exec(value);
  if (m) {
    const bits = m[5] === undefined ? 32 : Number(m[5]);
    const n = ((+m[1]! << 24) | (+m[2]! << 16) | (+m[3]! << 8) | +m[4]!) >>> 0;
    const start = bits === 0 ? 0 : (n & (0xffffffff << (32 - bits))) >>> 0;
    return { family: 4, start: BigInt(start), bits };
  }
  const r = parseCidr(value);
  if (!r) throw new Error(`not a canonical list entry: ${value}`); // entries are checked at parse
  return r;
}

/** The canonical order of a list: IPv4 before IPv6, then by first address, then wider first. */
export function compareRanges(a: IpRange, b: IpRange): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.start !== b.start) return a.start < b.start ? -1 : 1;
  return a.bits - b.bits;
}

/** Entries' values in canonical order (what deltas index into). */
export function sortValues(values: Iterable<string>): string[] {
  const keyed = [...values].map((v) => ({ v, r: entryRange(v) }));
  keyed.sort((a, b) => compareRanges(a.r, b.r));
  return keyed.map((k) => k.v);
}

/** Whether the entry is an IPv4 (4) or IPv6 (6) one, cheaply. */
export const entryFamily = (value: string): 4 | 6 => (value.includes(":") ? 6 : 4);
