import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runInNewContext } from "node:vm";
import { releaseFreedMemory } from "./release-memory.ts";

describe("releaseFreedMemory", () => {
  it("runs a collection that frees what a load left, without exposing gc to anything else", () => {
    // Garbage that outlives the young generation, as a bulk load leaves it.
    const load = (): number => {
      const rows: { i: number; s: string }[] = [];
      for (let i = 0; i < 300_000; i++) rows.push({ i, s: `decision-${i}` });
      return process.memoryUsage().heapUsed;
    };
    const held = load();
    assert.equal(releaseFreedMemory(), true);
    assert.ok(
      process.memoryUsage().heapUsed < held - 10 * 1048576,
      `the heap still holds ${process.memoryUsage().heapUsed} bytes of ${held}`,
    );
    assert.equal(typeof (globalThis as { gc?: unknown }).gc, "undefined");
    assert.equal(runInNewContext("typeof gc"), "undefined", "--expose-gc was left on");
    assert.equal(releaseFreedMemory(), true, "the collector is kept for the next call");
  });
});
