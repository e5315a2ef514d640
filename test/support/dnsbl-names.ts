/**
 * RFC 5782 query names, written out the plain way (string splitting, no parsing shared with
 * Rempart): the zone's reference test and the DNSBL benchmark's query file both ask with them.
 */

/** An IPv6 address's 32 nibbles, reversed and dotted (`::1` → `1.0.0.…0`). */
export function v6Nibbles(ip: string): string {
  const [l, r] = ip.split("::") as [string, string | undefined];
  const left = l ? l.split(":") : [];
  const right = r ? r.split(":") : [];
  const full =
    r === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return Array.from(full.map((g) => g.padStart(4, "0")).join(""))
    .reverse()
    .join(".");
}

/** The name that asks `zone` about `ip`: reversed octets for IPv4, reversed nibbles for IPv6. */
export function dnsblName(ip: string, zone: string): string {
  const reversed = ip.includes(":") ? v6Nibbles(ip) : ip.split(".").reverse().join(".");
  return `${reversed}.${zone}`;
}
