import assert from "node:assert/strict";
import { test } from "node:test";
import { grownArray, largeArray } from "./large-arrays.ts";

test("small arrays are sized exactly; large ones get a buffer beyond malloc's mmap threshold", () => {
  const small = largeArray(Int32Array, 1000);
  assert.equal(small.length, 1000);
  assert.equal(small.buffer.byteLength, 4000);
  const large = largeArray(Float64Array, 1 << 18);
  assert.equal(large.length, 1 << 18);
  assert.ok(large.buffer.byteLength > 32 << 20);
  assert.ok(large.every((v) => v === 0));
});

test("grownArray keeps the elements, zeroes the new ones, and grows in place while there is room", () => {
  let a = largeArray(Int32Array, 300_000);
  for (let i = 0; i < a.length; i++) a[i] = i + 1;
  const buffer = a.buffer;
  a = grownArray(Int32Array, a, 600_000);
  assert.equal(a.buffer, buffer, "in place");
  assert.equal(a.length, 600_000);
  for (let i = 0; i < 300_000; i++) assert.equal(a[i], i + 1);
  for (let i = 300_000; i < 600_000; i++) assert.equal(a[i], 0);
  const past = buffer.byteLength / 4 + 1;
  a[599_999] = 7;
  const b = grownArray(Int32Array, a, past);
  assert.notEqual(b.buffer, buffer, "copied when the buffer is too small");
  assert.equal(b.length, past);
  assert.equal(b[299_999], 300_000);
  assert.equal(b[599_999], 7);
  assert.equal(b[past - 1], 0);
  // A small array grows by copying into an exact buffer.
  const c = grownArray(Uint8Array, Uint8Array.of(1, 2, 3), 5);
  assert.deepEqual([...c], [1, 2, 3, 0, 0]);
  assert.equal(c.buffer.byteLength, 5);
});
