/**
 * Keys to dense ids, at most `maxKeys` of them, in least-recently-used order (a doubly linked
 * list in typed arrays, so touching a key allocates nothing). The tail is both the key to evict
 * when full and the first to expire, so expired keys are swept a few at a time from the tail on
 * each touch: no scan of the whole table, ever.
 *
 * The keys themselves are held in typed arrays too, not as strings in a `Map`: an
 * open-addressing table of ids (linear probing, at most half full, backward-shift deletion so
 * that no tombstones pile up), and per id the key's hash, its length and its characters, one
 * byte each. A million keys are then a few arrays the collector does not look into, instead
 * of a million strings (two or three objects each, when the key was built by concatenation)
 * and a `Map` that rehashes all of them when it outgrows its table and compacts itself after
 * deletions, each in one go (bench/RESULTS.md, "Counters: keys outside the heap"). A key
 * longer than `keyBytes`, or with a character past U+00FF, is kept as a string beside its
 * id: rare (a long e-mail address), and no worse than before.
 *
 * Nothing is copied or rehashed in one go as the index grows. Everything per id is in pages of
 * `PAGE` ids, added as ids are first used. When the table of ids must double, the new one
 * takes new keys at once while the old one's are moved over a few slots per touch; until the
 * last has moved, a look-up that misses in the new table looks in the old one, where moved
 * and removed ids leave a tombstone.
 *
 * The hash is FNV-1a over the UTF-16 units, from a random seed per index, with murmur3's
 * finaliser. It is not cryptographic; the seed keeps anyone who chooses the keys (addresses,
 * e-mails) from knowing in advance which of them collide.
 */

/**
 * Characters stored in place per key, by default: `ip:` and a full IPv6 address,
 * `fp:<form>:<16>:ips`.
 */
const KEY_BYTES = 48;

export interface KeyIndexOptions {
  /** The hash's seed: random unless a test needs to know it. */
  readonly seed?: number;
  /** Characters stored in place per key (default 48); a longer key is kept as a string. */
  readonly keyBytes?: number;
}

/** Ids per page; owners keep their per-id data in pages of the same size (`onGrow`). */
export const PAGE_SHIFT = 10;
export const PAGE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE - 1;
/** Per id in a page of links: the previous and next in recency, the key's hash and length. */
const PREV = 0;
const NEXT = 1;
const HASH = 2;
const LENGTH = 3;
const LINKS = 4;
/** The length of an id that holds no key, and of one whose key is in `#spilled`. */
const FREE = -1;
const SPILLED = -2;
/** Old-table slots moved to the new one per touch while the table grows. */
const MOVES = 64;
/** In the old table while it is being emptied: a slot whose id moved or went. */
const MOVED = -1;

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

export class KeyIndex {
  readonly #maxKeys: number;
  readonly #onGrow: (ids: number) => void;
  readonly #onRemove: ((id: number) => void) | undefined;
  readonly #seed: number;
  readonly #keyBytes: number;
  /** Per slot: the id it holds, plus one; 0 when empty. At most half full. */
  #table = new Int32Array(2 * PAGE);
  #mask = 2 * PAGE - 1;
  /** While the table grows: the old one, and the next of its slots to move. */
  #old: Int32Array | undefined = undefined;
  #moved = 0;
  /** Per id, in pages: PREV, NEXT, HASH, LENGTH; the latest slot it was touched in; its key. */
  readonly #links: Int32Array[] = [];
  readonly #lasts: Float64Array[] = [];
  readonly #chars: Uint8Array[] = [];
  readonly #spilled = new Map<number, string>();
  #size = 0;
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
   * is first used (so pages are added as keys arrive, never all at once); `onRemove` lets it
   * drop what an id held.
   */
  constructor(
    maxKeys: number,
    onGrow: (ids: number) => void,
    onRemove?: (id: number) => void,
    options: KeyIndexOptions = {},
  ) {
    this.#seed = options.seed ?? randomSeed();
    this.#keyBytes = options.keyBytes ?? KEY_BYTES;
    this.#maxKeys = maxKeys;
    this.#onGrow = onGrow;
    this.#onRemove = onRemove;
  }

  get size(): number {
    return this.#size;
  }

  /** Drops up to `budget` keys from the tail whose latest slot is at or before `expired`. */
  sweep(expired: number, budget: number): void {
    while (budget-- > 0 && this.#tail !== -1 && this.lastOf(this.#tail) <= expired) {
      this.remove(this.#tail);
      this.expirations++;
    }
  }

  /**
   * Drops every key whose latest slot is at or before `expired`, wherever it is in the order:
   * a walk of them all, for owners whose keys do not expire in the order they were touched.
   */
  sweepAll(expired: number): void {
    for (let id = this.#tail; id !== -1;) {
      const newer = this.#field(id, PREV);
      if (this.lastOf(id) <= expired) {
        this.remove(id);
        this.expirations++;
      }
      id = newer;
    }
  }

  /** The key's id, made most recent; creates it (evicting the least recent when full). */
  touch(key: string, slot: number): number {
    if (this.#old !== undefined) this.#move();
    const hash = keyHash(key, this.#seed);
    let id = this.#find(key, hash);
    if (id === -1) {
      id = this.#allocate();
      // Placed after allocating: an eviction moves other keys in the table.
      this.#place(id, hash);
      this.#store(id, key, hash);
      this.#lasts[id >>> PAGE_SHIFT]![id & PAGE_MASK] = slot;
      this.#pushFront(id);
      this.fresh = true;
      return id;
    }
    this.fresh = false;
    const at = id & PAGE_MASK;
    const lasts = this.#lasts[id >>> PAGE_SHIFT]!;
    if (slot > lasts[at]!) lasts[at] = slot;
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

  /** The key `id` holds, made anew as a string: for the rare reader that needs it back. */
  keyOf(id: number): string {
    const length = this.#field(id, LENGTH);
    if (length === SPILLED) return this.#spilled.get(id)!;
    const at = (id & PAGE_MASK) * this.#keyBytes;
    return String.fromCharCode(...this.#chars[id >>> PAGE_SHIFT]!.subarray(at, at + length));
  }

  /** The latest slot `id` was touched in. */
  lastOf(id: number): number {
    return this.#lasts[id >>> PAGE_SHIFT]![id & PAGE_MASK]!;
  }

  /** The least recently touched id, or -1. */
  get oldest(): number {
    return this.#tail;
  }

  remove(id: number): void {
    const links = this.#links[id >>> PAGE_SHIFT];
    const at = (id & PAGE_MASK) * LINKS;
    if (links === undefined || id >= this.#used || links[at + LENGTH] === FREE) return;
    this.#unplace(id, links[at + HASH]!);
    if (links[at + LENGTH] === SPILLED) this.#spilled.delete(id);
    links[at + LENGTH] = FREE;
    this.#size--;
    this.#unlink(id);
    this.#free.push(id);
    this.#onRemove?.(id);
  }

  /** The id holding `key`, or -1: in the table, then in the old one while it is emptied. */
  #find(key: string, hash: number): number {
    const id = this.#findIn(this.#table, key, hash);
    return id === -1 && this.#old !== undefined ? this.#findIn(this.#old, key, hash) : id;
  }

  #findIn(table: Int32Array, key: string, hash: number): number {
    const mask = table.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const held = table[i]!;
      if (held === 0) return -1;
      if (held === MOVED) continue;
      const id = held - 1;
      if (this.#field(id, HASH) === hash && this.#holds(id, key)) return id;
    }
  }

  #holds(id: number, key: string): boolean {
    const length = this.#field(id, LENGTH);
    if (length === SPILLED) return this.#spilled.get(id) === key;
    if (length !== key.length) return false;
    const chars = this.#chars[id >>> PAGE_SHIFT]!;
    const at = (id & PAGE_MASK) * this.#keyBytes;
    for (let i = 0; i < length; i++) if (chars[at + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  #store(id: number, key: string, hash: number): void {
    const links = this.#links[id >>> PAGE_SHIFT]!;
    const at = (id & PAGE_MASK) * LINKS;
    links[at + HASH] = hash;
    this.#size++;
    const length = key.length;
    if (length <= this.#keyBytes) {
      const chars = this.#chars[id >>> PAGE_SHIFT]!;
      const from = (id & PAGE_MASK) * this.#keyBytes;
      let i = 0;
      for (; i < length; i++) {
        const c = key.charCodeAt(i);
        if (c > 0xff) break;
        chars[from + i] = c;
      }
      if (i === length) {
        links[at + LENGTH] = length;
        return;
      }
    }
    links[at + LENGTH] = SPILLED;
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

  /** One of `id`'s PREV, NEXT, HASH, LENGTH. */
  #field(id: number, field: number): number {
    return this.#links[id >>> PAGE_SHIFT]![(id & PAGE_MASK) * LINKS + field]!;
  }

  /**
   * Takes `id` out of the table, moving back each later key of its run that may sit in the
   * freed slot (its home slot is not cyclically after the hole), so probes never meet a gap. An
   * id still in the old table leaves a tombstone there instead.
   */
  #unplace(id: number, hash: number): void {
    const table = this.#table;
    const mask = this.#mask;
    let hole = hash & mask;
    while (table[hole] !== id + 1) {
      if (table[hole] === 0) {
        const old = this.#old!;
        const oldMask = old.length - 1;
        let i = hash & oldMask;
        while (old[i] !== id + 1) i = (i + 1) & oldMask;
        old[i] = MOVED;
        return;
      }
      hole = (hole + 1) & mask;
    }
    for (let j = (hole + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = this.#field(table[j]! - 1, HASH) & mask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        table[hole] = table[j]!;
        hole = j;
      }
    }
    table[hole] = 0;
  }

  /** Moves the next `MOVES` slots of the old table to the new one. */
  #move(): void {
    const old = this.#old!;
    const end = Math.min(old.length, this.#moved + MOVES);
    for (let i = this.#moved; i < end; i++) {
      const held = old[i]!;
      if (held > 0) {
        this.#place(held - 1, this.#field(held - 1, HASH));
        old[i] = MOVED;
      }
    }
    this.#moved = end;
    if (end === old.length) this.#old = undefined;
  }

  #allocate(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#used === this.#maxKeys) {
      const victim = this.#tail;
      this.remove(victim);
      this.evictions++;
      return this.#free.pop()!;
    }
    const id = this.#used++;
    if ((id & PAGE_MASK) === 0) {
      this.#links.push(new Int32Array(PAGE * LINKS));
      this.#lasts.push(new Float64Array(PAGE));
      this.#chars.push(new Uint8Array(PAGE * this.#keyBytes));
    }
    this.#links[id >>> PAGE_SHIFT]![(id & PAGE_MASK) * LINKS + LENGTH] = FREE;
    if (this.#used * 2 > this.#table.length) this.#grow();
    this.#onGrow(id + 1);
    return id;
  }

  /**
   * A table twice as large takes the new keys from now on; the old one's move over as keys are
   * touched (`MOVES` slots each), long before the new one is half full.
   */
  #grow(): void {
    while (this.#old !== undefined) this.#move();
    this.#old = this.#table;
    this.#moved = 0;
    this.#table = new Int32Array(this.#old.length * 2);
    this.#mask = this.#table.length - 1;
  }

  #pushFront(id: number): void {
    const links = this.#links[id >>> PAGE_SHIFT]!;
    const at = (id & PAGE_MASK) * LINKS;
    links[at + PREV] = -1;
    links[at + NEXT] = this.#head;
    const head = this.#head;
    if (head !== -1) this.#links[head >>> PAGE_SHIFT]![(head & PAGE_MASK) * LINKS + PREV] = id;
    this.#head = id;
    if (this.#tail === -1) this.#tail = id;
  }

  #unlink(id: number): void {
    const links = this.#links[id >>> PAGE_SHIFT]!;
    const at = (id & PAGE_MASK) * LINKS;
    const p = links[at + PREV]!;
    const n = links[at + NEXT]!;
    if (p === -1) this.#head = n;
    else this.#links[p >>> PAGE_SHIFT]![(p & PAGE_MASK) * LINKS + NEXT] = n;
    if (n === -1) this.#tail = p;
    else this.#links[n >>> PAGE_SHIFT]![(n & PAGE_MASK) * LINKS + PREV] = p;
  }
}
