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
export type BucketState = LeakyState | WindowState | DistinctState | RateState;

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
    };

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
 * Counts one event (of weight `w`, with the distinct value `v` for distinct buckets).
 * Returns an Overflow when the key crosses its threshold; the state is then reset.
 */
export function add(
  spec: BucketSpec,
  s: BucketState,
  t: number,
  w: number,
  v: string | undefined,
  id: string,
): Overflow | undefined {
  s.n++;
  const o = count(spec, s, t, w, v);
  if (o !== undefined || load(spec, s) >= 0.5) remember(s, id, t);
  return o;
}

function count(
  spec: BucketSpec,
  s: BucketState,
  t: number,
  w: number,
  v: string | undefined,
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
  }
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
  }
}
