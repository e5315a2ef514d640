/**
 * Answers by address for the DNSBL's hot path: an open-addressing hash table whose keys are the
 * address's four 32-bit words in a typed array, so that a look-up builds no string and no
 * object. IPv4 addresses are stored in their IPv4-mapped form (::ffff:a.b.c.d).
 *
 * `clear` is O(1): it moves a generation counter, and a slot counts only when it was written in
 * the current generation. A cleared slot keeps a reference to its old value until it is written
 * again, so at most `capacity` stale values stay reachable. `delete` drops one address and
 * moves the entries after it back (backward-shift deletion: linear probing needs no tombstones).
 */

/** Slots per entry: at most half full, so probe sequences stay short. */
const LOAD = 2;

export class AddressCache<V> {
  /** Entries kept before the whole cache is dropped and refilled. */
  readonly capacity: number;
  #mask = 0;
  #keys = new Int32Array(0);
  #generations = new Uint32Array(0);
  #values: (V | undefined)[] = [];
  #generation = 1;
  #size = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get size(): number {
    return this.#size;
  }

  /** Drops every entry. */
  clear(): void {
    this.#generation = (this.#generation + 1) >>> 0;
    if (this.#generation === 0) {
      // After 2³² clears the counter wraps: slots written in generation 1 must not come back.
      this.#generations.fill(0);
      this.#generation = 1;
    }
    this.#size = 0;
  }

  /** The value stored for the address, or undefined. */
  get(a: number, b: number, c: number, d: number): V | undefined {
    const i = this.#find(a, b, c, d);
    return i < 0 ? undefined : this.#values[i];
  }

  /** The slot holding the address in the current generation, or -1. */
  #find(a: number, b: number, c: number, d: number): number {
    if (this.#size === 0) return -1;
    const keys = this.#keys;
    const gens = this.#generations;
    const gen = this.#generation;
    let i = hash(a, b, c, d) & this.#mask;
    for (;;) {
      if (gens[i] !== gen) return -1;
      const k = i << 2;
      if (
        keys[k] === (a | 0) &&
        keys[k + 1] === (b | 0) &&
        keys[k + 2] === (c | 0) &&
        keys[k + 3] === (d | 0)
      )
        return i;
      i = (i + 1) & this.#mask;
    }
  }

  /** Stores a value; a new address in a full cache drops the cache first. Capacity 0: ignored. */
  set(a: number, b: number, c: number, d: number, value: V): void {
    if (this.capacity === 0) return;
    if (this.#keys.length === 0) this.#allocate();
    const keys = this.#keys;
    const gens = this.#generations;
    let i = hash(a, b, c, d) & this.#mask;
    for (;;) {
      const k = i << 2;
      if (gens[i] !== this.#generation) {
        if (this.#size >= this.capacity) {
          this.clear();
          i = hash(a, b, c, d) & this.#mask;
          continue;
        }
        gens[i] = this.#generation;
        keys[k] = a;
        keys[k + 1] = b;
        keys[k + 2] = c;
        keys[k + 3] = d;
        this.#values[i] = value;
        this.#size++;
        return;
      }
      if (
        keys[k] === (a | 0) &&
        keys[k + 1] === (b | 0) &&
        keys[k + 2] === (c | 0) &&
        keys[k + 3] === (d | 0)
      ) {
        this.#values[i] = value;
        return;
      }
      i = (i + 1) & this.#mask;
    }
  }

  /** Drops the entry of one address; false when there was none. */
  delete(a: number, b: number, c: number, d: number): boolean {
    let hole = this.#find(a, b, c, d);
    if (hole < 0) return false;
    const keys = this.#keys;
    const gens = this.#generations;
    const gen = this.#generation;
    const mask = this.#mask;
    // Each later entry of the run moves into the hole when its home slot is not past the hole,
    // so that every entry stays reachable from its home without a gap.
    for (let j = (hole + 1) & mask; gens[j] === gen; j = (j + 1) & mask) {
      const k = j << 2;
      const home = hash(keys[k]!, keys[k + 1]!, keys[k + 2]!, keys[k + 3]!) & mask;
      if (((j - home) & mask) < ((j - hole) & mask)) continue;
      const h = hole << 2;
      keys[h] = keys[k]!;
      keys[h + 1] = keys[k + 1]!;
      keys[h + 2] = keys[k + 2]!;
      keys[h + 3] = keys[k + 3]!;
      this.#values[hole] = this.#values[j];
      hole = j;
    }
    // Generation 0 is never current (see clear).
    gens[hole] = 0;
    this.#values[hole] = undefined;
    this.#size--;
    return true;
  }

  // The table is sized on first use: a zone that is never asked costs nothing.
  #allocate(): void {
    let slots = 16;
    while (slots < this.capacity * LOAD) slots *= 2;
    this.#mask = slots - 1;
    this.#keys = new Int32Array(slots * 4);
    this.#generations = new Uint32Array(slots);
    this.#values = new Array<V | undefined>(slots).fill(undefined);
  }
}

/** murmur3's finalizer over the four words: addresses in one network spread over the table. */
function hash(a: number, b: number, c: number, d: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ b ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ c ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ d ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
