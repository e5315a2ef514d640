/**
 * The expiries of the decisions held on each address, as the nftables enforcer needs them: a
 * multiset per address (several decisions may hold one address; the latest expiry wins, and
 * removing one decision leaves the others). A million addresses must not cost a million
 * objects: IPv4 addresses (nearly all) live in an open-addressing table of words and doubles,
 * the rest in a map by text; only an address held by several decisions gets an array.
 *
 * Expiries are numbers, `Infinity` for a decision that never expires.
 */
import { formatDottedQuad, parseDottedQuad } from "../../net/dotted-quad.ts";
import { largeArray } from "../../net/large-arrays.ts";

const EMPTY = 0;
const ONE = 1;
const MANY = 2;
const MIN_LOG = 4;

const hash = (key: number): number => Math.imul(key, 0x9e3779b1);

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
  #keys = new Int32Array(1 << MIN_LOG);
  #state = new Uint8Array(1 << MIN_LOG);
  #until = new Float64Array(1 << MIN_LOG);
  #shift = 32 - MIN_LOG;
  #v4 = 0;
  /** IPv4 addresses held by several decisions: their expiries. */
  readonly #many = new Map<number, number[]>();
  /** Every other address, by its text. */
  readonly #others = new Map<string, number | number[]>();

  get size(): number {
    return this.#v4 + this.#others.size;
  }

  clear(): void {
    this.#keys = new Int32Array(1 << MIN_LOG);
    this.#state = new Uint8Array(1 << MIN_LOG);
    this.#until = new Float64Array(1 << MIN_LOG);
    this.#shift = 32 - MIN_LOG;
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
      if (2 * (this.#v4 + 1) > this.#state.length) {
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
    const mask = state.length - 1;
    let i = hash(key) >>> this.#shift;
    while (state[i] !== EMPTY && keys[i] !== key) i = (i + 1) & mask;
    return i;
  }

  #delete(i: number): void {
    const keys = this.#keys;
    const state = this.#state;
    const until = this.#until;
    const mask = state.length - 1;
    // Backward shift: move later members of the run into the hole when their home allows it.
    let hole = i;
    for (let j = (i + 1) & mask; state[j] !== EMPTY; j = (j + 1) & mask) {
      const home = hash(keys[j]!) >>> this.#shift;
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        keys[hole] = keys[j]!;
        state[hole] = state[j]!;
        until[hole] = until[j]!;
        hole = j;
      }
    }
    state[hole] = EMPTY;
    this.#v4--;
  }

  #grow(): void {
    const keys = this.#keys;
    const state = this.#state;
    const until = this.#until;
    const size = 2 * state.length;
    this.#keys = largeArray(Int32Array, size);
    this.#state = largeArray(Uint8Array, size);
    this.#until = largeArray(Float64Array, size);
    this.#shift--;
    for (let i = 0; i < state.length; i++) {
      if (state[i] === EMPTY) continue;
      const j = this.#slot(keys[i]!);
      this.#keys[j] = keys[i]!;
      this.#state[j] = state[i]!;
      this.#until[j] = until[i]!;
    }
  }
}
