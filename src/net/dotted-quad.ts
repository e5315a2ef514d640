/**
 * IPv4 addresses in their canonical text (`192.0.2.7`: four decimal octets, no leading zeros)
 * as one number and back, so that a store of a million addresses can keep a word instead of a
 * string and still give back exactly the text it was handed.
 */

/** The address as an unsigned 32-bit number, or -1 when the text is not canonical IPv4. */
export function parseDottedQuad(s: string): number {
  const n = s.length;
  if (n < 7 || n > 15) return -1;
  let address = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return -1;
      address = address * 256 + octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      // A leading zero makes another text of the same address: not canonical.
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + c - 48;
      if (octet > 255) return -1;
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return address * 256 + octet;
}

/** The canonical text of an address given as a 32-bit number (signed or not). */
export const formatDottedQuad = (a: number): string =>
  `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
