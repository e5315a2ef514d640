import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Counters } from "../ports.ts";

export interface CountersShape {
  readonly windowMs: number;
  readonly slots: number;
}

/** A fresh, empty store for one test; `open` again gives another node on the same store. */
export interface CountersBackend {
  open(shape: CountersShape): Promise<Counters>;
  destroy(): Promise<void>;
}

export interface CountersContractOptions {
  /** Whether two `open`s share their counts (several nodes on one Redis). */
  readonly shared: boolean;
}

// A slot boundary (10 s window of 10 slots: 1 s each), far from the epoch like a real clock.
const T0 = 1_700_000_000_000;
const SHAPE: CountersShape = { windowMs: 10_000, slots: 10 };

/**
 * The behaviour every Counters backend must have. `create` is called once per test, so tests
 * never see each other's keys.
 */
export function countersContract(
  name: string,
  create: () => Promise<CountersBackend>,
  options: CountersContractOptions,
): void {
  const withCounters = async (
    run: (c: Counters, b: CountersBackend) => Promise<void>,
    shape: CountersShape = SHAPE,
  ): Promise<void> => {
    const backend = await create();
    const opened: Counters[] = [];
    try {
      const counters = await backend.open(shape);
      opened.push(counters);
      await run(counters, {
        open: async (s) => {
          const c = await backend.open(s);
          opened.push(c);
          return c;
        },
        destroy: () => backend.destroy(),
      });
    } finally {
      for (const c of opened) await c.close();
      await backend.destroy();
    }
  };

  void describe(`counters contract: ${name}`, () => {
    void it("counts each hit within the window, and count() adds nothing", () =>
      withCounters(async (c) => {
        assert.deepEqual(await c.hit(["ip:192.0.2.1"], T0), [1]);
        assert.deepEqual(await c.hit(["ip:192.0.2.1"], T0 + 1_000), [2]);
        assert.deepEqual(await c.hit(["ip:192.0.2.1"], T0 + 9_999), [3]);
        assert.deepEqual(await c.count(["ip:192.0.2.1", "ip:192.0.2.2"], T0 + 9_999), [3, 0]);
        assert.deepEqual(await c.count(["ip:192.0.2.1"], T0 + 9_999), [3]);
      }));

    void it("forgets hits once their slot leaves the window", () =>
      withCounters(async (c) => {
        await c.hit(["k"], T0);
        await c.hit(["k"], T0 + 4_500);
        // Slot T0 is still the oldest of the ten slots ending at T0 + 9.9 s.
        assert.deepEqual(await c.count(["k"], T0 + 9_900), [2]);
        assert.deepEqual(await c.count(["k"], T0 + 10_000), [1]);
        assert.deepEqual(await c.hit(["k"], T0 + 10_000), [2]);
        assert.deepEqual(await c.count(["k"], T0 + 13_999), [2]);
        assert.deepEqual(await c.count(["k"], T0 + 14_000), [1]);
        assert.deepEqual(await c.hit(["k"], T0 + 60_000), [1]);
        assert.deepEqual(await c.count(["k"], T0 + 120_000), [0]);
      }));

    void it("counts several keys at once, each on its own", () =>
      withCounters(async (c) => {
        const keys = ["ip:198.51.100.7", "ip24:198.51.100.0", "as:64500", "form:petition"];
        assert.deepEqual(await c.hit(keys, T0), [1, 1, 1, 1]);
        assert.deepEqual(await c.hit(keys.slice(1), T0 + 100), [2, 2, 2]);
        assert.deepEqual(await c.hit(keys.slice(2), T0 + 200), [3, 3]);
        assert.deepEqual(await c.hit([], T0 + 300), []);
        assert.deepEqual(await c.count(keys, T0 + 300), [1, 2, 3, 3]);
      }));

    void it("counts a late hit inside the window and drops one older than it", () =>
      withCounters(async (c) => {
        await c.hit(["late"], T0 + 20_000);
        assert.deepEqual(await c.hit(["late"], T0 + 15_000), [2]);
        assert.deepEqual(await c.hit(["late"], T0 + 5_000), [2]);
        assert.deepEqual(await c.count(["late"], T0 + 20_000), [2]);
      }));

    void it("gives every concurrent hit its own count", () =>
      withCounters(async (c) => {
        const answers = await Promise.all(
          Array.from({ length: 50 }, (_, i) => c.hit(["form:signup"], T0 + i)),
        );
        const seen = answers.map((a) => a[0]!).sort((a, b) => a - b);
        assert.deepEqual(
          seen,
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
      }));

    void it("counts distinct members exactly below the bound", () =>
      withCounters(async (c) => {
        const key = "fp:name:jeff-bezos";
        for (let i = 1; i <= 64; i++) {
          assert.deepEqual(await c.distinct([key], `192.0.2.${i}`, T0 + i), [i]);
        }
        // A member seen again is not new; another key keeps its own set.
        assert.deepEqual(await c.distinct([key, "fp:name:other"], "192.0.2.1", T0 + 100), [64, 1]);
      }));

    void it("forgets distinct members once their slot leaves the window", () =>
      withCounters(async (c) => {
        await c.distinct(["fp:x"], "a", T0);
        await c.distinct(["fp:x"], "b", T0 + 5_000);
        assert.deepEqual(await c.distinct(["fp:x"], "c", T0 + 9_000), [3]);
        assert.deepEqual(await c.distinct(["fp:x"], "c", T0 + 10_000), [2]);
        // "a" comes back: it counts again, from its new slot.
        assert.deepEqual(await c.distinct(["fp:x"], "a", T0 + 15_000), [2]);
        assert.deepEqual(await c.distinct(["fp:x"], "d", T0 + 60_000), [1]);
      }));

    void it("estimates distinct members within 3 % above the bound", () =>
      withCounters(async (c) => {
        let last: readonly number[] = [];
        for (let i = 0; i < 10_000; i++) {
          const ip = `10.${i >>> 16}.${(i >>> 8) & 255}.${i & 255}`;
          last = await c.distinct(["fp:name:bill-gates", "edom:example.org"], ip, T0 + i * 0.5);
        }
        for (const n of last) {
          assert.ok(Math.abs(n - 10_000) <= 300, `estimate ${n} is not within 3 % of 10,000`);
        }
      }));

    void it("forgets an estimated key once it has been idle a whole window", () =>
      withCounters(async (c) => {
        for (let i = 0; i < 500; i++) await c.distinct(["as:64501"], `m${i}`, T0 + i);
        const [many] = await c.distinct(["as:64501"], "m0", T0 + 1_000);
        assert.ok(many! > 400, `expected about 500, got ${many}`);
        assert.deepEqual(await c.distinct(["as:64501"], "new", T0 + 30_000), [1]);
      }));

    if (options.shared) {
      void it("shares counts between two nodes, even when they hit at once", () =>
        withCounters(async (a, backend) => {
          const b = await backend.open(SHAPE);
          await a.hit(["ip:203.0.113.9"], T0);
          assert.deepEqual(await b.hit(["ip:203.0.113.9"], T0 + 10), [2]);
          const both = await Promise.all(
            Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).hit(["as:64502"], T0 + i)),
          );
          assert.deepEqual(
            both.map((r) => r[0]!).sort((x, y) => x - y),
            Array.from({ length: 40 }, (_, i) => i + 1),
          );
          await a.distinct(["fp:shared"], "192.0.2.1", T0);
          assert.deepEqual(await b.distinct(["fp:shared"], "192.0.2.2", T0 + 1), [2]);
        }));
    }
  });
}
