import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { normalizeText, type FieldKind } from "./normalize-text.ts";

const ZWJ = "\u200d";
const ZWSP = "\u200b";

/** Each group: variants an attacker would send for one identity, which must all fold together. */
const COLLIDE: readonly (readonly [FieldKind, readonly string[]])[] = [
  [
    "name",
    [
      "Jeff Bezos",
      "jeff bezos", // case
      "JEFF BEZOS",
      "  Jeff   Bezos ", // spacing
      "Jeff\tBezos\n",
      "Bezos Jeff", // word order
      "Bezos, Jeff", // punctuation
      "Jeff-Bezos.",
      "Jéff Bézos", // accents
      "Jeff Be\u0301zos", // a combining accent
      `J${ZWJ}eff Bez${ZWSP}os`, // zero-width characters
      "Je\u00adff Bezos", // a soft hyphen
      "Ｊｅｆｆ　Ｂｅｚｏｓ", // fullwidth
      "Јеff Веzоs", // Cyrillic Ј е В о
      "Jeff Βεzοs", // Greek Β ε ο
      "J3ff B3z0s", // leetspeak
      "Jeff Bez0$",
      "Jeeeeff Bezooos", // repeated letters
      "Jef Bezos",
      "J e f f Bezos", // spaced-out letters
      "Jeff B 3 z 0 5", // spaced-out letters and digits
      "Jeff P. Bezos", // a lone initial
      "Jeff Bezos 2", // a number
      "Jeff Jeff Bezos", // a repeated word
      "Jeff\ufe0f Bezos", // a variation selector
    ],
  ],
  [
    "name",
    [
      "Bill Gates",
      "BiII Gates",
      "B1ll Gates",
      "Bi11 Gat3s",
      "B|ll GATES",
      "Gates Bill",
      "Bill G 4 t 3 s",
    ],
  ],
  [
    "text",
    [
      "déso pas déso",
      "Déso pas déso",
      "deso pas deso",
      "déso, pas déso...",
      "DÉSO PAS DÉSO",
      "d3so pas d3s0",
      "déééso   pas déso",
      `dé${ZWJ}so pas déso`,
    ],
  ],
  ["generic", ["Paris", "PARIS", " paris ", "Pàris", "Ｐａｒｉｓ", "Раris"]],
];

/** Real, distinct identities that must stay distinct. */
const DISTINCT: readonly (readonly [FieldKind, string, string])[] = [
  ["name", "Jean Martin", "Jeanne Martin"],
  ["name", "Marie Dupont", "Marie Dupond"],
  ["name", "Jeff Bezos", "Jeff Bozos"],
  ["name", "Paul Durand", "Pauline Durand"],
  ["name", "Louis Martin", "Louise Martin"],
  ["name", "Jeff Bezos", "Bill Gates"],
  ["name", "Henri 4 Martin", "Henri Martina"], // a lone digit is not joined to a word
  ["text", "déso pas déso", "pas déso déso"],
  ["text", "merci", "mercredi"],
  ["generic", "1990", "1999"],
  ["generic", "j3ff", "jeff"],
];

/** Collisions accepted on purpose (documented): harmless for counters, lost for evasion. */
const ACCEPTED: readonly (readonly [FieldKind, string, string])[] = [
  ["name", "Léa Martin", "Lea Martin"], // accents go
  ["name", "Mathieu Martin", "Matthieu Martin"], // doubled letters go
  ["name", "Lia Martin", "Ila Martin"], // i and l are one letter
  ["name", "Jeff Bezos", "Jeff Bezoss Bezos"], // a repeated word, once its letters fold
];

describe("normalizeText", () => {
  for (const [kind, variants] of COLLIDE) {
    it(`folds every variant of "${variants[0]}" (${kind}) to one value`, () => {
      const first = normalizeText(variants[0]!, kind);
      assert.notEqual(first, "");
      for (const v of variants) assert.equal(normalizeText(v, kind), first, JSON.stringify(v));
    });
  }

  for (const [kind, a, b] of DISTINCT) {
    it(`keeps "${a}" and "${b}" apart (${kind})`, () => {
      assert.notEqual(normalizeText(a, kind), normalizeText(b, kind));
    });
  }

  for (const [kind, a, b] of ACCEPTED) {
    it(`merges "${a}" and "${b}" on purpose (${kind})`, () => {
      assert.equal(normalizeText(a, kind), normalizeText(b, kind));
    });
  }

  it("keeps numbers that are not inside words", () => {
    assert.equal(normalizeText("commande 1337", "text"), "comande 1337");
    assert.equal(normalizeText("75011", "generic"), "75011");
  });

  it("answers empty for values with nothing meaningful in them", () => {
    for (const kind of ["name", "text", "generic"] as const) {
      for (const v of ["", "   ", "...!!!", `${ZWJ}${ZWSP}`, "\u2800\u3164", "\u0301"]) {
        assert.equal(normalizeText(v, kind), "", `${kind} ${JSON.stringify(v)}`);
      }
    }
    assert.equal(normalizeText("J. 42", "name"), "");
  });

  it("reads only the beginning of a very long value", () => {
    const long = `${"a".repeat(5000)} tail`;
    assert.doesNotMatch(normalizeText(long, "generic"), /tail/);
  });

  const kinds = fc.constantFrom<FieldKind>("name", "text", "generic");
  const text = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.string({
      unit: fc.constantFrom(...Array.from("Jeff Bézos1l|i@$0 -.İıßΗηАаЅ\u200d\u0301ﬁ²Ｊ")),
      maxLength: 30,
    }),
  );

  it("is idempotent", () => {
    fc.assert(
      fc.property(text, kinds, (v, kind) => {
        const once = normalizeText(v, kind);
        assert.equal(normalizeText(once, kind), once);
      }),
      { numRuns: 3000 },
    );
  });

  it("never throws and leaves no mark, format or control character, nor stray spaces", () => {
    fc.assert(
      fc.property(text, kinds, (v, kind) => {
        const out = normalizeText(v, kind);
        assert.doesNotMatch(out, /[\p{Cf}\p{M}\p{Cc}]/u);
        assert.doesNotMatch(out, /^ | $| {2}/);
        assert.equal(out, out.toLowerCase());
      }),
      { numRuns: 3000 },
    );
  });

  it("keeps a word whose letters collapse into one a word, not a spaced-out letter", () => {
    // fast-check found it: ii and aa fold to l and a, which were then joined as letters ("la",
    // "al") in the order written. Letters written alone still join: J e f f.
    assert.equal(normalizeText("ii aa", "name"), normalizeText("aa ii", "name"));
    assert.equal(normalizeText("ii aa", "name"), "aa ll");
    assert.equal(normalizeText("aa ll", "name"), "aa ll");
    assert.equal(normalizeText("J e f f Bezos", "name"), "bezos jef");
  });

  it("makes word order irrelevant for names only", () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z]{2,8}$/), { minLength: 1, maxLength: 4 }),
        (ws) => {
          const reversed = [...ws].reverse().join(" ");
          assert.equal(normalizeText(reversed, "name"), normalizeText(ws.join(" "), "name"));
        },
      ),
    );
  });
});
