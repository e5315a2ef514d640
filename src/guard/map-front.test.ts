import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { MapFront } from "./map-front.ts";

type Op =
  | { readonly kind: "add" }
  | { readonly kind: "delete"; readonly pick: number }
  | { readonly kind: "move"; readonly pick: number }
  | { readonly kind: "peek" }
  | { readonly kind: "shift" };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "add" } as const) },
  { weight: 1, arbitrary: fc.nat().map((pick) => ({ kind: "delete", pick }) as const) },
  { weight: 2, arbitrary: fc.nat().map((pick) => ({ kind: "move", pick }) as const) },
  { weight: 2, arbitrary: fc.constant({ kind: "peek" } as const) },
  { weight: 2, arbitrary: fc.constant({ kind: "shift" } as const) },
);

/** Runs the ops on a Map with a MapFront and on an array kept in insertion order. */
function replay(ops: readonly Op[], sameValueOnMove: boolean): void {
  const map = new Map<number, object>();
  const front = new MapFront(map);
  const model: number[] = [];
  let next = 0;
  for (const o of ops) {
    switch (o.kind) {
      case "add":
        map.set(next, {});
        model.push(next++);
        break;
      case "delete":
      case "move": {
        if (model.length === 0) break;
        const k = model[o.pick % model.length]!;
        const v = map.get(k)!;
        map.delete(k);
        model.splice(model.indexOf(k), 1);
        if (o.kind === "move") {
          map.set(k, sameValueOnMove ? v : {});
          model.push(k);
        }
        break;
      }
      case "peek":
        assert.equal(front.peek()?.[0], model[0]);
        break;
      case "shift":
        assert.equal(front.shift()?.[0], model.shift());
        assert.equal(map.size, model.length);
        break;
    }
  }
  assert.deepEqual([...map.keys()], model);
}

test("peek and shift answer the oldest live entry, whatever was added, deleted or moved", () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 400, size: "max" }), (ops) => replay(ops, false)),
    { numRuns: 2000 },
  );
});

test("with shift alone, an entry moved back with the same value is not taken for the oldest", () => {
  const noPeek = op.filter((o) => o.kind !== "peek");
  fc.assert(
    fc.property(fc.array(noPeek, { maxLength: 400, size: "max" }), (ops) => replay(ops, true)),
    { numRuns: 2000 },
  );
});

test("evicting from the front of a large map stays cheap", () => {
  // Without the kept iterator each eviction walks the holes left at the front: about 25 µs
  // an eviction at this size, more than 5 s for the loop; with it, well under a second.
  const map = new Map<number, number>();
  const front = new MapFront(map);
  for (let i = 0; i < 100_000; i++) map.set(i, i);
  const t0 = performance.now();
  for (let i = 100_000; i < 300_000; i++) {
    front.shift();
    map.set(i, i);
  }
  assert.equal(map.size, 100_000);
  assert.equal(front.peek()?.[0], 200_000);
  assert.ok(performance.now() - t0 < 2_000, `took ${performance.now() - t0} ms`);
});
