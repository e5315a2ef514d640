import type { Counters, SyncCounters } from "../ports.ts";
import { hllPosition, SlidingSketch } from "./hll.ts";
import { KeyIndex, PAGE, PAGE_MASK, PAGE_SHIFT } from "./key-index.ts";

export interface MemoryCountersOptions {
  /** The window, ms. It is cut into `slots` slots; counts are exact to one slot. */
  readonly windowMs: number;
  /** 1 … 1,000; 10 to 60 is the useful range. */
  readonly slots: number;
  /** Keys kept for `hit`, and separately for `distinct`; the least recently used go first. */
  readonly maxKeys: number;
  /** Members counted exactly per key before the estimate takes over (default 64). */
  readonly exactBound?: number;
  /**
   * Keys whose distinct count is an estimate, at most (default 1,024); each holds at most
   * (slots + 1) × 4 KiB. Past it, the key that turned into an estimate longest ago is dropped.
   */
  readonly maxSketches?: number;
}

export interface MemoryCountersStats {
  readonly keys: number;
  readonly distinctKeys: number;
  readonly sketches: number;
  /** Live keys dropped because `maxKeys` was reached (their counts restart from zero). */
  readonly evictions: number;
  readonly expirations: number;
}

/**
 * Before any slot. A small integer (V8's, under 2³⁰), not -Infinity: a field that ever holds
 * -Infinity holds a boxed number in every entry, two more heap objects per distinct key for the
 * collector to mark. The slots of the guard's windows (30 s and 72 min by default) are small
 * integers too; slots shorter than 2 s are not (they pass 2³⁰ before 2038), and cost what
 * -Infinity did.
 */
const NEVER = -(2 ** 30);

/**
 * A key's distinct members: exact (member → latest slot) until the bound, then a sketch. Most
 * keys of a flood never see a second member (one address per name), so the first is held in
 * two fields; the map comes with the second, and goes when pruning empties it.
 */
class DistinctEntry {
  head = NEVER;
  pruned = NEVER;
  /** The only member, while `members` is undefined; `undefined` when there is none. */
  one: string | undefined = undefined;
  oneSlot = 0;
  members: Map<string, number> | undefined = undefined;
  sketch: SlidingSketch | undefined = undefined;

  get size(): number {
    return this.members?.size ?? (this.one === undefined ? 0 : 1);
  }

  /** `member` seen in `slot`: its latest slot is kept. */
  add(member: string, slot: number): void {
    const members = this.members;
    if (members !== undefined) {
      const seen = members.get(member);
      if (seen === undefined || slot > seen) members.set(member, slot);
    } else if (this.one === undefined) {
      this.one = member;
      this.oneSlot = slot;
    } else if (this.one === member) {
      if (slot > this.oneSlot) this.oneSlot = slot;
    } else {
      this.members = new Map([
        [this.one, this.oneSlot],
        [member, slot],
      ]);
      this.one = undefined;
    }
  }

  /** Forgets the members last seen in `low` or before. */
  prune(low: number): void {
    const members = this.members;
    if (members === undefined) {
      if (this.one !== undefined && this.oneSlot <= low) this.one = undefined;
      return;
    }
    members.forEach((s, m) => {
      if (s <= low) members.delete(m);
    });
    if (members.size === 0) this.members = undefined;
  }

  forEach(f: (slot: number, member: string) => void): void {
    if (this.members !== undefined) this.members.forEach(f);
    else if (this.one !== undefined) f(this.oneSlot, this.one);
  }
}

/**
 * Keys swept from the tail per call: more than one, so sweeping outpaces creation. A key goes
 * once idle for two windows, so a hit that arrives up to a window late still finds its key.
 */
const SWEEP = 2;

/**
 * Sliding-window counters in process memory, the default backend. Each key holds one counter
 * per slot in pages of typed arrays, plus the running total, so a hit costs one map look-up
 * and O(1) arithmetic (O(slots) at most when a key comes back after a long pause). Time is
 * the `now` passed in, never the wall clock: a replay counts exactly as live did.
 *
 * The synchronous `hitSync`/`distinctSync` are the same operations without the promise, for
 * callers on the hot path that know they hold the memory backend.
 */
export class MemoryCounters implements Counters {
  readonly #slots: number;
  readonly #slotMs: number;
  readonly #bound: number;
  readonly #maxSketches: number;
  readonly #counts: KeyIndex;
  /**
   * Per key, in pages of PAGE keys as the index adds them: its count per slot… The counts
   * (slots × 4 bytes a key: 80 MB at a million keys of 20 slots) grow a page at a time and are
   * never copied: a copy at each doubling of the index stalled every request behind it, for
   * 277 ms at the last one (bench/RESULTS.md, "Counters: growth without copies"), exactly
   * when a flood of new addresses arrives.
   */
  readonly #cells: Uint32Array[] = [];
  /** …the latest slot it was hit in, and its count over the window ending there. */
  readonly #heads: Float64Array[] = [];
  readonly #totals: Uint32Array[] = [];
  readonly #distinct: KeyIndex;
  readonly #entries: (DistinctEntry | undefined)[] = [];
  /** Ids holding a sketch, oldest conversion first. */
  readonly #sketches = new Set<number>();
  readonly sync: SyncCounters = {
    hit: (keys, now) => this.hitSync(keys, now),
    distinct: (keys, member, now) => this.distinctSync(keys, member, now),
    count: (keys, now) => this.countSync(keys, now),
  };

  constructor(options: MemoryCountersOptions) {
    const { windowMs, slots, maxKeys } = options;
    if (!(windowMs > 0) || !Number.isInteger(slots) || slots < 1 || slots > 1000)
      throw new RangeError("windowMs must be > 0 and slots an integer in 1 … 1000");
    if (!Number.isInteger(maxKeys) || maxKeys < 1)
      throw new RangeError("maxKeys must be a positive integer");
    this.#slots = slots;
    this.#slotMs = windowMs / slots;
    this.#bound = options.exactBound ?? 64;
    this.#maxSketches = options.maxSketches ?? 1024;
    this.#counts = new KeyIndex(maxKeys, (ids) => {
      while (this.#cells.length * PAGE < ids) {
        this.#cells.push(new Uint32Array(PAGE * slots));
        this.#heads.push(new Float64Array(PAGE));
        this.#totals.push(new Uint32Array(PAGE));
      }
    });
    this.#distinct = new KeyIndex(
      maxKeys,
      () => undefined,
      (id) => {
        // The id's next key starts from a fresh entry, made on its first member.
        this.#entries[id] = undefined;
        this.#sketches.delete(id);
      },
    );
  }

  /** One key's hit; answers its count over the window, this hit included. */
  hitOne(key: string, now: number): number {
    const slots = this.#slots;
    const slot = Math.floor(now / this.#slotMs);
    this.#counts.sweep(slot - 2 * slots, SWEEP);
    const id = this.#counts.touch(key, slot);
    const page = id >>> PAGE_SHIFT;
    const at = id & PAGE_MASK;
    const cells = this.#cells[page]!;
    const heads = this.#heads[page]!;
    const totals = this.#totals[page]!;
    const base = at * slots;
    if (this.#counts.fresh) {
      cells.fill(0, base, base + slots);
      heads[at] = slot;
      totals[at] = 0;
    } else {
      const head = heads[at]!;
      if (slot > head) {
        if (slot - head >= slots) {
          cells.fill(0, base, base + slots);
          totals[at] = 0;
        } else {
          let total = totals[at]!;
          for (let s = head + 1; s <= slot; s++) {
            const c = base + (s % slots);
            total -= cells[c]!;
            cells[c] = 0;
          }
          totals[at] = total;
        }
        heads[at] = slot;
      } else if (slot <= head - slots) {
        // Later than the window ending at the latest hit: too old to count.
        return totals[at]!;
      }
    }
    cells[base + (slot % slots)]!++;
    return ++totals[at]!;
  }

  /** One key's count over the window, adding nothing. */
  countOne(key: string, now: number): number {
    const id = this.#counts.peek(key);
    if (id === undefined) return 0;
    const slots = this.#slots;
    const slot = Math.floor(now / this.#slotMs);
    const page = id >>> PAGE_SHIFT;
    const at = id & PAGE_MASK;
    const head = this.#heads[page]![at]!;
    const total = this.#totals[page]![at]!;
    if (slot <= head) return total;
    if (slot - head >= slots) return 0;
    // The window ends later than the latest hit: leave out the slots it has moved past.
    const cells = this.#cells[page]!;
    const base = at * slots;
    let left = total;
    for (let s = head - slots + 1; s <= slot - slots; s++) left -= cells[base + (s % slots)]!;
    return left;
  }

  /** `count` without the promise; writes into `out` when given (no allocation). */
  countSync(keys: readonly string[], now: number, out: number[] = []): number[] {
    out.length = keys.length;
    for (let i = 0; i < keys.length; i++) out[i] = this.countOne(keys[i]!, now);
    return out;
  }

  count(keys: readonly string[], now: number): Promise<readonly number[]> {
    return Promise.resolve(this.countSync(keys, now));
  }

  /** `hit` without the promise; writes into `out` when given (no allocation). */
  hitSync(keys: readonly string[], now: number, out: number[] = []): number[] {
    out.length = keys.length;
    for (let i = 0; i < keys.length; i++) out[i] = this.hitOne(keys[i]!, now);
    return out;
  }

  hit(keys: readonly string[], now: number): Promise<readonly number[]> {
    return Promise.resolve(this.hitSync(keys, now));
  }

  /** One key's distinct count over the window, `member` included. */
  distinctOne(key: string, member: string, now: number): number {
    const slots = this.#slots;
    const slot = Math.floor(now / this.#slotMs);
    this.#distinct.sweep(slot - 2 * slots, SWEEP);
    const id = this.#distinct.touch(key, slot);
    let e = this.#entries[id];
    if (e === undefined) this.#entries[id] = e = new DistinctEntry();
    if (slot > e.head) {
      // Idle for a whole window: nothing of the sketch is left, so count exactly again.
      if (e.sketch !== undefined && slot - e.head >= slots) {
        e.sketch = undefined;
        this.#sketches.delete(id);
      }
      e.head = slot;
    } else if (slot <= e.head - slots) {
      return e.sketch?.estimate() ?? e.size;
    }
    if (e.sketch !== undefined) return e.sketch.add(hllPosition(member), slot);
    if (e.head > e.pruned) {
      e.prune(e.head - slots);
      e.pruned = e.head;
    }
    e.add(member, slot);
    const size = e.size;
    if (size <= this.#bound) return size;
    return this.#toSketch(id, e);
  }

  /** `distinct` without the promise; writes into `out` when given (no allocation). */
  distinctSync(keys: readonly string[], member: string, now: number, out: number[] = []): number[] {
    out.length = keys.length;
    for (let i = 0; i < keys.length; i++) out[i] = this.distinctOne(keys[i]!, member, now);
    return out;
  }

  distinct(keys: readonly string[], member: string, now: number): Promise<readonly number[]> {
    return Promise.resolve(this.distinctSync(keys, member, now));
  }

  /** Nothing to connect: here so the daemon drives both backends alike. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  stats(): MemoryCountersStats {
    return {
      keys: this.#counts.size,
      distinctKeys: this.#distinct.size,
      sketches: this.#sketches.size,
      evictions: this.#counts.evictions + this.#distinct.evictions,
      expirations: this.#counts.expirations + this.#distinct.expirations,
    };
  }

  #toSketch(id: number, e: DistinctEntry): number {
    if (this.#sketches.size >= this.#maxSketches) {
      const oldest = this.#sketches.values().next();
      if (oldest.done !== true) this.#distinct.remove(oldest.value);
    }
    const sketch = new SlidingSketch(this.#slots);
    let estimate = 0;
    e.forEach((s, m) => {
      estimate = sketch.add(hllPosition(m), s);
    });
    e.one = undefined;
    e.members = undefined;
    e.sketch = sketch;
    this.#sketches.add(id);
    return estimate;
  }
}
