import { formatDuration } from "../core/index.ts";

/**
 * Per-key counting state for each scenario kind. Every state knows when it becomes worthless
 * (`expiresAt`) so the engine can collect it: memory is bounded by the live attackers, not by
 * every key ever seen (CrowdSec's replay keeps every bucket and grows to gigabytes).
 *
 * States are plain JSON-able objects so that slow scenarios survive a restart.
 */

/** How many event ids a state keeps as evidence for its alert. */
export const EVIDENCE = 5;

interface Base {
  /** Events counted since the state was created. */
  n: number;
  /** Until when the key is silenced after firing. */
  bh: number;
  /**
   * Evidence ring: the last event ids and times, kept only once the key is half way to its
   * threshold (the events that make it fire), so the many keys of a botnet that appear once or
   * twice cost no evidence at all.
   */
  ev: string[];
  et: number[];
}

export interface LeakyState extends Base {
  k: "leaky";
  level: number;
  last: number;
}
export interface WindowState extends Base {
  k: "window";
  /** Ring of the last `threshold` event times, and its write index. */
  ts: number[];
  i: number;
}
export interface DistinctState extends Base {
  k: "distinct";
  /** Distinct value → last time seen. */
  seen: Record<string, number>;
  size: number;
  last: number;
}
export interface RateState extends Base {
  k: "rate";
  start: number;
  cur: number;
  base: number;
  /** Whole intervals of history behind `base`. */
  hist: number;
  /**
   * The busiest stretch seen, fading with time: a newsletter's usual burst is normal for it.
   * Counted over two adjacent intervals, so a burst that straddles an interval's boundary
   * counts whole, not as two halves that each look small.
   */
  peak?: number;
  /** The count of the interval just before the current one (0 when it was empty). */
  prev?: number;
}
export interface RatioState extends Base {
  k: "ratio";
  /** Start of the newest slice (a sixth of the window), and its index in the rings. */
  start: number;
  i: number;
  /** Per slice: events counted, and those of them that matched the numerator. */
  tot: number[];
  hit: number[];
}
export interface HoursState extends Base {
  k: "hours";
  /** Start of the current clock hour, and the events counted in it so far. */
  start: number;
  cur: number;
  /** Per hour of day (UTC): events of the past hours, fading with a half-life of `memory`. */
  h: number[];
  /** When `h` was last faded. */
  faded: number;
  /** Days (UTC) with at least one event, and the last of them (days since 1970). */
  days: number;
  day: number;
}
export type BucketState =
  LeakyState | WindowState | DistinctState | RateState | RatioState | HoursState;

export type BucketSpec =
  | { readonly kind: "leaky"; readonly capacity: number; readonly leakMs: number }
  | { readonly kind: "window"; readonly threshold: number; readonly windowMs: number }
  | { readonly kind: "distinct"; readonly threshold: number; readonly windowMs: number }
  | {
      readonly kind: "rate";
      readonly intervalMs: number;
      readonly factor: number;
      readonly min: number;
      readonly warmup: number;
      /** Fire on a key with less than `warmup` intervals of history once it reaches this. */
      readonly newKeyCap: number | undefined;
      readonly alpha: number;
      /** When set, fire only above this multiple of the key's own (fading) peak interval. */
      readonly peakFactor: number | undefined;
      /** How long a key's history is kept after its last event; also the peak's half-life. */
      readonly memoryMs: number;
    }
  | {
      readonly kind: "ratio";
      /** Fire when `numerator` events are at least this share of all events (0..1]… */
      readonly ratio: number;
      /** …and at least `min` events were counted within the window. */
      readonly min: number;
      readonly windowMs: number;
    }
  | {
      readonly kind: "hours";
      /** Events within one clock hour, at an hour of day the key is not known at, to fire. */
      readonly min: number;
      /** Days with activity the key needs before its hours are trusted. */
      readonly warmup: number;
      /** Half-life of the learned hours; also how long they are kept after the last event. */
      readonly memoryMs: number;
    };

/** Slices of a ratio's window: its window slides by a sixth. */
const RATIO_SLICES = 6;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/**
 * An hour of day is known when the key's faded count at it and at the hours either side is at
 * least this: one message long ago (faded below 1) or one lone message does not teach an hour,
 * two do; the neighbours absorb a change of daylight saving time and a user who is a little late.
 */
const KNOWN_HOUR = 1;

const base = (): Base => ({ n: 0, bh: 0, ev: [], et: [] });

export function newState(spec: BucketSpec, t: number): BucketState {
  switch (spec.kind) {
    case "leaky":
      return { k: "leaky", level: 0, last: t, ...base() };
    case "window":
      return { k: "window", ts: [], i: 0, ...base() };
    case "distinct":
      return { k: "distinct", seen: {}, size: 0, last: t, ...base() };
    case "rate":
      return { k: "rate", start: t - (t % spec.intervalMs), cur: 0, base: 0, hist: 0, ...base() };
    case "ratio": {
      const sliceMs = spec.windowMs / RATIO_SLICES;
      const zeros = (): number[] => Array.from({ length: RATIO_SLICES }, () => 0);
      return { k: "ratio", start: t - (t % sliceMs), i: 0, tot: zeros(), hit: zeros(), ...base() };
    }
    case "hours":
      return {
        k: "hours",
        start: t - (t % HOUR),
        cur: 0,
        h: Array.from({ length: 24 }, () => 0),
        faded: t,
        days: 0,
        day: -1,
        ...base(),
      };
  }
}

function remember(s: Base, id: string, t: number): void {
  s.ev.push(id);
  s.et.push(t);
  if (s.ev.length > EVIDENCE) {
    s.ev.shift();
    s.et.shift();
  }
}

/** What an `add` that fired reports. */
export interface Overflow {
  readonly count: number;
  readonly detail: string;
}

/**
 * Counts one event (of weight `w`, with the distinct value `v` for distinct buckets; `hit`
 * tells a ratio bucket the event matched its numerator).
 * Returns an Overflow when the key crosses its threshold; the state is then reset (a rate or
 * hours state keeps its history).
 */
export function add(
  spec: BucketSpec,
  s: BucketState,
  t: number,
  w: number,
  v: string | undefined,
  id: string,
  hit = false,
): Overflow | undefined {
  s.n++;
  const o = count(spec, s, t, w, v, hit);
  if (o !== undefined || load(spec, s) >= 0.5) remember(s, id, t);
  return o;
}

function count(
  spec: BucketSpec,
  s: BucketState,
  t: number,
  w: number,
  v: string | undefined,
  hit: boolean,
): Overflow | undefined {
  switch (s.k) {
    case "leaky": {
      const sp = spec as Extract<BucketSpec, { kind: "leaky" }>;
      const leaked = (t - s.last) / sp.leakMs;
      s.level = Math.max(0, s.level - (leaked > 0 ? leaked : 0)) + w;
      if (t > s.last) s.last = t;
      if (s.level > sp.capacity) {
        const count = s.n;
        s.level = 0;
        s.n = 0;
        return {
          count,
          detail: `more than ${sp.capacity} events, leaking one per ${formatDuration(sp.leakMs)}`,
        };
      }
      return undefined;
    }
    case "window": {
      const sp = spec as Extract<BucketSpec, { kind: "window" }>;
      for (let k = 0; k < w; k++) {
        if (s.ts.length < sp.threshold) s.ts.push(t);
        else s.ts[s.i] = t;
        s.i = (s.i + 1) % sp.threshold;
      }
      if (s.ts.length >= sp.threshold) {
        const oldest = s.ts[s.i % s.ts.length]!;
        if (t - oldest <= sp.windowMs) {
          s.ts = [];
          s.i = 0;
          s.n = 0;
          return {
            count: sp.threshold,
            detail: `${sp.threshold} events within ${formatDuration(sp.windowMs)}`,
          };
        }
      }
      return undefined;
    }
    case "distinct": {
      const sp = spec as Extract<BucketSpec, { kind: "distinct" }>;
      if (t > s.last) s.last = t;
      if (v === undefined) return undefined;
      // Values come from attackers: prefix them so "__proto__" is just another key.
      const key = `=${v}`;
      if (!Object.hasOwn(s.seen, key)) {
        if (s.size + 1 >= sp.threshold) {
          // Only prune when it could matter: the map never holds more than `threshold` values.
          const kept: Record<string, number> = {};
          let size = 0;
          for (const [val, when] of Object.entries(s.seen)) {
            if (t - when <= sp.windowMs) {
              kept[val] = when;
              size++;
            }
          }
          s.seen = kept;
          s.size = size;
        }
        s.size++;
      }
      s.seen[key] = t;
      if (s.size >= sp.threshold) {
        const values = Object.keys(s.seen).map((k) => k.slice(1));
        s.seen = {};
        s.size = 0;
        s.n = 0;
        const shown = values.slice(0, 8).join(", ") + (values.length > 8 ? ", …" : "");
        return {
          count: values.length,
          detail: `${values.length} distinct values within ${formatDuration(sp.windowMs)}: ${shown}`,
        };
      }
      return undefined;
    }
    case "rate": {
      const sp = spec as Extract<BucketSpec, { kind: "rate" }>;
      if (t >= s.start + sp.intervalMs) {
        // Close the current interval and any empty ones since (bounded: a long silence decays
        // the baseline at most `cap` steps, after which it is as good as forgotten anyway).
        const steps = Math.floor((t - s.start) / sp.intervalMs);
        const cap = Math.min(steps, 500);
        const fade = 0.5 ** ((steps * sp.intervalMs) / sp.memoryMs);
        s.peak = Math.max((s.peak ?? 0) * fade, (s.prev ?? 0) + s.cur);
        s.prev = steps === 1 ? s.cur : 0;
        for (let k = 0; k < cap; k++) {
          const c = k === 0 ? s.cur : 0;
          s.base = s.hist === 0 ? c : s.base * (1 - sp.alpha) + c * sp.alpha;
          s.hist++;
        }
        s.start += steps * sp.intervalMs;
        s.cur = 0;
      }
      s.cur += w;
      const learned = s.hist >= sp.warmup;
      const peak = s.peak ?? 0;
      const fire = learned
        ? s.cur >= sp.min &&
          s.cur > sp.factor * s.base &&
          (sp.peakFactor === undefined || s.cur > sp.peakFactor * peak)
        : sp.newKeyCap !== undefined && s.cur >= sp.newKeyCap;
      if (fire) {
        const count = s.cur;
        const usual = `a usual ${s.base.toFixed(1)}${sp.peakFactor === undefined ? "" : ` and a busiest ${peak.toFixed(0)}`}`;
        const detail = learned
          ? `${count} events this ${formatDuration(sp.intervalMs)} against ${usual}`
          : `${count} events this ${formatDuration(sp.intervalMs)} from a key with little history`;
        return { count, detail };
      }
      return undefined;
    }
    case "ratio": {
      const sp = spec as Extract<BucketSpec, { kind: "ratio" }>;
      const sliceMs = sp.windowMs / RATIO_SLICES;
      if (t >= s.start + sliceMs) {
        const steps = Math.floor((t - s.start) / sliceMs);
        for (let k = 0; k < Math.min(steps, RATIO_SLICES); k++) {
          s.i = (s.i + 1) % RATIO_SLICES;
          s.tot[s.i] = 0;
          s.hit[s.i] = 0;
        }
        s.start += steps * sliceMs;
      }
      s.tot[s.i]! += w;
      if (hit) s.hit[s.i]! += w;
      let tot = 0;
      let hits = 0;
      for (let k = 0; k < RATIO_SLICES; k++) {
        tot += s.tot[k]!;
        hits += s.hit[k]!;
      }
      if (tot < sp.min || hits < sp.ratio * tot) return undefined;
      s.tot.fill(0);
      s.hit.fill(0);
      s.n = 0;
      return {
        count: hits,
        detail: `${hits} of ${tot} events (${Math.round((100 * hits) / tot)}%) within ${formatDuration(sp.windowMs)}`,
      };
    }
    case "hours": {
      const sp = spec as Extract<BucketSpec, { kind: "hours" }>;
      if (t >= s.start + HOUR) {
        // Fold the hour that ended into what the key is known for, after fading the past.
        const fade = 0.5 ** (Math.max(0, t - s.faded) / sp.memoryMs);
        for (let k = 0; k < 24; k++) s.h[k]! *= fade;
        s.h[hourOf(s.start)]! += s.cur;
        s.faded = t;
        s.start = t - (t % HOUR);
        s.cur = 0;
      }
      const day = Math.floor(t / DAY);
      if (day !== s.day) {
        s.day = day;
        s.days++;
      }
      s.cur += w;
      // The days count the current one: history is the days before it.
      if (s.days - 1 < sp.warmup || s.cur < sp.min) return undefined;
      const hr = hourOf(t);
      const known = s.h[(hr + 23) % 24]! + s.h[hr]! + s.h[(hr + 1) % 24]!;
      if (known >= KNOWN_HOUR) return undefined;
      return {
        count: s.cur,
        detail: `${s.cur} events within the hour from ${String(hr).padStart(2, "0")}:00 UTC, an hour of day not seen in ${s.days - 1} days of history`,
      };
    }
  }
}

const hourOf = (t: number): number => Math.floor((t % DAY) / HOUR);

/**
 * For kinds that learn from every event (rate, hours), when a key that fired may fire again:
 * the end of its interval, for it keeps counting meanwhile. Undefined for the other kinds,
 * which ignore events while silenced.
 */
export function learnsUntil(spec: BucketSpec, s: BucketState): number | undefined {
  if (s.k === "rate") return s.start + (spec as Extract<BucketSpec, { kind: "rate" }>).intervalMs;
  if (s.k === "hours") return s.start + HOUR;
  return undefined;
}

/** When the state carries no more information (all counted events have decayed). */
export function expiresAt(spec: BucketSpec, s: BucketState): number {
  switch (s.k) {
    case "leaky": {
      const sp = spec as Extract<BucketSpec, { kind: "leaky" }>;
      return Math.max(s.bh, s.last + s.level * sp.leakMs);
    }
    case "window": {
      const sp = spec as Extract<BucketSpec, { kind: "window" }>;
      let newest = 0;
      for (const x of s.ts) if (x > newest) newest = x;
      return Math.max(s.bh, newest + sp.windowMs);
    }
    case "distinct": {
      const sp = spec as Extract<BucketSpec, { kind: "distinct" }>;
      return Math.max(s.bh, s.last + sp.windowMs);
    }
    case "rate": {
      // A learned baseline is the point of the state: keep it for the configured memory.
      const sp = spec as Extract<BucketSpec, { kind: "rate" }>;
      return Math.max(s.bh, s.start + sp.intervalMs + sp.memoryMs);
    }
    case "ratio": {
      const sp = spec as Extract<BucketSpec, { kind: "ratio" }>;
      return Math.max(s.bh, s.start + sp.windowMs / RATIO_SLICES + sp.windowMs);
    }
    case "hours": {
      const sp = spec as Extract<BucketSpec, { kind: "hours" }>;
      return Math.max(s.bh, s.start + HOUR + sp.memoryMs);
    }
  }
}

/** How loaded a state is (0..1), to evict the least loaded first when memory is capped. */
export function load(spec: BucketSpec, s: BucketState): number {
  switch (s.k) {
    case "leaky":
      return s.level / (spec as Extract<BucketSpec, { kind: "leaky" }>).capacity;
    case "window":
      return s.ts.length / (spec as Extract<BucketSpec, { kind: "window" }>).threshold;
    case "distinct":
      return s.size / (spec as Extract<BucketSpec, { kind: "distinct" }>).threshold;
    case "rate":
      return s.hist > 0 ? 1 : 0;
    case "ratio": {
      let tot = 0;
      for (const x of s.tot) tot += x;
      return Math.min(1, tot / (spec as Extract<BucketSpec, { kind: "ratio" }>).min);
    }
    case "hours":
      return s.days > 1 ? 1 : 0;
  }
}
