/**
 * Keys to dense ids, at most `maxKeys` of them, in least-recently-used order (a doubly linked
 * list in typed arrays, so touching a key allocates nothing). The tail is both the key to evict
 * when full and the first to expire, so expired keys are swept a few at a time from the tail on
 * each touch: no scan of the whole table, ever.
 *
 * The keys themselves are held in typed arrays too, not as strings in a `Map`: an
 * open-addressing table of ids (linear probing, at most half full, backward-shift deletion so
 * that no tombstones pile up), and per id the key's hash, its length and its characters, one
 * byte each, in pages of `PAGE` ids. A million keys are then a few arrays the collector does
 * not look into, instead of a million strings (two or three objects each, when the key was
 * built by concatenation) and a `Map` that rehashes all of them when it outgrows its table and
 * compacts itself after deletions, each in one go (bench/RESULTS.md, "Counters: keys outside
 * the heap"). A key longer than `KEY_BYTES`, or with a character past U+00FF, is kept as a
 * string beside its id: rare (a long e-mail address), and no worse than before.
 *
 * The hash is FNV-1a over the UTF-16 units, from a random seed per index, with murmur3's
 * finaliser. It is not cryptographic; the seed keeps anyone who chooses the keys (addresses,
 * e-mails) from knowing in advance which of them collide.
 */

/** Characters stored in place per key: `ip:` and a full IPv6 address, `fp:<form>:<16>:ips`. */
const KEY_BYTES = 48;
const PAGE_SHIFT = 10;
const PAGE = 1 << PAGE_SHIFT;
const PAGE_MASK = PAGE - 1;
/** `#lengths` of an id that holds no key, and of one whose key is in `#spilled`. */
const FREE = -1;
const SPILLED = -2;

const randomSeed = (): number => crypto.getRandomValues(new Uint32Array(1))[0]! | 0;

/** The hash of `key` under `seed`: FNV-1a over its UTF-16 units, then murmur3's finaliser. */
export function keyHash(key: string, seed: number): number {
  let h = seed ^ key.length;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The table's size for `capacity` ids: a power of two, at least twice as many slots. */
const tableSize = (capacity: number): number =>
  2 ** Math.ceil(Math.log2(Math.max(2, capacity * 2)));

export class KeyIndex {
  readonly #maxKeys: number;
  readonly #onGrow: (capacity: number) => void;
  readonly #onRemove: ((id: number) => void) | undefined;
  readonly #seed: number;
  /** Per slot: the id it holds, plus one; 0 when empty. */
  #table: Int32Array;
  #mask: number;
  /** Per id: its key's hash, and its length (or FREE, or SPILLED). */
  #hashes: Int32Array;
  #lengths: Int32Array;
  /** Per id, in pages: its key's characters. */
  readonly #chars: Uint8Array[] = [];
  readonly #spilled = new Map<number, string>();
  #size = 0;
  #prev: Int32Array;
  #next: Int32Array;
  /** The latest slot each key was touched in. */
  #last: Float64Array;
  #free: number[] = [];
  #used = 0;
  #head = -1;
  #tail = -1;
  /** Whether the last `touch` created the key (its data must be reset by the owner). */
  fresh = false;
  evictions = 0;
  expirations = 0;

  /**
   * `onGrow(ids)`: the owner's per-id data must now hold ids 0 … ids − 1, called as each new id
   * is first used (so pages are added as keys arrive, not all at once when the index doubles);
   * `onRemove` lets it drop what an id held. `seed`: the hash's, random unless a test needs to
   * know it.
   */
  constructor(
    maxKeys: number,
    onGrow: (capacity: number) => void,
    onRemove?: (id: number) => void,
    seed = randomSeed(),
  ) {
    this.#seed = seed;
    this.#maxKeys = maxKeys;
    this.#onGrow = onGrow;
    this.#onRemove = onRemove;
    const capacity = Math.min(maxKeys, PAGE);
    this.#table = new Int32Array(tableSize(capacity));
    this.#mask = this.#table.length - 1;
    this.#hashes = new Int32Array(capacity);
    this.#lengths = new Int32Array(capacity).fill(FREE);
    this.#prev = new Int32Array(capacity);
    this.#next = new Int32Array(capacity);
    this.#last = new Float64Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  get capacity(): number {
    return this.#prev.length;
  }

  /** Drops up to `budget` keys from the tail whose latest slot is at or before `expired`. */
  sweep(expired: number, budget: number): void {
    while (budget-- > 0 && this.#tail !== -1 && this.#last[this.#tail]! <= expired) {
      this.remove(this.#tail);
      this.expirations++;
    }
  }

  /** The key's id, made most recent; creates it (evicting the least recent when full). */
  touch(key: string, slot: number): number {
    const hash = keyHash(key, this.#seed);
    let id = this.#find(key, hash);
    if (id === -1) {
      id = this.#allocate();
      // Placed after allocating: an eviction or a growth moves other keys in the table.
      this.#place(id, hash);
      this.#store(id, key, hash);
      this.#last[id] = slot;
      this.#pushFront(id);
      this.fresh = true;
      return id;
    }
    this.fresh = false;
    if (slot > this.#last[id]!) this.#last[id] = slot;
    if (this.#head !== id) {
      this.#unlink(id);
      this.#pushFront(id);
    }
    return id;
  }

  /** The id of `key`, without touching it. */
  peek(key: string): number | undefined {
    const id = this.#find(key, keyHash(key, this.#seed));
    return id === -1 ? undefined : id;
  }

  /** The least recently touched id, or -1. */
  get oldest(): number {
    return this.#tail;
  }

  remove(id: number): void {
    if (this.#lengths[id] === FREE) return;
    this.#unplace(id);
    if (this.#lengths[id] === SPILLED) this.#spilled.delete(id);
    this.#lengths[id] = FREE;
    this.#size--;
    this.#unlink(id);
    this.#free.push(id);
    this.#onRemove?.(id);
  }

  /** The id holding `key`, or -1. */
  #find(key: string, hash: number): number {
    const table = this.#table;
    const mask = this.#mask;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const held = table[i]!;
      if (held === 0) return -1;
      const id = held - 1;
      if (this.#hashes[id] === hash && this.#holds(id, key)) return id;
    }
  }

  #holds(id: number, key: string): boolean {
    const length = this.#lengths[id]!;
    if (length === SPILLED) return this.#spilled.get(id) === key;
    if (length !== key.length) return false;
    const chars = this.#chars[id >>> PAGE_SHIFT]!;
    const at = (id & PAGE_MASK) * KEY_BYTES;
    for (let i = 0; i < length; i++) if (chars[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  #store(id: number, key: string, hash: number): void {
    this.#hashes[id] = hash;
    this.#size++;
    const length = key.length;
    if (length <= KEY_BYTES) {
      const chars = this.#chars[id >>> PAGE_SHIFT]!;
      const at = (id & PAGE_MASK) * KEY_BYTES;
      let i = 0;
      for (; i < length; i++) {
        const c = key.charCodeAt(i);
        if (c > 0xff) break;
        chars[at + i] = c;
      }
      if (i === length) {
        this.#lengths[id] = length;
        return;
      }
    }
    this.#lengths[id] = SPILLED;
    this.#spilled.set(id, key);
  }

  /** Puts `id` in the first empty slot from its hash's. */
  #place(id: number, hash: number): void {
    const table = this.#table;
    const mask = this.#mask;
    let i = hash & mask;
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = id + 1;
  }

  /**
   * Takes `id` out of the table, moving back each later key of its run that may sit in the
   * freed slot (its home slot is not cyclically after the hole), so probes never meet a gap.
   */
  #unplace(id: number): void {
    const table = this.#table;
    const mask = this.#mask;
    let hole = this.#hashes[id]! & mask;
    while (table[hole] !== id + 1) hole = (hole + 1) & mask;
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = this.#hashes[table[j]! - 1]! & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        table[hole] = table[j]!;
        hole = j;
      }
    }
    table[hole] = 0;
  }

  #allocate(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#used === this.capacity) {
      if (this.capacity < this.#maxKeys) this.#grow();
      else {
        const victim = this.#tail;
        this.remove(victim);
        this.evictions++;
        return this.#free.pop()!;
      }
    }
    const id = this.#used++;
    if ((id & PAGE_MASK) === 0) this.#chars.push(new Uint8Array(PAGE * KEY_BYTES));
    this.#onGrow(id + 1);
    return id;
  }

  #grow(): void {
    const capacity = Math.min(this.#maxKeys, this.capacity * 2);
    const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(capacity);
      b.set(a);
      return b;
    };
    this.#prev = grow(this.#prev, (n) => new Int32Array(n));
    this.#next = grow(this.#next, (n) => new Int32Array(n));
    this.#last = grow(this.#last, (n) => new Float64Array(n));
    this.#hashes = grow(this.#hashes, (n) => new Int32Array(n));
    this.#lengths = grow(this.#lengths, (n) => new Int32Array(n).fill(FREE));
    const size = tableSize(capacity);
    if (size > this.#table.length) {
      // Every key to its slot in the bigger table, by the hash it keeps: no key is read again.
      const old = this.#table;
      this.#table = new Int32Array(size);
      this.#mask = size - 1;
      for (let i = 0; i < old.length; i++) {
        const held = old[i]!;
        if (held !== 0) this.#place(held - 1, this.#hashes[held - 1]!);
      }
    }
  }

  #pushFront(id: number): void {
    this.#prev[id] = -1;
    this.#next[id] = this.#head;
    if (this.#head !== -1) this.#prev[this.#head] = id;
    this.#head = id;
    if (this.#tail === -1) this.#tail = id;
  }

  #unlink(id: number): void {
    const p = this.#prev[id]!;
    const n = this.#next[id]!;
    if (p === -1) this.#head = n;
    else this.#next[p] = n;
    if (n === -1) this.#tail = p;
    else this.#prev[n] = p;
  }
}
