/**
 * Decision ids in lowercase canonical UUID form (as `randomUUID` makes them) as four 32-bit
 * words and back: 16 bytes in a typed array instead of a 36-character string per decision.
 */

const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) HEX[97 + i] = 10 + i;
/** Where the i-th hex digit stands in the text (dashes at 8, 13, 18 and 23). */
const POS = Array.from(
  { length: 32 },
  (_, i) => i + (i >= 8 ? 1 : 0) + (i >= 12 ? 1 : 0) + (i >= 16 ? 1 : 0) + (i >= 20 ? 1 : 0),
);
const DIGITS = "0123456789abcdef";

/**
 * Writes the id's words into `out` at `at` and returns true, or returns false (leaving `out`
 * as it may be) when the id is not a lowercase canonical UUID.
 */
export function parseUuidWords(id: string, out: Uint32Array | Int32Array, at: number): boolean {
  if (id.length !== 36) return false;
  if (id.charCodeAt(8) !== 45 || id.charCodeAt(13) !== 45) return false;
  if (id.charCodeAt(18) !== 45 || id.charCodeAt(23) !== 45) return false;
  let word = 0;
  let nibbles = 0;
  let k = at;
  for (let i = 0; i < 36; i++) {
    if (i === 8 || i === 13 || i === 18 || i === 23) continue;
    const c = id.charCodeAt(i);
    const v = c < 128 ? HEX[c]! : -1;
    if (v < 0) return false;
    word = (word << 4) | v;
    if (++nibbles === 8) {
      out[k++] = word;
      word = 0;
      nibbles = 0;
    }
  }
  return true;
}

const codes: number[] = Array<number>(36).fill(45);

/** The id whose words are `words[at, at + 4)`. */
export function formatUuidWords(words: Uint32Array | Int32Array, at: number): string {
  for (let k = 0; k < 4; k++) {
    const w = words[at + k]!;
    for (let j = 0; j < 8; j++)
      codes[POS[8 * k + j]!] = DIGITS.charCodeAt((w >>> (28 - 4 * j)) & 15);
  }
  return String.fromCharCode(...codes);
}
