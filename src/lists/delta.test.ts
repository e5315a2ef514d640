import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { applyDelta, encodeDelta } from "./delta.ts";
import { canonicalEntry, sortValues } from "./entry.ts";

const entry = fc
  .oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.tuple(fc.ipV4(), fc.integer({ min: 8, max: 32 })).map(([ip, b]) => `${ip}/${b}`),
    fc.tuple(fc.ipV6(), fc.integer({ min: 16, max: 128 })).map(([ip, b]) => `${ip}/${b}`),
  )
  .map((t) => canonicalEntry(t)!);

test("base + delta(base, target) = target, for any two lists", () => {
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 40 }), fc.array(entry, { maxLength: 40 }), (a, b) => {
      const base = sortValues(new Set(a));
      const target = sortValues(new Set(b));
      const r = applyDelta(base, encodeDelta(base, target));
      assert.ok(r.ok, r.ok ? "" : r.error.message);
      assert.deepEqual(r.value, target);
    }),
  );
});

test("a delta applied to another base, or damaged, is refused, never thrown", () => {
  const base = sortValues(["198.51.100.1", "198.51.100.2", "203.0.113.0/24"]);
  const target = sortValues(["198.51.100.2", "203.0.113.0/24", "2001:db8::/48"]);
  const delta = encodeDelta(base, target);
  const other = applyDelta(sortValues(["198.51.100.1", "198.51.100.3", "203.0.113.0/24"]), delta);
  assert.equal(other.ok, false);
  if (!other.ok) assert.match(other.error.message, /fingerprint mismatch/);
  fc.assert(
    fc.property(fc.nat(delta.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
      const bad = Uint8Array.from(delta);
      bad[i] = bad[i]! ^ x;
      assert.equal(applyDelta(base, bad).ok, false);
    }),
  );
  assert.equal(applyDelta(base, delta.subarray(0, delta.length - 1)).ok, false);
});

test("a delta of 1% churn on 60K addresses costs about 2.5 bytes per change", () => {
  const base: string[] = [];
  for (let i = 0; i < 60_000; i++)
    base.push(`${(i * 7919) % 223}.${(i * 31) % 256}.${(i * 17) % 256}.${i % 256}`);
  const sorted = sortValues(new Set(base));
  const target = sortValues([
    ...sorted.filter((_, i) => i % 200 !== 0),
    ...Array.from({ length: 300 }, (_, i) => `100.${i % 256}.${(i * 13) % 256}.7`),
  ]);
  const delta = encodeDelta(sorted, target);
  assert.ok(delta.length < 600 * 3.5, `${delta.length} bytes`);
});
