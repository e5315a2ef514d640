import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";
import { formatUuidWords, parseUuidWords } from "./uuid-words.ts";

test("a lowercase UUID goes to four words and back", () => {
  const w = new Int32Array(8);
  for (let i = 0; i < 200; i++) {
    const id = randomUUID();
    assert.equal(parseUuidWords(id, w, 4), true);
    assert.equal(formatUuidWords(w, 4), id);
  }
  fc.assert(
    fc.property(fc.uuid(), (id) => {
      assert.equal(parseUuidWords(id, w, 0), true);
      assert.equal(formatUuidWords(w, 0), id);
    }),
  );
});

test("other ids are refused: uppercase, braces, wrong dashes or length", () => {
  const w = new Int32Array(4);
  const id = randomUUID();
  for (const s of [
    id.toUpperCase(),
    `{${id}}`,
    id.replaceAll("-", ""),
    `${id}0`,
    id.slice(1),
    "d1",
    id.replace("-", "x"),
    id.replace(/[0-9a-f]$/, "g"),
  ])
    assert.equal(parseUuidWords(s, w, 0), false, s);
});
