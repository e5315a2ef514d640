/**
 * What the surge detector remembers of each address, by a dense id: when it was first seen,
 * its footprint over its activity window, its AS once looked up. Held in typed arrays, in
 * pages of ids, beside a `KeyIndex` of the addresses themselves: a flood of 100,000 new
 * addresses adds no object for the collector to mark, where an object per address (with its
 * times boxed and its network as a string) made five to seven (bench/RESULTS.md, "Guard:
 * surge detection, addresses outside the heap").
 *
 * The least recently seen address makes room when `max` are held, and addresses not seen for
 * `knownMs` are forgotten a few at a time as others come. Either way its id is soon another
 * address's: each id carries a generation, bumped when its address goes, which the detector
 * keeps beside whatever it holds by id (`hitsOf`), so a new address never inherits an old
 * one's hits.
 */
import { KeyIndex, PAGE, PAGE_MASK, PAGE_SHIFT } from "../limits/key-index.ts";

/** Per id, times (Float64): first seen, the start of its activity window, flagged until. */
const FIRST = 0;
const WIN = 1;
const FLAGGED = 2;
const TIMES = 3;
/**
 * Per id, counts (Int32): pages and assets in its window, hits on targets under attack in
 * it, its AS (`NO_AS`, or `UNKNOWN_AS` before the look-up), its generation.
 */
const PAGES = 0;
const ASSETS = 1;
const SURGE = 2;
const ASN = 3;
const GEN = 4;
const COUNTS = 5;

export const NO_AS = -1;
const UNKNOWN_AS = -2;

/**
 * Generations an id goes through before one comes back. A target's hits of an id from a
 * generation ago are ignored; from exactly `GENERATIONS` ago they would count again, which
 * takes that many new addresses through one id within two intervals: 100,000 addresses held
 * and a minute's interval make that 850,000 new addresses a second.
 */
export const GENERATIONS = 1024;

/** Expired addresses forgotten per `touch`, at most. */
const SWEEP = 2;

export class SurgeAddresses {
  readonly #ids: KeyIndex;
  readonly #times: Float64Array[] = [];
  readonly #counts: Int32Array[] = [];
  readonly #windowMs: number;
  readonly #knownMs: number;

  /** `windowMs`: the activity window the counts cover; `knownMs`: how long one is remembered. */
  constructor(max: number, windowMs: number, knownMs: number) {
    this.#windowMs = windowMs;
    this.#knownMs = knownMs;
    this.#ids = new KeyIndex(
      max,
      (ids) => {
        while (this.#times.length * PAGE < ids) {
          this.#times.push(new Float64Array(PAGE * TIMES));
          this.#counts.push(new Int32Array(PAGE * COUNTS));
        }
      },
      (id) => {
        const c = this.#counts[id >>> PAGE_SHIFT]!;
        const at = (id & PAGE_MASK) * COUNTS + GEN;
        c[at] = (c[at]! + 1) % GENERATIONS;
      },
    );
  }

  get size(): number {
    return this.#ids.size;
  }

  /**
   * The id of `ip`, seen at `t`. A new address is first seen now; a known one's counts start
   * over when its window has run out.
   */
  touch(ip: string, t: number): number {
    const ids = this.#ids;
    ids.sweep(t - this.#knownMs, SWEEP);
    const id = ids.touch(ip, t);
    const times = this.#times[id >>> PAGE_SHIFT]!;
    const counts = this.#counts[id >>> PAGE_SHIFT]!;
    const ti = (id & PAGE_MASK) * TIMES;
    const ci = (id & PAGE_MASK) * COUNTS;
    if (ids.fresh) {
      times[ti + FIRST] = t;
      times[ti + FLAGGED] = 0;
      counts[ci + ASN] = UNKNOWN_AS;
    } else if (!(t - times[ti + WIN]! > this.#windowMs)) return id;
    times[ti + WIN] = t;
    counts[ci + PAGES] = 0;
    counts[ci + ASSETS] = 0;
    counts[ci + SURGE] = 0;
    return id;
  }

  /** Forgets every address last seen at or before `horizon` (a walk of them all). */
  sweep(horizon: number): void {
    this.#ids.sweepAll(horizon);
  }

  /** The address `id` holds, as a string made anew. */
  ip(id: number): string {
    return this.#ids.keyOf(id);
  }

  generation(id: number): number {
    return this.#count(id, GEN);
  }

  first(id: number): number {
    return this.#times[id >>> PAGE_SHIFT]![(id & PAGE_MASK) * TIMES + FIRST]!;
  }

  flaggedUntil(id: number): number {
    return this.#times[id >>> PAGE_SHIFT]![(id & PAGE_MASK) * TIMES + FLAGGED]!;
  }

  flag(id: number, until: number): void {
    this.#times[id >>> PAGE_SHIFT]![(id & PAGE_MASK) * TIMES + FLAGGED] = until;
  }

  pages(id: number): number {
    return this.#count(id, PAGES);
  }

  assets(id: number): number {
    return this.#count(id, ASSETS);
  }

  /** Its hits on targets under attack, in its window. */
  surge(id: number): number {
    return this.#count(id, SURGE);
  }

  addPage(id: number): void {
    this.#add(id, PAGES);
  }

  addAsset(id: number): void {
    this.#add(id, ASSETS);
  }

  /** One more hit on a target under attack; answers the address's count of them. */
  addSurge(id: number): number {
    return this.#add(id, SURGE);
  }

  /** Its AS number or `NO_AS`, looked up (with `ip`, when the caller holds it) once. */
  asn(id: number, lookup: (ip: string) => number, ip?: string): number {
    const c = this.#counts[id >>> PAGE_SHIFT]!;
    const at = (id & PAGE_MASK) * COUNTS + ASN;
    let asn = c[at]!;
    if (asn === UNKNOWN_AS) c[at] = asn = lookup(ip ?? this.ip(id));
    return asn;
  }

  #count(id: number, field: number): number {
    return this.#counts[id >>> PAGE_SHIFT]![(id & PAGE_MASK) * COUNTS + field]!;
  }

  #add(id: number, field: number): number {
    const c = this.#counts[id >>> PAGE_SHIFT]!;
    const at = (id & PAGE_MASK) * COUNTS + field;
    return ++c[at]!;
  }
}

/**
 * An address's hits as a target keeps them, by id: the count with the id's generation, so
 * that an id now holding another address reads as never hit (0).
 */
export function hitsOf(map: ReadonlyMap<number, number>, id: number, generation: number): number {
  return unpackHits(map.get(id), generation);
}

/** The hits a map's `value` holds for the id's current `generation` (0: none, or stale). */
export function unpackHits(value: number | undefined, generation: number): number {
  return value !== undefined && value % GENERATIONS === generation
    ? (value - generation) / GENERATIONS
    : 0;
}

/** What `hitsOf` reads back: `hits` of an id in `generation`. */
export function packHits(hits: number, generation: number): number {
  return hits * GENERATIONS + generation;
}
