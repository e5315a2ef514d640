/**
 * The expiries of the decisions held on each address, as the nftables enforcer needs them: a
 * multiset per address (several decisions may hold one address; the latest expiry wins, and
 * removing one decision leaves the others). A million addresses must not cost a million
 * objects: IPv4 addresses (nearly all) live in an open-addressing table of words and doubles,
 * the rest in a map by text; only an address held by several decisions gets an array. The table
 * is kept between 64 % and 80 % full (linear probing; any size, not only powers of two), 13 bytes
 * a slot: 15 MB for 900K addresses, where half full in powers of two took 26 MB.
 *
 * Expiries are numbers, `Infinity` for a decision that never expires.
 */
import { formatDottedQuad, parseDottedQuad } from "../../net/dotted-quad.ts";
import { largeArray } from "../../net/large-arrays.ts";

const EMPTY = 0;
const ONE = 1;
const MANY = 2;
const MIN_SIZE = 16;
/** Grown by a quarter when more than 4/5 full. */
const FULL = 0.8;
const GROWTH = 1.25;

/** The home slot of `key` in a table of `size` slots: the hash's high bits, scaled. */
const home = (key: number, size: number): number =>
  Math.floor(((Math.imul(key, 0x9e3779b1) >>> 0) * size) / 4294967296);

function latestOf(list: readonly number[], now: number | undefined): number | undefined {
  let max: number | undefined;
  for (const e of list) {
    if (now !== undefined && e <= now) continue;
    if (max === undefined || e > max) max = e;
  }
  return max;
}

export class AddressExpiries {
  /** IPv4: the address, what the slot holds (EMPTY, ONE or MANY), and the one expiry. */
  #keys = new Int32Array(0);
  #state = new Uint8Array(0);
  #until = new Float64Array(0);
  #v4 = 0;
  /** IPv4 addresses held by several decisions: their expiries. */
  readonly #many = new Map<number, number[]>();
  /** Every other address, by its text. */
  readonly #others = new Map<string, number | number[]>();

  constructor() {
    this.#allocate(MIN_SIZE);
  }

  get size(): number {
    return this.#v4 + this.#others.size;
  }

  clear(): void {
    this.#allocate(MIN_SIZE);
    this.#v4 = 0;
    this.#many.clear();
    this.#others.clear();
  }

  add(address: string, expiry: number): void {
    const a = parseDottedQuad(address);
    if (a < 0) {
      const held = this.#others.get(address);
      if (held === undefined) this.#others.set(address, expiry);
      else if (typeof held === "number") this.#others.set(address, [held, expiry]);
      else held.push(expiry);
      return;
    }
    const i = this.#slot(a | 0);
    const state = this.#state[i]!;
    if (state === EMPTY) {
      if (this.#v4 + 1 > FULL * this.#state.length) {
        this.#grow();
        this.add(address, expiry);
        return;
      }
      this.#keys[i] = a | 0;
      this.#state[i] = ONE;
      this.#until[i] = expiry;
      this.#v4++;
    } else if (state === ONE) {
      this.#state[i] = MANY;
      this.#many.set(a | 0, [this.#until[i]!, expiry]);
    } else this.#many.get(a | 0)!.push(expiry);
  }

  /** Removes one decision with this expiry from the address; nothing when there is none. */
  remove(address: string, expiry: number): void {
    const a = parseDottedQuad(address);
    if (a < 0) {
      const held = this.#others.get(address);
      if (held === undefined) return;
      if (typeof held === "number") {
        if (held === expiry) this.#others.delete(address);
        return;
      }
      const at = held.indexOf(expiry);
      if (at < 0) return;
      held.splice(at, 1);
      if (held.length === 1) this.#others.set(address, held[0]!);
      return;
    }
    const i = this.#slot(a | 0);
    const state = this.#state[i]!;
    if (state === ONE) {
      if (this.#until[i] === expiry) this.#delete(i);
    } else if (state === MANY) {
      const held = this.#many.get(a | 0)!;
      const at = held.indexOf(expiry);
      if (at < 0) return;
      held.splice(at, 1);
      if (held.length > 1) return;
      this.#many.delete(a | 0);
      this.#state[i] = ONE;
      this.#until[i] = held[0]!;
    }
  }

  /** The latest expiry held on the address (after `now`, when given), or undefined. */
  latest(address: string, now: number | undefined): number | undefined {
    const a = parseDottedQuad(address);
    if (a < 0) {
      const held = this.#others.get(address);
      if (held === undefined) return undefined;
      if (typeof held !== "number") return latestOf(held, now);
      return now !== undefined && held <= now ? undefined : held;
    }
    return this.#latestAt(this.#slot(a | 0), now);
  }

  /**
   * Every address of one family with its latest expiry after `now` (none: skipped), IPv4 in
   * table order. The held addresses must not change while this is read.
   */
  *entries(now: number, family: 4 | 6): Generator<readonly [string, number]> {
    const state = this.#state;
    if (family === 4)
      for (let i = 0; i < state.length; i++) {
        if (state[i] === EMPTY) continue;
        const until = this.#latestAt(i, now);
        if (until !== undefined) yield [formatDottedQuad(this.#keys[i]!), until];
      }
    for (const [address, held] of this.#others) {
      if ((address.includes(":") ? 6 : 4) !== family) continue;
      const until =
        typeof held === "number" ? (held > now ? held : undefined) : latestOf(held, now);
      if (until !== undefined) yield [address, until];
    }
  }

  #latestAt(i: number, now: number | undefined): number | undefined {
    const state = this.#state[i]!;
    if (state === EMPTY) return undefined;
    if (state === MANY) return latestOf(this.#many.get(this.#keys[i]!)!, now);
    const until = this.#until[i]!;
    return now !== undefined && until <= now ? undefined : until;
  }

  /** The slot holding `key`, or the empty slot where it would go. */
  #slot(key: number): number {
    const keys = this.#keys;
    const state = this.#state;
    const size = state.length;
    let i = home(key, size);
    while (state[i] !== EMPTY && keys[i] !== key) if (++i === size) i = 0;
    return i;
  }

  #delete(i: number): void {
    const keys = this.#keys;
    const state = this.#state;
    const until = this.#until;
    const size = state.length;
    const back = (from: number, to: number): number => (from >= to ? from - to : from + size - to);
    // Backward shift: move later members of the run into the hole when their home allows it.
    let hole = i;
    for (let j = i + 1 === size ? 0 : i + 1; state[j] !== EMPTY; j = j + 1 === size ? 0 : j + 1) {
      if (back(j, home(keys[j]!, size)) >= back(j, hole)) {
        keys[hole] = keys[j]!;
        state[hole] = state[j]!;
        until[hole] = until[j]!;
        hole = j;
      }
    }
    state[hole] = EMPTY;
    this.#v4--;
  }

  /**
   * Empty columns of `size` slots, in one buffer: the table's size, not a column's, says
   * whether it gets a mapping of its own (large-arrays.ts), and each size it grows through is
   * one allocation, not three.
   */
  #allocate(size: number): void {
    const buffer = largeArray(Uint8Array, 13 * size).buffer;
    this.#until = new Float64Array(buffer, 0, size);
    this.#keys = new Int32Array(buffer, 8 * size, size);
    this.#state = new Uint8Array(buffer, 12 * size, size);
  }

  #grow(): void {
    const keys = this.#keys;
    const state = this.#state;
    const until = this.#until;
    this.#allocate(Math.ceil(GROWTH * state.length));
    for (let i = 0; i < state.length; i++) {
      if (state[i] === EMPTY) continue;
      const j = this.#slot(keys[i]!);
      this.#keys[j] = keys[i]!;
      this.#state[j] = state[i]!;
      this.#until[j] = until[i]!;
    }
  }
}
