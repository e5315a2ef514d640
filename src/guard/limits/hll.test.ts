import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { HLL_PRECISION, hllPosition, SlidingSketch } from "./hll.ts";

const fill = (sketch: SlidingSketch, tag: string, n: number, slot: number): number => {
  let estimate = 0;
  for (let i = 0; i < n; i++) estimate = sketch.add(hllPosition(`${tag}-${i}`), slot);
  return estimate;
};

void describe("hllPosition", () => {
  void it("answers a register below 2^p and a rank in 1..33, the same each time", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const p = hllPosition(s);
        assert.equal(p, hllPosition(s));
        assert.ok(p >>> 8 < 1 << HLL_PRECISION);
        assert.ok((p & 0xff) >= 1 && (p & 0xff) <= 33);
      }),
    );
  });

  void it("spreads members evenly over the registers", () => {
    const counts = new Uint32Array(1 << HLL_PRECISION);
    const n = 200_000;
    for (let i = 0; i < n; i++) counts[hllPosition(`10.0.${i >>> 8}.${i & 255}`) >>> 8]!++;
    const mean = n / counts.length;
    let chi = 0;
    for (const c of counts) chi += (c - mean) ** 2 / mean;
    // χ² with 4,095 degrees of freedom: mean 4,095, standard deviation about 90.
    assert.ok(chi < 4_095 + 5 * 90, `χ² = ${chi}`);
  });
});

void describe("SlidingSketch", () => {
  void it("estimates within 5 % from a handful to a million members", () => {
    for (const n of [10, 300, 3_000, 20_000, 200_000, 1_000_000]) {
      const estimate = fill(new SlidingSketch(10), `n${n}`, n, 0);
      assert.ok(Math.abs(estimate - n) <= Math.max(1, n * 0.05), `${estimate} for ${n}`);
    }
  });

  void it("has a mean error below 1 % over many sets of 10,000", () => {
    let sum = 0;
    for (let run = 0; run < 30; run++) sum += fill(new SlidingSketch(10), `r${run}`, 10_000, 0);
    assert.ok(Math.abs(sum / 30 - 10_000) < 100, `mean ${sum / 30}`);
  });

  void it("drops a slot's members when it leaves the window", () => {
    const s = new SlidingSketch(10);
    fill(s, "early", 5_000, 100);
    const both = fill(s, "late", 5_000, 105);
    assert.ok(Math.abs(both - 10_000) < 500, `${both}`);
    const after = s.add(hllPosition("late-0"), 110);
    assert.ok(Math.abs(after - 5_000) < 250, `${after}`);
    assert.equal(s.add(hllPosition("x"), 200), 1);
  });

  void it("ignores a member older than the window", () => {
    const s = new SlidingSketch(10);
    fill(s, "now", 100, 50);
    const before = s.estimate();
    assert.equal(s.add(hllPosition("too-old"), 40), before);
  });
});
