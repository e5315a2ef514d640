import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { AddressCache } from "./address-cache.ts";

const word = fc.oneof(
  fc.constantFrom(0, 1, 0xffff, -1, 0x7fffffff, 0x80000000, 0xc0000201),
  fc.integer(),
);
// Few distinct keys, so that a run sets, overwrites and finds the same ones.
const keyArb = fc.tuple(fc.constantFrom(0, 0x20010db8), fc.constantFrom(0, 5), word, word);
// Words outside the int32 range are cast: 2³² + 1 and 1 are one word, as in an Int32Array.

test("the cache agrees with a Map model through sets, gets, deletes, clears and overflows", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 20 }),
      fc.array(
        fc.oneof(
          { weight: 5, arbitrary: fc.tuple(fc.constant("set" as const), keyArb, fc.nat()) },
          { weight: 5, arbitrary: fc.tuple(fc.constant("get" as const), keyArb, fc.nat()) },
          { weight: 3, arbitrary: fc.tuple(fc.constant("delete" as const), keyArb, fc.nat()) },
          { weight: 1, arbitrary: fc.tuple(fc.constant("clear" as const), keyArb, fc.nat()) },
        ),
        { maxLength: 300 },
      ),
      (capacity, ops) => {
        const cache = new AddressCache<number>(capacity);
        const model = new Map<string, number>();
        for (const [op, [a, b, c, d], value] of ops) {
          // Words are stored as 32-bit integers: 2³² + 1 and 1 are the same word.
          const key = [a | 0, b | 0, c | 0, d | 0].join();
          if (op === "set") {
            if (capacity === 0) continue;
            if (model.size >= capacity && !model.has(key)) model.clear();
            cache.set(a, b, c, d, value);
            model.set(key, value);
          } else if (op === "get") assert.equal(cache.get(a, b, c, d), model.get(key));
          else if (op === "delete") {
            assert.equal(cache.delete(a, b, c, d), model.delete(key));
            // The entries that moved back into the hole are all still found.
            for (const [k, v] of model) {
              const [ka, kb, kc, kd] = k.split(",").map(Number) as [number, number, number, number];
              assert.equal(cache.get(ka, kb, kc, kd), v, `${k} after deleting ${key}`);
            }
          } else {
            cache.clear();
            model.clear();
          }
          assert.equal(cache.size, model.size);
        }
      },
    ),
    { numRuns: 500 },
  );
});

test("an IPv4 address above 2³¹ is found by its unsigned value", () => {
  const cache = new AddressCache<string>(4);
  cache.set(0, 0, 0xffff, 0xc0000201, "listed");
  assert.equal(cache.get(0, 0, 0xffff, 0xc0000201), "listed");
  assert.equal(cache.get(0, 0, 0xffff, 0xc0000202), undefined);
});

test("deleting from a crowded table keeps every other address reachable", () => {
  // 1,000 addresses in a table of 2,048 slots: long probe runs, which each delete must mend.
  const cache = new AddressCache<number>(1000);
  const held = new Map<number, number>();
  let seed = 7;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) | 0);
  for (let round = 0; round < 20_000; round++) {
    const v4 = next() & 0x7ff; // 2,048 addresses for 1,000 entries: deletes often hit
    if (next() & 1 && held.size < 1000) {
      cache.set(0, 0, 0xffff, v4, round);
      held.set(v4, round);
    } else assert.equal(cache.delete(0, 0, 0xffff, v4), held.delete(v4));
  }
  assert.equal(cache.size, held.size);
  for (const [v4, value] of held) assert.equal(cache.get(0, 0, 0xffff, v4), value);
  for (let v4 = 0; v4 < 0x800; v4++)
    if (!held.has(v4)) assert.equal(cache.get(0, 0, 0xffff, v4), undefined);
});
