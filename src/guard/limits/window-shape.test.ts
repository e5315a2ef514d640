import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MemoryCounters } from "./memory-counters.ts";
import { RedisCounters } from "./redis-counters.ts";
import { windowShape } from "./window-shape.ts";

void describe("windowShape", () => {
  void it("cuts the window into slots, with 64 members counted exactly by default", () => {
    assert.deepEqual(windowShape({ windowMs: 60_000, slots: 20 }), {
      slotMs: 3000,
      exactBound: 64,
    });
    assert.deepEqual(windowShape({ windowMs: 1000, slots: 1, exactBound: 1 }), {
      slotMs: 1000,
      exactBound: 1,
    });
  });

  void it("refuses a shape no counter can keep, and says which option", () => {
    const bad = [
      { windowMs: 0, slots: 10 },
      { windowMs: Number.NaN, slots: 10 },
      { windowMs: 60_000, slots: 0 },
      { windowMs: 60_000, slots: 1001 },
      { windowMs: 60_000, slots: 2.5 },
    ];
    for (const o of bad) assert.throws(() => windowShape(o), /windowMs must be > 0 and slots/);
    for (const exactBound of [0, -1, 1.5, Number.NaN])
      assert.throws(
        () => windowShape({ windowMs: 60_000, slots: 10, exactBound }),
        /exactBound must be a positive integer/,
      );
  });

  void it("is checked by both counters, in memory and in Redis alike", () => {
    const shape = { windowMs: 60_000, slots: 10, exactBound: 0 };
    assert.throws(() => new MemoryCounters({ ...shape, maxKeys: 100 }), RangeError);
    // The constructor does not connect: no Redis is needed to be refused.
    assert.throws(() => new RedisCounters({ ...shape, url: "redis://127.0.0.1:1" }), RangeError);
  });
});
