import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { formatDottedQuad, parseDottedQuad } from "./dotted-quad.ts";
import { normalizeIp } from "./ip.ts";

test("a canonical IPv4 text and its number make each other", () => {
  fc.assert(
    fc.property(fc.nat({ max: 0xffffffff }), (a) => {
      const text = formatDottedQuad(a | 0);
      assert.equal(normalizeIp(text), text);
      assert.equal(parseDottedQuad(text), a);
    }),
  );
});

test("any other text is refused, so that a store keeping the number gives the text back", () => {
  for (const s of [
    "",
    "1.2.3",
    "1.2.3.4.5",
    "01.2.3.4",
    "1.2.3.256",
    "1..3.4",
    "1.2.3.4 ",
    "::1",
    "1.2.3.-4",
    "1.2.3.4/32",
    "1.2.3.00",
  ])
    assert.equal(parseDottedQuad(s), -1, s);
  fc.assert(
    fc.property(fc.string({ maxLength: 16 }), (s) => {
      const a = parseDottedQuad(s);
      if (a >= 0) assert.equal(formatDottedQuad(a), s);
    }),
  );
  assert.equal(parseDottedQuad("0.0.0.0"), 0);
  assert.equal(parseDottedQuad("255.255.255.255"), 0xffffffff);
});
