import assert from "node:assert/strict";
import { test } from "node:test";
import { add, expiresAt, newState, type BucketSpec, type BucketState } from "./buckets.ts";

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2024, 2, 4);

/** Adds events, through a JSON round trip each time as a checkpoint would; returns the firings. */
function run(spec: BucketSpec, events: readonly { t: number; hit?: boolean }[]): number[] {
  let s: BucketState = newState(spec, events[0]!.t);
  const fired: number[] = [];
  for (const [i, e] of events.entries()) {
    s = JSON.parse(JSON.stringify(s)) as BucketState;
    if (add(spec, s, e.t, 1, undefined, `e${i}`, e.hit ?? false)) fired.push(i);
  }
  return fired;
}

const ratio: BucketSpec = { kind: "ratio", ratio: 0.5, min: 20, windowMs: HOUR };

test("ratio: fires on the share within the window, once the minimum is counted", () => {
  const half = Array.from({ length: 30 }, (_, i) => ({ t: T0 + i * MIN, hit: i % 2 === 1 }));
  assert.deepEqual(run(ratio, half), [19], "the 20th event: 10 of 20");
  const third = Array.from({ length: 300 }, (_, i) => ({ t: T0 + i * MIN, hit: i % 3 === 0 }));
  assert.deepEqual(run(ratio, third), []);
});

test("ratio: events older than the window no longer count", () => {
  // 15 bounces, then two hours of clean mail, then 15 more bounces among clean mail: the first
  // bounces are gone, so 15 of 30 is never reached with the old ones.
  const events = [
    ...Array.from({ length: 15 }, (_, i) => ({ t: T0 + i * MIN, hit: true })),
    ...Array.from({ length: 14 }, (_, i) => ({ t: T0 + 3 * HOUR + i * MIN, hit: i % 3 === 0 })),
  ];
  assert.deepEqual(run(ratio, events), []);
  const within = [
    ...Array.from({ length: 15 }, (_, i) => ({ t: T0 + i * MIN, hit: true })),
    ...Array.from({ length: 14 }, (_, i) => ({ t: T0 + 20 * MIN + i * MIN, hit: i % 3 === 0 })),
  ];
  assert.deepEqual(run(ratio, within), [19]);
  // Nor do old clean events dilute a later run of bounces.
  const diluted = [
    ...Array.from({ length: 100 }, (_, i) => ({ t: T0 + i * 10_000 })),
    ...Array.from({ length: 30 }, (_, i) => ({ t: T0 + 2 * HOUR + i * MIN, hit: i % 3 !== 0 })),
  ];
  assert.deepEqual(run(ratio, diluted), [119], "20 events, 13 refused");
  const s = newState(ratio, T0);
  add(ratio, s, T0, 1, undefined, "x", true);
  assert.ok(expiresAt(ratio, s) > T0 + HOUR && expiresAt(ratio, s) <= T0 + HOUR + 10 * MIN);
});

const hours: BucketSpec = { kind: "hours", min: 5, warmup: 3, memoryMs: 10 * DAY };

test("hours: a burst at an unknown hour fires only after enough active days", () => {
  const day = (d: number): { t: number }[] =>
    Array.from({ length: 3 }, (_, k) => ({ t: T0 + d * DAY + (10 + k) * HOUR }));
  const night = (d: number, n: number): { t: number }[] =>
    Array.from({ length: n }, (_, k) => ({ t: T0 + d * DAY + 3 * HOUR + k * MIN }));
  assert.deepEqual(run(hours, [...day(0), ...day(1), ...night(2, 8)]), [], "two days of history");
  // Like a rate, it fires on every event past the volume; the engine silences the rest of the hour.
  assert.deepEqual(run(hours, [...day(0), ...day(1), ...day(2), ...night(3, 8)]), [13, 14, 15, 16]);
  assert.deepEqual(
    run(hours, [...day(0), ...day(1), ...day(2), ...night(3, 4)]),
    [],
    "under the volume",
  );
  // The same hour once learned (two nights of mail at 03:00) is known.
  assert.deepEqual(
    run(hours, [...night(0, 2), ...day(0), ...day(1), ...day(2), ...night(3, 8)]),
    [],
  );
});

test("hours: what was learned fades with the memory's half-life", () => {
  const nights = Array.from({ length: 3 }, (_, k) => ({ t: T0 + 3 * HOUR + k * MIN }));
  const days = Array.from({ length: 60 }, (_, d) => ({ t: T0 + (d + 1) * DAY + 12 * HOUR }));
  const burst = Array.from({ length: 6 }, (_, k) => ({ t: T0 + 61 * DAY + 3 * HOUR + k * MIN }));
  // Three messages at 03:00 sixty days (six half-lives) ago are forgotten.
  assert.deepEqual(run(hours, [...nights, ...days, ...burst]), [
    nights.length + days.length + 4,
    nights.length + days.length + 5,
  ]);
  const recent = days.map((e) => ({ t: e.t - 50 * DAY })).filter((e) => e.t > T0 + 3 * HOUR);
  const burst2 = burst.map((e) => ({ t: e.t - 50 * DAY }));
  assert.deepEqual(
    run(hours, [...nights, ...recent, ...burst2]),
    [],
    "eleven days on, still known",
  );
});
