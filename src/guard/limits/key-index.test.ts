import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { KeyIndex, keyHash } from "./key-index.ts";

/**
 * The model: a `Map` in recency order (the oldest first) of each key's id and latest slot, as
 * the index was before it kept its keys in typed arrays.
 */
type Model = Map<string, { id: number; slot: number }>;

/** Keys of every kind the index stores differently: short, at the in-place bound, long, wide. */
const keyOf = (n: number, kind: number): string => {
  switch (kind) {
    case 0:
      return `ip:${n}`;
    case 1:
      return `k${"x".repeat(46)}${n % 10}`; // 48 characters: the longest held in place
    case 2:
      return `em:form:${"long-local-part.".repeat(4)}${n}@example.org`;
    case 3:
      return `fp:ĳ${n}`; // a character past U+00FF
    default:
      return `net:${n}`.slice(0, 3 + (n % 5)); // prefixes of one another, "" included
  }
};

void describe("KeyIndex", () => {
  void it("agrees with a map in recency order, for any sequence of touches, removals and sweeps", () => {
    agreesWithModel({ min: 1, max: 40 }, 60, 400, 300);
  });

  void it("agrees with the model while the table grows, keys are evicted and removed at once", () => {
    // Just past 1,024 ids the table doubles; its old keys move over the next 32 touches, while
    // the index is already full and evicting.
    agreesWithModel({ min: 1_025, max: 1_040 }, 1_300, 5_000, 25);
  });

  void it("finds every key through growth, evictions and removals in a table kept half full", () => {
    // 5,000 keys: four doublings of the table from 1,024 ids, then evictions at the bound, and
    // removals that shift the runs of colliding keys back.
    const maxKeys = 5_000;
    let ids = 0;
    const removed: number[] = [];
    const index = new KeyIndex(
      maxKeys,
      (n) => {
        // One id more at a time, as each is first used.
        assert.equal(n, ids + 1);
        ids = n;
      },
      (id) => removed.push(id),
    );
    const live = new Map<string, number>();
    for (let i = 0; i < 12_000; i++) {
      const key = i % 3 === 0 ? `ip:10.${i >>> 16}.${(i >>> 8) & 255}.${i & 255}` : `fp:f:${i}`;
      if (live.size === maxKeys) live.delete(live.keys().next().value!);
      live.set(key, index.touch(key, i));
      if (i % 7 === 0) {
        // Remove a key from the middle of the recency order.
        const [k, id] = [...live].at(live.size >>> 1)!;
        index.remove(id);
        live.delete(k);
      }
    }
    assert.equal(ids, maxKeys);
    assert.equal(index.size, live.size);
    // Every key was new: each one is still held, or was reported removed (evicted or not).
    assert.equal(removed.length, 12_000 - live.size);
    for (const [k, id] of live) assert.equal(index.peek(k), id, k);
    assert.equal(index.peek("ip:10.0.0.1"), undefined, "evicted long ago");
  });

  void it("finds every key at every step while the table grows, removed ones included", () => {
    // 1,025 ids double the table of 2,048 slots; the old one empties over the next 32 touches.
    // After each, every key is looked up: a key whose run of slots straddles the part already
    // moved must still be found, and one removed meanwhile must not.
    const index = new KeyIndex(10_000, () => undefined);
    const ids = new Map<string, number>();
    for (let i = 0; i < 1_025; i++) ids.set(`ip:${i}`, index.touch(`ip:${i}`, 1));
    for (let step = 0; step < 40; step++) {
      const again = `ip:${(step * 97) % 1_025}`;
      if (ids.has(again)) assert.equal(index.touch(again, 2), ids.get(again));
      if (step % 3 === 0) {
        const gone = `ip:${(step * 31 + 7) % 1_025}`;
        const id = ids.get(gone);
        if (id !== undefined) index.remove(id);
        ids.delete(gone);
      }
      for (let i = 0; i < 1_025; i++) assert.equal(index.peek(`ip:${i}`), ids.get(`ip:${i}`));
    }
    assert.equal(index.size, ids.size);
  });

  void it("tells apart keys whose hashes collide, and keeps them apart through removals", () => {
    // Held in place, and kept as strings beside (too long for the place).
    for (const prefix of ["ip:", `em:form:${"x".repeat(48)}`]) {
      const [a, b] = collidingPair(prefix, 7);
      const index = new KeyIndex(16, () => undefined, undefined, { seed: 7 });
      const ida = index.touch(a, 1);
      const idb = index.touch(b, 2);
      assert.notEqual(ida, idb, prefix);
      assert.equal(index.peek(a), ida);
      assert.equal(index.peek(b), idb);
      index.remove(ida);
      assert.equal(index.peek(a), undefined);
      assert.equal(index.peek(b), idb);
      assert.equal(index.touch(a, 3), ida, "the freed id again");
      assert.equal(index.peek(b), idb);
    }
  });

  void it("sweeps every expired key wherever it is, and gives keys and latest slots back", () => {
    const index = new KeyIndex(100, () => undefined);
    const long = "k".repeat(60);
    const wide = "clé-€";
    // Latest slots out of the order the keys were touched in.
    const slots: [string, number][] = [
      ["a", 50],
      ["b", 10],
      [long, 40],
      ["c", 5],
      [wide, 60],
      ["d", 20],
    ];
    const ids = new Map(slots.map(([k, slot]) => [k, index.touch(k, slot)]));
    for (const [k, slot] of slots) {
      assert.equal(index.keyOf(ids.get(k)!), k);
      assert.equal(index.lastOf(ids.get(k)!), slot);
    }
    index.sweepAll(20);
    assert.deepEqual(
      slots.map(([k]) => index.peek(k) !== undefined),
      [true, false, true, false, true, false],
    );
    assert.equal(index.size, 3);
    assert.equal(index.expirations, 3);
    assert.equal(index.oldest, ids.get("a"), "the rest keep their order");
  });
});

/**
 * Two keys of one length with the same 32-bit hash under `seed`, found by the birthday bound:
 * only their characters tell them apart.
 */
function collidingPair(prefix: string, seed: number): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 1_000_000; ; i++) {
    const k = `${prefix}${i}`;
    const h = keyHash(k, seed);
    const other = seen.get(h);
    if (other !== undefined) return [other, k];
    seen.set(h, k);
  }
}

/** Runs random steps on an index of `maxKeys` and on the model, comparing after each step. */
function agreesWithModel(
  maxKeys: { min: number; max: number },
  keys: number,
  steps: number,
  numRuns: number,
): void {
  fc.assert(
    fc.property(
      fc.integer(maxKeys),
      fc.array(
        fc.record({
          op: fc.constantFrom("touch", "touch", "touch", "peek", "remove", "sweep"),
          n: fc.integer({ min: 0, max: keys }),
          kind: fc.integer({ min: 0, max: 4 }),
        }),
        { minLength: steps / 2, maxLength: steps },
      ),
      (maxKeys, steps) => {
        const index = new KeyIndex(maxKeys, () => undefined);
        const model: Model = new Map();
        let slot = 0;
        let evictions = 0;
        for (const { op, n, kind } of steps) {
          const key = keyOf(n, kind);
          slot++;
          if (op === "touch") {
            const held = model.get(key);
            if (held === undefined && model.size === maxKeys) {
              model.delete(model.keys().next().value!);
              evictions++;
            }
            const id = index.touch(key, slot);
            assert.equal(index.fresh, held === undefined, `fresh for ${key}`);
            if (held !== undefined) assert.equal(id, held.id, `same id for ${key}`);
            model.delete(key);
            model.set(key, { id, slot });
          } else if (op === "peek") {
            assert.equal(index.peek(key), model.get(key)?.id);
          } else if (op === "remove") {
            const held = model.get(key);
            if (held !== undefined) {
              index.remove(held.id);
              model.delete(key);
            }
          } else {
            // The keys last touched n or more steps ago go, the oldest first, two at most.
            const expired = slot - n;
            index.sweep(expired, 2);
            for (const [k, held] of [...model].slice(0, 2)) {
              if (held.slot > expired) break;
              model.delete(k);
            }
          }
          assert.equal(index.size, model.size);
          assert.equal(index.evictions, evictions);
          assert.equal(index.oldest, model.values().next().value?.id ?? -1);
        }
        // Every key the model holds is found, and no other.
        for (const [k, held] of model) assert.equal(index.peek(k), held.id, k);
        for (let n = 0; n <= keys; n++)
          for (let kind = 0; kind <= 4; kind++) {
            const k = keyOf(n, kind);
            if (!model.has(k)) assert.equal(index.peek(k), undefined, k);
          }
      },
    ),
    { numRuns },
  );
}
