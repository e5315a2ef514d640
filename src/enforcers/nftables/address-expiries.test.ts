import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { AddressExpiries } from "./address-expiries.ts";

/** The reference: a list of expiries per address. */
const latest = (
  list: readonly number[] | undefined,
  now: number | undefined,
): number | undefined => {
  const live = (list ?? []).filter((e) => now === undefined || e > now);
  return live.length === 0 ? undefined : Math.max(...live);
};

test("the latest expiry per address, as a multiset, through adds, removes and growth", () => {
  const address = fc.oneof(
    fc.nat(40).map((i) => `192.0.2.${i}`),
    fc.nat(2000).map((i) => `10.${i >>> 8}.${i & 255}.1`),
    fc.nat(5).map((i) => `2001:db8::${i}`),
  );
  const expiry = fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(Infinity));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), address, expiry), { maxLength: 300 }),
      fc.integer({ min: 0, max: 6 }),
      (ops, now) => {
        const set = new AddressExpiries();
        const ref = new Map<string, number[]>();
        for (const [add, a, e] of ops) {
          const list = ref.get(a) ?? [];
          if (add) {
            set.add(a, e);
            list.push(e);
          } else {
            set.remove(a, e);
            const at = list.indexOf(e);
            if (at >= 0) list.splice(at, 1);
          }
          if (list.length === 0) ref.delete(a);
          else ref.set(a, list);
        }
        assert.equal(set.size, ref.size);
        for (const [a, list] of ref) {
          assert.equal(set.latest(a, undefined), latest(list, undefined), a);
          assert.equal(set.latest(a, now), latest(list, now), a);
        }
        const seen = new Map<string, number>();
        for (const f of [4, 6] as const)
          for (const [a, until] of set.entries(now, f)) {
            assert.equal(a.includes(":") ? 6 : 4, f, a);
            seen.set(a, until);
          }
        const expected = new Map<string, number>();
        for (const [a, list] of ref) {
          const l = latest(list, now);
          if (l !== undefined) expected.set(a, l);
        }
        assert.deepEqual(seen, expected);
        set.clear();
        assert.equal(set.size, 0);
        assert.equal(set.latest("192.0.2.1", undefined), undefined);
      },
    ),
    { numRuns: 300 },
  );
});

test("a table grown through many sizes finds every address after half are removed", () => {
  const set = new AddressExpiries();
  const address = (i: number): string =>
    `${(i * 7919) & 255}.${(i >>> 3) & 255}.${(i >>> 11) & 255}.${i & 255}`;
  const held = new Map<string, number>();
  for (let i = 0; i < 50_000; i++) {
    set.add(address(i), i + 1);
    held.set(address(i), i + 1);
  }
  for (let i = 0; i < 50_000; i += 2) {
    set.remove(address(i), held.get(address(i))!);
    held.delete(address(i));
  }
  assert.equal(set.size, held.size);
  for (let i = 0; i < 50_000; i++)
    assert.equal(set.latest(address(i), undefined), held.get(address(i)));
  assert.equal([...set.entries(0, 4)].length, held.size);
});
