import type { Counters, SyncCounters } from "../ports.ts";
import { hashMember, hllPositionOf, memberHash, SlidingSketch } from "./hll.ts";
import { KeyIndex, PAGE, PAGE_MASK, PAGE_SHIFT } from "./key-index.ts";
import { windowShape, type WindowShapeOptions } from "./window-shape.ts";

export interface MemoryCountersOptions extends WindowShapeOptions {
  /** Keys kept for `hit`, and separately for `distinct`; the least recently used go first. */
  readonly maxKeys: number;
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

/** Before any slot: a distinct key's fields before its first member, or with none. */
const NEVER = -(2 ** 30);

/**
 * A key's members while it has two or more, at most the exact bound: each member's 64-bit
 * hash (`memberHash`'s lanes) and latest slot, found by a scan (64 at most). The member itself
 * is not kept: two members count as one only if their 64-bit hashes are equal. One plain
 * array of numbers, three per member: V8 keeps them unboxed, and it is two heap objects where
 * typed arrays would be six, each slower to make.
 */
class Members {
  readonly #data: number[] = [];

  get size(): number {
    return this.#data.length / 3;
  }

  /** The member hashed `h1`, `h2` seen in `slot`: its latest slot is kept. */
  add(h1: number, h2: number, slot: number): void {
    const data = this.#data;
    for (let i = 0; i < data.length; i += 3) {
      if (data[i] === h1 && data[i + 1] === h2) {
        if (slot > data[i + 2]!) data[i + 2] = slot;
        return;
      }
    }
    data.push(h1, h2, slot);
  }

  /** Forgets the members last seen in `low` or before. */
  prune(low: number): void {
    const data = this.#data;
    let kept = 0;
    for (let i = 0; i < data.length; i += 3) {
      if (data[i + 2]! <= low) continue;
      data[kept++] = data[i]!;
      data[kept++] = data[i + 1]!;
      data[kept++] = data[i + 2]!;
    }
    data.length = kept;
  }

  /** Each member's register and rank with its latest slot. */
  forEach(f: (position: number, slot: number) => void): void {
    const data = this.#data;
    for (let i = 0; i < data.length; i += 3) f(hllPositionOf(data[i]!, data[i + 1]!), data[i + 2]!);
  }
}

/** Per distinct key, in pages: its latest slot, the slot it was last pruned for, … */
const HEAD = 0;
const PRUNED = 1;
/** …and while it has a single member, that member's latest slot (`NEVER`: none). */
const ONE_SLOT = 2;
const SLOTS = 3;
/** The single member's hash lanes. */
const ONE_H1 = 0;
const ONE_H2 = 1;
const HASHES = 2;

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
  /**
   * Per distinct key, in pages: `HEAD`, `PRUNED`, `ONE_SLOT`, and the lone member's hash. Most
   * keys of a flood never see a second member (one address per name), so they hold no object
   * at all; the exact set of several (`Members`) or the estimate comes with the second.
   */
  readonly #dSlots: Float64Array[] = [];
  readonly #dHashes: Int32Array[] = [];
  /** The keys with two members or more, or an estimate: few of them (an id → its members). */
  readonly #many = new Map<number, Members | SlidingSketch>();
  /** Ids holding a sketch, oldest conversion first. */
  readonly #sketches = new Set<number>();
  readonly sync: SyncCounters = {
    hit: (keys, now) => this.hitSync(keys, now),
    distinct: (keys, member, now) => this.distinctSync(keys, member, now),
    count: (keys, now) => this.countSync(keys, now),
  };

  constructor(options: MemoryCountersOptions) {
    const { slots, maxKeys } = options;
    const shape = windowShape(options);
    if (!Number.isInteger(maxKeys) || maxKeys < 1)
      throw new RangeError("maxKeys must be a positive integer");
    this.#slots = slots;
    this.#slotMs = shape.slotMs;
    this.#bound = shape.exactBound;
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
      (ids) => {
        while (this.#dSlots.length * PAGE < ids) {
          this.#dSlots.push(new Float64Array(PAGE * SLOTS));
          this.#dHashes.push(new Int32Array(PAGE * HASHES));
        }
      },
      (id) => {
        // The id's next key starts with no member (`distinctOne` resets its slots).
        this.#many.delete(id);
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
    hashMember(member);
    return this.#distinctHashed(key, memberHash[0]!, memberHash[1]!, now);
  }

  /** `distinctOne` of the member whose hash lanes are `h1`, `h2`. */
  #distinctHashed(key: string, h1: number, h2: number, now: number): number {
    const slots = this.#slots;
    const slot = Math.floor(now / this.#slotMs);
    this.#distinct.sweep(slot - 2 * slots, SWEEP);
    const id = this.#distinct.touch(key, slot);
    const d = this.#dSlots[id >>> PAGE_SHIFT]!;
    const at = (id & PAGE_MASK) * SLOTS;
    if (this.#distinct.fresh) {
      d[at + HEAD] = NEVER;
      d[at + PRUNED] = NEVER;
      d[at + ONE_SLOT] = NEVER;
    }
    let many = this.#many.get(id);
    const head = d[at + HEAD]!;
    if (slot > head) {
      // Idle for a whole window: nothing of the sketch is left, so count exactly again.
      if (many instanceof SlidingSketch && slot - head >= slots) {
        this.#many.delete(id);
        this.#sketches.delete(id);
        many = undefined;
      }
      d[at + HEAD] = slot;
    } else if (slot <= head - slots) {
      // Later than the window ending at the latest member: too old to count.
      return many instanceof SlidingSketch ? many.estimate() : this.#size(id);
    }
    if (many instanceof SlidingSketch) return many.add(hllPositionOf(h1, h2), slot);
    const latest = d[at + HEAD]!;
    if (latest > d[at + PRUNED]!) {
      const low = latest - slots;
      if (many !== undefined) {
        many.prune(low);
        if (many.size === 0) {
          this.#many.delete(id);
          many = undefined;
        }
      } else if (d[at + ONE_SLOT]! <= low) d[at + ONE_SLOT] = NEVER;
      d[at + PRUNED] = latest;
    }
    if (many !== undefined) many.add(h1, h2, slot);
    else {
      const hashes = this.#dHashes[id >>> PAGE_SHIFT]!;
      const hi = (id & PAGE_MASK) * HASHES;
      const one = d[at + ONE_SLOT]!;
      if (one === NEVER) {
        hashes[hi + ONE_H1] = h1;
        hashes[hi + ONE_H2] = h2;
        d[at + ONE_SLOT] = slot;
      } else if (hashes[hi + ONE_H1] === h1 && hashes[hi + ONE_H2] === h2) {
        if (slot > one) d[at + ONE_SLOT] = slot;
      } else {
        many = new Members();
        this.#many.set(id, many);
        many.add(hashes[hi + ONE_H1]!, hashes[hi + ONE_H2]!, one);
        many.add(h1, h2, slot);
        d[at + ONE_SLOT] = NEVER;
      }
    }
    // A lone member never passes the bound (at least 1): only a set of several does.
    if (many === undefined) return 1;
    if (many.size <= this.#bound) return many.size;
    return this.#toSketch(id, many);
  }

  /** `distinct` without the promise; writes into `out` when given (no allocation). */
  distinctSync(keys: readonly string[], member: string, now: number, out: number[] = []): number[] {
    out.length = keys.length;
    // The member is hashed once for all the keys.
    hashMember(member);
    const h1 = memberHash[0]!;
    const h2 = memberHash[1]!;
    for (let i = 0; i < keys.length; i++) out[i] = this.#distinctHashed(keys[i]!, h1, h2, now);
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

  /** The exact count of a key that holds no sketch. */
  #size(id: number): number {
    const many = this.#many.get(id);
    if (many instanceof Members) return many.size;
    const one = this.#dSlots[id >>> PAGE_SHIFT]![(id & PAGE_MASK) * SLOTS + ONE_SLOT]!;
    return one === NEVER ? 0 : 1;
  }

  /** Turns the key's exact members into an estimate, past the bound. */
  #toSketch(id: number, members: Members): number {
    if (this.#sketches.size >= this.#maxSketches) {
      const oldest = this.#sketches.values().next();
      if (oldest.done !== true) this.#distinct.remove(oldest.value);
    }
    const sketch = new SlidingSketch(this.#slots);
    let estimate = 0;
    members.forEach((position, slot) => {
      estimate = sketch.add(position, slot);
    });
    this.#many.set(id, sketch);
    this.#sketches.add(id);
    return estimate;
  }
}
