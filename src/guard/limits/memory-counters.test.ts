import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { countersContract } from "./counters-contract.ts";
import { MemoryCounters } from "./memory-counters.ts";

countersContract(
  "memory",
  () =>
    Promise.resolve({
      open: (shape) => Promise.resolve(new MemoryCounters({ ...shape, maxKeys: 10_000 })),
      destroy: () => Promise.resolve(),
    }),
  { shared: false },
);

const T0 = 1_700_000_000_000;

void describe("MemoryCounters", () => {
  void it("evicts the least recently used key when maxKeys is reached", () => {
    const c = new MemoryCounters({ windowMs: 60_000, slots: 10, maxKeys: 1000 });
    for (let i = 0; i < 1000; i++) c.hitOne(`ip:${i}`, T0);
    c.hitOne("ip:0", T0 + 1); // ip:0 is now the most recent; ip:1 the least.
    assert.equal(c.hitOne("ip:new", T0 + 2), 1);
    assert.equal(c.stats().keys, 1000);
    assert.equal(c.stats().evictions, 1);
    assert.equal(c.countOne("ip:1", T0 + 3), 0, "ip:1 was evicted");
    assert.equal(c.countOne("ip:0", T0 + 3), 2, "ip:0 kept its count");
    assert.equal(c.countOne("ip:2", T0 + 3), 1);
  });

  void it("holds at most maxKeys keys under a stream of new ones", () => {
    const c = new MemoryCounters({ windowMs: 3_600_000, slots: 20, maxKeys: 5_000 });
    for (let i = 0; i < 50_000; i++) {
      c.hitSync([`ip:${i}`, `ip24:${i >>> 8}`], T0 + i);
      c.distinctOne(`fp:${i % 7_000}`, `m${i}`, T0 + i);
    }
    const s = c.stats();
    assert.ok(s.keys <= 5_000 && s.distinctKeys <= 5_000, JSON.stringify(s));
    assert.ok(s.evictions > 0);
  });

  void it("counts exactly, in least-recently-used order, across pages of keys", () => {
    // 2,500 keys: ids over three pages of counts, the last cut short by maxKeys, and ids freed
    // by eviction reused in any page. A plain map of the same keys in recency order is the
    // model.
    const maxKeys = 2_500;
    const c = new MemoryCounters({ windowMs: 3_600_000, slots: 20, maxKeys });
    const model = new Map<string, number>();
    let evicted = 0;
    let seed = 42;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return (seed >>> 8) % n;
    };
    for (let i = 0; i < 20_000; i++) {
      // Mostly a few hundred keys that come back, sometimes one of thousands.
      const n = random(4) === 0 ? random(4_000) : random(300);
      const key = i % 2 === 0 ? `ip:${n}` : `fp:${n}`;
      const count = (model.get(key) ?? 0) + 1;
      model.delete(key);
      model.set(key, count);
      if (model.size > maxKeys) {
        model.delete(model.keys().next().value!);
        evicted++;
      }
      assert.equal(c.hitOne(key, T0 + i), count, `hit ${i} on ${key}`);
    }
    assert.equal(c.stats().keys, maxKeys);
    assert.ok(evicted > 1_000, `the test evicts (${evicted})`);
    assert.equal(c.stats().evictions, evicted);
    for (const [key, count] of model) assert.equal(c.countOne(key, T0 + 20_000), count, key);
  });

  void it("sweeps expired keys a few at a time, without waiting for the bound", () => {
    const c = new MemoryCounters({ windowMs: 10_000, slots: 10, maxKeys: 100_000 });
    for (let i = 0; i < 1_000; i++) c.hitOne(`old:${i}`, T0);
    // Each later hit sweeps up to two keys idle for two windows from the tail.
    for (let i = 0; i < 300; i++) c.hitOne("new", T0 + 20_000 + i);
    assert.equal(c.stats().keys, 1_000 - 2 * 300 + 1);
    for (let i = 0; i < 300; i++) c.hitOne("new", T0 + 20_300 + i);
    assert.equal(c.stats().keys, 1);
    assert.equal(c.stats().expirations, 1_000);
  });

  void it("counts one member exactly with the least exact bound, and estimates past it", () => {
    // Bounds under one are refused (window-shape.test.ts).
    const c = new MemoryCounters({ windowMs: 60_000, slots: 10, maxKeys: 100, exactBound: 1 });
    assert.equal(c.distinctOne("k", "a", T0), 1);
    assert.equal(c.distinctOne("k", "a", T0), 1);
    assert.equal(c.stats().sketches, 0);
    assert.equal(c.distinctOne("k", "b", T0), 2);
    assert.equal(c.stats().sketches, 1, "the second member passes the bound");
  });

  void it("bounds the number of estimated keys, dropping the oldest estimate", () => {
    const c = new MemoryCounters({
      windowMs: 60_000,
      slots: 10,
      maxKeys: 1_000,
      exactBound: 8,
      maxSketches: 2,
    });
    for (const key of ["a", "b", "c"]) for (let i = 0; i < 20; i++) c.distinctOne(key, `${i}`, T0);
    assert.equal(c.stats().sketches, 2);
    assert.equal(c.distinctOne("a", "x", T0 + 1), 1, "a was dropped to make room for c");
    assert.equal(c.distinctOne("c", "x", T0 + 1), 21);
  });

  void it("agrees with a naive model of the window, for any sequence of hits", () => {
    const windowMs = 5_000;
    const slots = 5;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.constantFrom("a", "b", "c"),
            dt: fc.integer({ min: -3_000, max: 4_000 }),
            read: fc.boolean(),
          }),
          { maxLength: 200 },
        ),
        (steps) => {
          const c = new MemoryCounters({ windowMs, slots, maxKeys: 100 });
          const slotMs = windowMs / slots;
          const model = new Map<string, number[]>();
          let now = T0;
          let latest = T0;
          for (const { key, dt, read } of steps) {
            // Out of order, but never more than a window behind the latest time seen.
            now = Math.max(now + dt, latest - windowMs + 1);
            latest = Math.max(latest, now);
            const slot = Math.floor(now / slotMs);
            const hits = model.get(key) ?? [];
            const head = Math.max(slot, ...hits);
            const live = (h: number[]): number => h.filter((s) => s > head - slots).length;
            if (read) {
              assert.equal(c.countOne(key, now), live(hits));
              continue;
            }
            if (slot > head - slots) hits.push(slot);
            model.set(key, hits);
            assert.equal(c.hitOne(key, now), live(hits));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  void it("counts distinct members exactly, like a naive model, below the bound", () => {
    const windowMs = 5_000;
    const slots = 5;
    fc.assert(
      fc.property(
        // Few members too: a key's lone member is held apart from the map of several.
        fc.constantFrom(1, 2, 3, 41),
        fc.array(
          fc.record({
            key: fc.constantFrom("a", "b"),
            member: fc.integer({ min: 0, max: 40 }),
            dt: fc.integer({ min: -3_000, max: 4_000 }),
          }),
          { maxLength: 200 },
        ),
        (width, steps) => {
          const c = new MemoryCounters({ windowMs, slots, maxKeys: 100 });
          const slotMs = windowMs / slots;
          const model = new Map<string, Map<number, number>>();
          let now = T0;
          let latest = T0;
          for (const { key, member: drawn, dt } of steps) {
            const member = drawn % width;
            now = Math.max(now + dt, latest - windowMs + 1);
            latest = Math.max(latest, now);
            const slot = Math.floor(now / slotMs);
            const seen = model.get(key) ?? new Map<number, number>();
            model.set(key, seen);
            const head = Math.max(slot, ...seen.values());
            if (slot > head - slots) seen.set(member, Math.max(slot, seen.get(member) ?? slot));
            const live = [...seen.values()].filter((s) => s > head - slots).length;
            assert.equal(c.distinctOne(key, `192.0.2.${member}`, now), live);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
