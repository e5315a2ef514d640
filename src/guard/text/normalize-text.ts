/**
 * Folds a submitted value to the form every evasive variant of it shares, so that counters see
 * one identity: "Jeff Bezos", "jeff  BEZOS", "Bézos Jeff", "J3ff B‍ezos" (a zero-width joiner),
 * "Јеff Веzоs" (Cyrillic) all become "bezos jef".
 *
 * What is applied depends on the field's kind:
 *
 * | step                                                     | name | text | generic |
 * |----------------------------------------------------------|:----:|:----:|:-------:|
 * | NFKD, combining marks and invisible characters removed   |  ✓   |  ✓   |    ✓    |
 * | lookalike letters mapped to Latin, lower-cased           |  ✓   |  ✓   |    ✓    |
 * | punctuation and symbols → space, spaces collapsed        |  ✓   |  ✓   |    ✓    |
 * | digit/symbol swaps inside words that have letters (j3ff) |  ✓   |  ✓   |         |
 * | i, l, 1, \| as one letter (BiII, B1ll, Bill)             |  ✓   |  ✓   |         |
 * | runs of one letter collapsed to one (Jeeeff, Jeff → jef) |  ✓   |  ✓   |         |
 * | spaced-out letters joined (J e f f → jef)                |  ✓   |      |         |
 * | lone initials and digit-only words dropped               |  ✓   |      |         |
 * | words deduplicated and sorted (Bezos Jeff = Jeff Bezos)  |  ✓   |      |         |
 *
 * The output is a key, not text to show: it is lossy on purpose.
 */

import { LOWER_CONFUSABLES, UPPER_CONFUSABLES } from "./confusables.ts";

export type FieldKind = "name" | "text" | "generic";

export const FIELD_KINDS: readonly FieldKind[] = Object.freeze(["name", "text", "generic"]);

/** Only this many UTF-16 units are read: the key of a long comment is its beginning. */
export const MAX_INPUT = 1024;

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const INVISIBLE = /[\p{M}\p{Cf}\p{Default_Ignorable_Code_Point}]/gu;
const SPACE_CHAR = /^\s$/u;
const LETTERS = /^\p{L}+$/u;
const DIGITS = /^\p{N}+$/u;

/**
 * Digits and symbols that stand for letters, applied only inside a word that also has letters
 * (so "1990" stays a year). i, l, 1 and | are one class: "BiII" with capital i, "B1ll" and
 * "Bill" cannot be told apart by eye, so they must not be told apart here either. "!" is left
 * out: it ends sentences ("déso!") far more often than it stands for a letter.
 */
const LEET: Readonly<Record<string, string>> = {
  "0": "o",
  "1": "l",
  "3": "e",
  "4": "a",
  "5": "s",
  "7": "t",
  "8": "b",
  "9": "g",
  "@": "a",
  $: "s",
  "|": "l",
};

// What one code point (after NFKD) becomes: dropped, a token break, a word break, letters,
// digits, or a symbol that is a letter inside a word (@ $ |).
const DROP = 0;
const SPACE = 1;
const BREAK = 2;
const LETTER = 3;
const DIGIT = 4;
const SYMBOL = 5;

interface CharClass {
  readonly k: number;
  /** The letters or digits it stands for (lower-cased, Latin for a lookalike). */
  readonly s: string;
  /** What it becomes inside a word with letters, in name and text fields. */
  readonly leet: string | undefined;
}

const cls = (k: number, s = "", leet?: string): CharClass => Object.freeze({ k, s, leet });
const DROPPED = cls(DROP);
const SPACED = cls(SPACE);
const BROKEN = cls(BREAK);

function classify(ch: string): CharClass {
  if (ch.replace(INVISIBLE, "") === "") return DROPPED;
  if (SPACE_CHAR.test(ch)) return SPACED;
  const leet = LEET[ch];
  if (ch === "@" || ch === "$" || ch === "|") return cls(SYMBOL, "", leet);
  let m = UPPER_CONFUSABLES.get(ch) ?? ch;
  m = m.toLowerCase();
  // Lower-casing may leave a mark behind (İ → i + U+0307).
  m = (LOWER_CONFUSABLES.get(m) ?? m).replace(INVISIBLE, "");
  if (m === "") return DROPPED;
  if (LETTERS.test(m)) return cls(LETTER, m);
  if (DIGITS.test(m)) return cls(DIGIT, m, leet);
  return BROKEN;
}

const ASCII: readonly CharClass[] = Array.from({ length: 128 }, (_, c) =>
  classify(String.fromCharCode(c)),
);

// Classes of the other code points met so far. Bounded: past the bound (the size of the Basic
// Multilingual Plane), a new code point is classified each time instead of remembered.
const MEMO_MAX = 65_536;
const memo = new Map<number, CharClass>();

function classOf(cp: number): CharClass {
  if (cp < 128) return ASCII[cp]!;
  let c = memo.get(cp);
  if (c === undefined) {
    c = classify(String.fromCodePoint(cp));
    if (memo.size < MEMO_MAX) memo.set(cp, c);
  }
  return c;
}

/** Normalises `value` for a field of `kind`; "" when nothing meaningful is left. Never throws. */
export function normalizeText(value: string, kind: FieldKind = "generic"): string {
  let s = value.length > MAX_INPUT ? value.slice(0, MAX_INPUT) : value;
  // NFKD is NFKC's compatibility folding (ﬁ, ｆｕｌｌｗｉｄｔｈ, ²) followed by the canonical
  // decomposition that exposes accents as marks, in one pass.
  if (!PRINTABLE_ASCII.test(s)) s = s.normalize("NFKD");
  const fold = kind !== "generic";
  const words: string[] = [];
  const n = s.length;
  let i = 0;
  while (i < n) {
    // A token runs to the next space; digit and symbol swaps apply only if it holds a letter.
    let end = i;
    let hasLetter = false;
    while (end < n) {
      const cp = s.codePointAt(end)!;
      const c = classOf(cp);
      if (c.k === SPACE) break;
      if (c.k === LETTER) hasLetter = true;
      end += cp > 0xffff ? 2 : 1;
    }
    // In a name, a lone digit is a spaced-out letter too (B 3 z 0 5): it joins the letters
    // around it, or goes as an initial would.
    const swap = fold && (hasLetter || (kind === "name" && end - i === 1));
    let word = "";
    let last = "";
    let letters = false;
    /** Letters written in this word, before runs collapsed. */
    let written = 0;
    for (let j = i; j < end;) {
      const cp = s.codePointAt(j)!;
      j += cp > 0xffff ? 2 : 1;
      const c = classOf(cp);
      let add: string;
      if (c.k === LETTER) add = fold && c.s === "i" ? "l" : c.s;
      else if (c.k === DROP) continue;
      else if (swap && c.leet !== undefined) add = c.leet;
      else if (c.k === DIGIT) {
        word += c.s;
        last = "";
        continue;
      } else {
        if (word !== "" && (letters || kind !== "name")) words.push(collapsed(word, written, fold));
        word = last = "";
        letters = false;
        written = 0;
        continue;
      }
      letters = true;
      written++;
      if (!fold) {
        word += add;
        continue;
      }
      // Runs of one letter collapse to one: Jeeeff, Jeff and Jef are the same name.
      if (add.length === 1 || (add.length === 2 && add.codePointAt(0)! > 0xffff)) {
        if (add !== last) word += add;
        last = add;
      } else {
        for (const ch of add) {
          if (ch !== last) word += ch;
          last = ch;
        }
      }
    }
    // Digit-only words carry no name (Jeff Bezos 2): names drop them.
    if (word !== "" && (letters || kind !== "name")) words.push(collapsed(word, written, fold));
    i = end + 1;
  }
  return kind === "name" ? nameKey(words) : words.join(" ");
}

/**
 * A word whose letters all collapsed into one (aa, iii) stays two letters long: only a letter
 * written alone is a spaced-out letter or an initial (nameKey), so "ii aa" keeps its two words
 * whatever their order, and the result normalises to itself.
 */
function collapsed(word: string, written: number, fold: boolean): string {
  return fold && written > 1 && isOneLetter(word) ? word + word : word;
}

/**
 * Spaced-out letters joined (J e f f → jef), lone initials dropped, then the words
 * deduplicated and sorted, so that neither order nor repetition makes a new name.
 */
function nameKey(words: readonly string[]): string {
  const out: string[] = [];
  let run = "";
  const flush = (): void => {
    if (run !== "" && !isOneLetter(run)) out.push(run);
    run = "";
  };
  for (const w of words) {
    if (isOneLetter(w)) {
      if (!run.endsWith(w)) run += w;
      continue;
    }
    flush();
    out.push(w);
  }
  flush();
  if (out.length < 2) return out.join(" ");
  return [...new Set(out)].sort().join(" ");
}

const isOneLetter = (w: string): boolean =>
  w.length === 1 || (w.length === 2 && w.codePointAt(0)! > 0xffff);
