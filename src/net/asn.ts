/** AS numbers as operators and AS data write them. */

/** `13335`, `AS13335` (blanks around allowed) → 13335; -1 when it is not an AS number. */
export function parseAsn(text: string): number {
  const s = text.trim();
  let i = s.length > 2 && (s.charCodeAt(0) | 32) === 97 && (s.charCodeAt(1) | 32) === 115 ? 2 : 0;
  if (i === s.length || s.length - i > 10) return -1;
  let n = 0;
  for (; i < s.length; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n <= 0xffffffff ? n : -1;
}
