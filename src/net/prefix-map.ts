/**
 * A map from IPv4 and IPv6 prefixes to values, with longest-prefix and all-matching look-ups:
 * the index behind every enforcement check. Numbers in typed arrays, never BigInt; at 1M
 * prefixes a look-up is bound by cache misses, so the layout aims at about one to wait on.
 *
 * IPv4 prefixes of /16 and longer (nearly all: addresses and the ranges of lists) live in one
 * region per /16, reached by a direct table (DXR-like, Zec et al. 2012): the /16's prefixes
 * flattened into sorted intervals, each naming its longest prefix, so a look-up is one binary
 * search and one read of the value (see Chunks4). Shorter IPv4 prefixes (at most 65,535) sit in
 * a hash table per length; the longest one over each /16 is copied into its region as the
 * fallback. IPv6 prefixes sit in a hash table per length with the values beside the keys; a
 * summary word per hashed first 32 bits says which lengths may hold the address, so a look-up
 * probes only those (usually none or one).
 *
 * Insert and delete are incremental: a change edits one /16's sorted keys and the next look-up
 * there rebuilds its intervals (O(prefixes in that /16)); a prefix shorter than /16 rewrites
 * the fallback of the /16s it covers.
 */
import { newAddressWords, parseAddressWords, parsePrefixWords } from "./address-words.ts";
import { grownArray, largeArray } from "./large-arrays.ts";

/** MASK[L]: the int32 mask of an IPv4 prefix of length L. */
const MASK = new Int32Array(33);
for (let l = 1; l <= 32; l++) MASK[l] = -1 << (32 - l);

/** MASK6[4L + k]: the mask of word k of an IPv6 prefix of length L. */
const MASK6 = new Int32Array(129 * 4);
for (let l = 0; l <= 128; l++)
  for (let k = 0; k < 4; k++) {
    const keep = l - 32 * k;
    MASK6[4 * l + k] = keep >= 32 ? -1 : keep <= 0 ? 0 : MASK[keep]!;
  }

const MIN_LOG = 3;
const MAX_LOAD = 0.7;

/** Linear probing over `[key, id + 1]` pairs (0 = empty); delete shifts back, no tombstones. */
class Table4 {
  data: Int32Array;
  size = 0;
  #mask: number;
  #shift: number;

  constructor(log = MIN_LOG) {
    this.data = new Int32Array(2 << log);
    this.#mask = (1 << log) - 1;
    this.#shift = 32 - log;
  }

  find(key: number): number {
    const d = this.data;
    let i = Math.imul(key, 0x9e3779b1) >>> this.#shift;
    for (;;) {
      const id = d[2 * i + 1]!;
      if (id === 0) return -1;
      if (d[2 * i] === key) return id - 1;
      i = (i + 1) & this.#mask;
    }
  }

  /** Adds a key known to be absent. */
  insert(key: number, id: number): void {
    if (this.size + 1 > MAX_LOAD * (this.#mask + 1)) this.#grow();
    const d = this.data;
    let i = Math.imul(key, 0x9e3779b1) >>> this.#shift;
    while (d[2 * i + 1] !== 0) i = (i + 1) & this.#mask;
    d[2 * i] = key;
    d[2 * i + 1] = id + 1;
    this.size++;
  }

  remove(key: number): number {
    const d = this.data;
    const m = this.#mask;
    let i = Math.imul(key, 0x9e3779b1) >>> this.#shift;
    for (;;) {
      const id = d[2 * i + 1]!;
      if (id === 0) return -1;
      if (d[2 * i] === key) break;
      i = (i + 1) & m;
    }
    const found = d[2 * i + 1]! - 1;
    // Backward shift: move later members of the run into the hole when their home allows it.
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & m;
      if (d[2 * j + 1] === 0) break;
      const home = Math.imul(d[2 * j]!, 0x9e3779b1) >>> this.#shift;
      if (((j - home) & m) >= ((j - hole) & m)) {
        d[2 * hole] = d[2 * j]!;
        d[2 * hole + 1] = d[2 * j + 1]!;
        hole = j;
      }
    }
    d[2 * hole] = 0;
    d[2 * hole + 1] = 0;
    this.size--;
    return found;
  }

  #grow(): void {
    const old = this.data;
    const log = 32 - this.#shift + 1;
    this.data = new Int32Array(2 << log);
    this.#mask = (1 << log) - 1;
    this.#shift = 32 - log;
    this.size = 0;
    for (let i = 1; i < old.length; i += 2) if (old[i] !== 0) this.insert(old[i - 1]!, old[i]! - 1);
  }
}

const hash6 = (a: number, b: number, c: number, d: number): number => {
  let h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77) ^ Math.imul(c, 0xc2b2ae3d) ^ d;
  h ^= h >>> 15;
  return Math.imul(h, 0x27d4eb2f);
};

/**
 * Linear probing over four-word keys, `[k0, k1, k2, k3, 1]` per slot (0: empty), with the value
 * of slot i in `vals[i]`: its address is known from the hash alone, so reading it does not wait
 * for the keys.
 */
class Table6<V> {
  data: Int32Array;
  vals: (V | undefined)[];
  size = 0;
  #mask: number;
  #shift: number;

  constructor(log = MIN_LOG) {
    this.data = new Int32Array(5 << log);
    this.vals = Array<V | undefined>(1 << log).fill(undefined);
    this.#mask = (1 << log) - 1;
    this.#shift = 32 - log;
  }

  /** The slot of the key, or -1. */
  find(a: number, b: number, c: number, e: number): number {
    const d = this.data;
    let i = hash6(a, b, c, e) >>> this.#shift;
    for (;;) {
      const p = 5 * i;
      if (d[p + 4] === 0) return -1;
      if (d[p] === a && d[p + 1] === b && d[p + 2] === c && d[p + 3] === e) return i;
      i = (i + 1) & this.#mask;
    }
  }

  /** Adds a key known to be absent. */
  insert(a: number, b: number, c: number, e: number, value: V | undefined): void {
    if (this.size + 1 > MAX_LOAD * (this.#mask + 1)) this.#grow();
    const d = this.data;
    let i = hash6(a, b, c, e) >>> this.#shift;
    while (d[5 * i + 4] !== 0) i = (i + 1) & this.#mask;
    const p = 5 * i;
    d[p] = a;
    d[p + 1] = b;
    d[p + 2] = c;
    d[p + 3] = e;
    d[p + 4] = 1;
    this.vals[i] = value;
    this.size++;
  }

  remove(a: number, b: number, c: number, e: number): boolean {
    const d = this.data;
    const vals = this.vals;
    const m = this.#mask;
    let i = this.find(a, b, c, e);
    if (i < 0) return false;
    // Backward shift: move later members of the run into the hole when their home allows it.
    let hole = i;
    for (;;) {
      i = (i + 1) & m;
      const p = 5 * i;
      if (d[p + 4] === 0) break;
      const home = hash6(d[p]!, d[p + 1]!, d[p + 2]!, d[p + 3]!) >>> this.#shift;
      if (((i - home) & m) >= ((i - hole) & m)) {
        d.copyWithin(5 * hole, p, p + 5);
        vals[hole] = vals[i];
        hole = i;
      }
    }
    d.fill(0, 5 * hole, 5 * hole + 5);
    vals[hole] = undefined;
    this.size--;
    return true;
  }

  #grow(): void {
    const old = this.data;
    const vals = this.vals;
    const log = 32 - this.#shift + 1;
    this.data = new Int32Array(5 << log);
    this.vals = Array<V | undefined>(1 << log).fill(undefined);
    this.#mask = (1 << log) - 1;
    this.#shift = 32 - log;
    this.size = 0;
    for (let p = 0; p < old.length; p += 5)
      if (old[p + 4] !== 0)
        this.insert(old[p]!, old[p + 1]!, old[p + 2]!, old[p + 3]!, vals[p / 5]);
  }
}

/** Adds `delta` to the count kept under `key` in a Table4 (stored as id = count - 1). */
const addCount = (t: Table4, key: number, delta: number): number => {
  const count = t.find(key) + 1;
  if (count > 0) t.remove(key);
  const next = count + delta;
  if (next > 0) t.insert(key, next - 1);
  return next;
};

/** The smallest region has room for 2^CHUNK_MIN_LOG - 1 members. */
const CHUNK_MIN_LOG = 2;
/** A local member index this high means "look the member up the slow way" (a huge /16). */
const FAR = 0x7fff;
/** Set in an interval beside a member that another member encloses. */
const ENCLOSED = 0x8000;
/** Set in a /16's directory entry while its intervals are stale. */
const DIRTY = 1 << 31;

/**
 * The IPv4 prefixes /16–/32, one region per /16 that holds any (or that a shorter prefix
 * covers). A member has a local index m (1 ≤ m < c, dense, kept while it lives); a region with
 * room for c = 2^log members starts at `base` in three arrays:
 *
 * - `iv[3 base, 3 base + 2c)`: the intervals of the /16, sorted: `(start ^ 0x8000) << 16 |
 *   enclosed << 15 | m`, m being the longest member holding the interval (0: none), and
 *   `enclosed` whether another member holds m (start: low 16 bits of the first address);
 *   the last interval is repeated to fill the room, so a search may run over all of it;
 * - `iv[3 base + 2c + m]`: the member enclosing member m most closely, or 0;
 * - `slots[base + m]`: the value of member m; `slots[base]` the fallback: the value of the
 *   longest shorter prefix holding the /16, or of 0.0.0.0/0;
 * - `cold[2 base, 2 base + n)`: the members' keys, `start << 5 | (length - 16)`, sorted, so the
 *   members enclosing a member come before it; `cold[2 base + c + i]`: the local index of the
 *   member with the i-th key.
 *
 * A look-up is one binary search over the intervals, then one read of `slots`: about one cache
 * miss each on a large map, and the values are read early so the two overlap. A change edits
 * the keys (a memmove) and marks the intervals stale; the next look-up in that /16 rewrites
 * them (O(members)), so loading a dense /16 costs no more than once.
 */
class Chunks4<V> {
  /** Per /16: `DIRTY | base << 5 | log2 of the region's size`, 0 when it has no region. */
  readonly dir = new Int32Array(65536);
  /** Per /16: how many members. */
  readonly #count = new Int32Array(65536);
  /** Per /16: its region stays while a shorter prefix holds it, even with no member. */
  readonly #pinned = new Uint8Array(65536);
  iv = new Int32Array(3 << 8);
  cold = new Int32Array(2 << 8);
  slots: (V | undefined)[] = Array<V | undefined>(1 << 8).fill(undefined);
  /** The value of 0.0.0.0/0: the answer in a /16 with no region. */
  zero: V | undefined = undefined;
  #top = 0;
  /** Bases of free regions, by log2 size. */
  readonly #free: number[][] = [];
  readonly #stack = new Int32Array(18);
  /** Units (one value, five ints) in regions; the rest is free regions and room to grow. */
  used = 0;

  /** Rewrites the intervals of every /16 whose keys changed since; how many. */
  settle(): number {
    let n = 0;
    for (let hi = 0; hi < 65536; hi++)
      if (this.dir[hi]! < 0) {
        this.#rebuild(hi);
        n++;
      }
    return n;
  }

  /** The value of the longest prefix holding the address, falling back on shorter ones. */
  longest(a: number): V | undefined {
    const hi = a >>> 16;
    const d = this.dir[hi]!;
    if (d <= 0) return d === 0 ? this.zero : this.#rebuildAnd(a);
    const base = d >>> 5;
    const iv = this.iv;
    const slots = this.slots;
    // Read now, the fallback brings the start of the values into the cache during the search.
    const fallback = slots[base];
    const t = ((a ^ 0x8000) << 16) | 0xffff;
    let at = 3 * base;
    // Branch-free: each step's comparison is a coin toss that a branch would mispredict half
    // the time, throwing away the look-ups the processor had started after this one.
    for (let half = 1 << (d & 31); half !== 0; half >>>= 1)
      at += half & -Number(iv[at + half]! <= t);
    const m = iv[at]! & FAR;
    if (m === 0) return fallback;
    return slots[base + (m !== FAR ? m : this.#far(hi, a & 0xffff))];
  }

  /** `longest` in a /16 whose intervals are stale. */
  #rebuildAnd(a: number): V | undefined {
    this.#rebuild(a >>> 16);
    return this.longest(a);
  }

  /** Appends the values of the members holding the address, longest first. */
  matchInto(a: number, out: V[]): void {
    const hi = a >>> 16;
    const d = this.dir[hi]! > 0 || this.dir[hi] === 0 ? this.dir[hi]! : this.#rebuild(hi);
    if (d === 0) return;
    const base = d >>> 5;
    const c = 1 << (d & 31);
    const iv = this.iv;
    const slots = this.slots;
    this.sink = slots[base];
    const t = ((a ^ 0x8000) << 16) | 0xffff;
    let at = 3 * base;
    for (let half = c; half !== 0; half >>>= 1) at += half & -Number(iv[at + half]! <= t);
    const word = iv[at]!;
    let m = word & FAR;
    if (m === FAR) m = this.#far(hi, a & 0xffff);
    if (m === 0) return;
    out.push(slots[base + m] as V);
    if ((word & ENCLOSED) === 0) return;
    // Every member holding the address encloses the longest one.
    const parents = 3 * base + 2 * c;
    for (m = iv[parents + m]!; m !== 0; m = iv[parents + m]!) out.push(slots[base + m] as V);
  }
  /** Where matchInto puts the early read of the values (a read must be used to be kept). */
  sink: V | undefined = undefined;

  /** The local index of exactly this member (its /16 and key), or -1. */
  find(hi: number, key: number): number {
    const i = this.#position(hi, key);
    return i < 0 ? -1 : this.cold[2 * this.#base(hi) + (1 << (this.dir[hi]! & 31)) + i]!;
  }

  value(hi: number, m: number): V | undefined {
    return this.slots[this.#base(hi) + m];
  }

  setValue(hi: number, m: number, value: V): void {
    this.slots[this.#base(hi) + m] = value;
  }

  /** Adds a member known to be absent. */
  insert(hi: number, key: number, value: V): void {
    if (this.dir[hi] === 0) this.#place(hi, CHUNK_MIN_LOG, this.zero);
    const n = this.#count[hi]!;
    if (n + 1 === 1 << (this.dir[hi]! & 31)) this.#move(hi, (this.dir[hi]! & 31) + 1);
    const base = this.#base(hi);
    const c = 1 << (this.dir[hi]! & 31);
    const cold = this.cold;
    const keys = 2 * base;
    const i = last(cold, keys, n, key) + 1;
    cold.copyWithin(keys + i + 1, keys + i, keys + n);
    cold.copyWithin(keys + c + i + 1, keys + c + i, keys + c + n);
    cold[keys + i] = key;
    cold[keys + c + i] = n + 1;
    this.slots[base + n + 1] = value;
    this.#count[hi] = n + 1;
    this.dir[hi] = this.dir[hi]! | DIRTY;
  }

  /** Removes exactly this member; false when it was not there. */
  remove(hi: number, key: number): boolean {
    const i = this.#position(hi, key);
    if (i < 0) return false;
    const n = this.#count[hi]!;
    const log = this.dir[hi]! & 31;
    const c = 1 << log;
    const base = this.#base(hi);
    const cold = this.cold;
    const keys = 2 * base;
    const m = cold[keys + c + i]!;
    cold.copyWithin(keys + i, keys + i + 1, keys + n);
    cold.copyWithin(keys + c + i, keys + c + i + 1, keys + c + n);
    // Local indexes stay dense: the last one takes the place of the one removed.
    if (m !== n) {
      this.slots[base + m] = this.slots[base + n];
      for (let k = keys + c; ; k++)
        if (cold[k] === n) {
          cold[k] = m;
          break;
        }
    }
    this.slots[base + n] = undefined;
    this.#count[hi] = n - 1;
    this.dir[hi] = this.dir[hi]! | DIRTY;
    if (n === 1 && this.#pinned[hi] === 0) this.#drop(hi);
    else if (log > CHUNK_MIN_LOG && n <= 1 << (log - 2)) this.#move(hi, log - 1);
    return true;
  }

  /** Sets the fallback of a /16: `pinned` when a shorter prefix than /16 holds it. */
  setFallback(hi: number, value: V | undefined, pinned: boolean): void {
    this.#pinned[hi] = pinned ? 1 : 0;
    if (this.dir[hi] === 0) {
      if (pinned) this.#place(hi, CHUNK_MIN_LOG, value);
    } else if (!pinned && this.#count[hi] === 0) this.#drop(hi);
    else this.slots[this.#base(hi)] = value;
  }

  #base(hi: number): number {
    return (this.dir[hi]! & ~DIRTY) >>> 5;
  }

  /** The position of exactly this key among the sorted keys of a /16, or -1. */
  #position(hi: number, key: number): number {
    if (this.dir[hi] === 0) return -1;
    const keys = 2 * this.#base(hi);
    const i = last(this.cold, keys, this.#count[hi]!, key);
    return i >= 0 && this.cold[keys + i] === key ? i : -1;
  }

  /**
   * The member of a huge /16 holding `lo` most closely, from the keys: the holders of an
   * address are the members at or before it that hold it, the closest last.
   */
  #far(hi: number, lo: number): number {
    const keys = 2 * this.#base(hi);
    const c = 1 << (this.dir[hi]! & 31);
    const cold = this.cold;
    for (let i = last(cold, keys, this.#count[hi]!, (lo << 5) | 31); i >= 0; i--) {
      const k = cold[keys + i]!;
      if ((lo ^ (k >>> 5)) >>> (16 - (k & 31)) === 0) return cold[keys + c + i]!;
    }
    return 0;
  }

  /** Rewrites the enclosing links and the intervals of a /16 from its keys; its entry. */
  #rebuild(hi: number): number {
    const d = this.dir[hi]! & ~DIRTY;
    const base = d >>> 5;
    const c = 1 << (d & 31);
    const n = this.#count[hi]!;
    const keys = 2 * base;
    const locals = keys + c;
    const parents = 3 * base + 2 * c;
    const iv = this.iv;
    const cold = this.cold;
    const stack = this.#stack;
    let sp = 0;
    const from = 3 * base;
    let at = from;
    // Intervals start at each member's first address and after its last; a new start at the
    // same address replaces the one before, and one held by the same member is dropped.
    iv[at++] = (0x8000 << 16) | 0;
    for (let i = 0; i <= n; i++) {
      const k = i < n ? cold[keys + i]! : 0;
      const start = i < n ? k >>> 5 : 65536;
      while (sp > 0) {
        const top = cold[keys + stack[sp - 1]!]!;
        const end = (top >>> 5) + (1 << (16 - (top & 31)));
        if (end > start) break;
        sp--;
        if (end === 65536) continue;
        const m = sp > 0 ? cold[locals + stack[sp - 1]!]! : 0;
        at = interval(
          iv,
          from,
          at,
          end,
          m < FAR ? m | (iv[parents + m]! !== 0 ? ENCLOSED : 0) : FAR | ENCLOSED,
        );
      }
      if (i === n) break;
      const m = cold[locals + i]!;
      const parent = sp > 0 ? cold[locals + stack[sp - 1]!]! : 0;
      iv[parents + m] = parent;
      at = interval(
        iv,
        from,
        at,
        start,
        m < FAR ? m | (parent !== 0 ? ENCLOSED : 0) : FAR | ENCLOSED,
      );
      stack[sp++] = i;
    }
    iv.fill(iv[at - 1]!, at, parents);
    this.dir[hi] = d;
    return d;
  }

  /** Gives a /16 a fresh region, with this fallback and no member yet. */
  #place(hi: number, log: number, fallback: V | undefined): void {
    const base = this.#alloc(log);
    this.dir[hi] = (base << 5) | log;
    this.#count[hi] = 0;
    this.iv.fill(0x8000 << 16, 3 * base, 3 * base + (2 << log));
    this.slots[base] = fallback;
  }

  /** Moves the region of a /16 to one of another size. */
  #move(hi: number, log: number): void {
    const to = this.#alloc(log); // first: it may compact, moving this region too
    const from = this.#base(hi);
    const fromLog = this.dir[hi]! & 31;
    const n = this.#count[hi]!;
    const cold = this.cold;
    cold.copyWithin(2 * to, 2 * from, 2 * from + n);
    cold.copyWithin(2 * to + (1 << log), 2 * from + (1 << fromLog), 2 * from + (1 << fromLog) + n);
    const slots = this.slots;
    for (let m = 0; m <= n; m++) slots[to + m] = slots[from + m];
    this.#release(from, fromLog);
    this.dir[hi] = DIRTY | (to << 5) | log;
  }

  #drop(hi: number): void {
    this.#release(this.#base(hi), this.dir[hi]! & 31);
    this.dir[hi] = 0;
    this.#count[hi] = 0;
  }

  #alloc(log: number): number {
    const size = 1 << log;
    this.used += size;
    const reuse = this.#free[log]?.pop();
    if (reuse !== undefined) return reuse;
    if (this.#top + size > this.slots.length) {
      // Regions freed by growing /16s are mostly too small to reuse: past a quarter, compact.
      if (this.#top - (this.used - size) > this.#top >>> 2) this.#compact();
      else {
        const length = Math.max(this.#top + size, Math.ceil(this.slots.length * 1.25));
        // In place while their buffers have room (see large-arrays.ts).
        this.iv = grownArray(Int32Array, this.iv, 3 * length);
        this.cold = grownArray(Int32Array, this.cold, 2 * length);
        // Exactly `length`: pushing would leave the array up to half as long again.
        const slots = Array<V | undefined>(length).fill(undefined);
        for (let i = 0; i < this.#top; i++) slots[i] = this.slots[i];
        this.slots = slots;
      }
    }
    const base = this.#top;
    this.#top += size;
    return base;
  }

  /** Copies every region to fresh arrays, in order and without gaps, with room to grow. */
  #compact(): void {
    const length = Math.ceil(this.used * 1.25) + 16; // `used` counts `extra` already
    const iv = largeArray(Int32Array, 3 * length);
    const cold = largeArray(Int32Array, 2 * length);
    const slots = Array<V | undefined>(length).fill(undefined);
    let top = 0;
    for (let hi = 0; hi < 65536; hi++) {
      const d = this.dir[hi]!;
      if (d === 0) continue;
      const base = (d & ~DIRTY) >>> 5;
      const c = 1 << (d & 31);
      iv.set(this.iv.subarray(3 * base, 3 * base + 3 * c), 3 * top);
      cold.set(this.cold.subarray(2 * base, 2 * base + 2 * c), 2 * top);
      for (let m = 0; m <= this.#count[hi]!; m++) slots[top + m] = this.slots[base + m];
      this.dir[hi] = (d & DIRTY) | (top << 5) | (d & 31);
      top += c;
    }
    this.iv = iv;
    this.cold = cold;
    this.slots = slots;
    this.#top = top;
    this.#free.length = 0;
  }

  #release(base: number, log: number): void {
    this.used -= 1 << log;
    this.slots.fill(undefined, base, base + (1 << log));
    (this.#free[log] ??= []).push(base);
  }
}

/**
 * Appends to the intervals in `iv[from, at)` one starting at `start` (low 16 bits) held by
 * `local` (with its flag); returns the new end.
 */
const interval = (
  iv: Int32Array,
  from: number,
  at: number,
  start: number,
  local: number,
): number => {
  const word = ((start ^ 0x8000) << 16) | local;
  const prev = iv[at - 1]!;
  if (at > from && prev >>> 16 === word >>> 16) {
    iv[at - 1] = word;
    return at;
  }
  if ((prev & 0xffff) === local) return at;
  iv[at] = word;
  return at + 1;
};

/** The index of the last of the `n` ints from `o` that is at most `t`, minus `o`; -1 if none. */
const last = (mem: Int32Array, o: number, n: number, t: number): number => {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (mem[o + mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
};

/** Key of an IPv4 prefix of length 16..32 in its /16's list (see Chunks4). */
const key4 = (a: number, bits: number): number => ((a & 0xffff) << 5) | (bits - 16);

/** The summary slot of an IPv6 address: its first 32 bits, hashed. */
const bucket6 = (a: number, shift: number): number => Math.imul(a, 0x9e3779b1) >>> shift;

/** What an exact look-up finds when the prefix is not there. */
const MISSING = Symbol("missing");

export class PrefixMap<V> {
  #size = 0;
  readonly #scratch = newAddressWords();

  readonly #chunks = new Chunks4<V>();
  /** Values of the IPv4 prefixes /0–/15, by an id their tables hold; ids are reused. */
  readonly #values: (V | undefined)[] = [];
  readonly #free: number[] = [];
  /** Tables of IPv4 prefixes /1–/15. */
  readonly #t4: (Table4 | undefined)[] = Array<Table4 | undefined>(16).fill(undefined);
  /** Per /16: bit L-1 set when a prefix /L (1 ≤ L ≤ 15) holds it; they are disjoint per length. */
  readonly #sum4 = new Uint16Array(65536);
  /** Per /16: the id of the longest prefix /1–/15 holding it, or -1. */
  readonly #short4 = new Int32Array(65536).fill(-1);
  #zero4 = -1;

  readonly #t6: (Table6<V> | undefined)[] = Array<Table6<V> | undefined>(129).fill(undefined);
  /** IPv6 lengths in use, longest first, and beside each its summary bit (0: always probe). */
  #lens6 = new Int32Array(0);
  #bits6 = new Int32Array(0);
  /** Per length /32 and longer: its summary bit index (lengths may share one past 32 lengths). */
  readonly #slot6 = new Int8Array(129).fill(-1);
  readonly #slotUsers = new Int32Array(32);
  /** Per hashed first word: which summary bits have a prefix of /32 or longer there. */
  #sum6 = new Int32Array(1 << 12);
  #shift6 = 20;
  /** Prefixes per (summary slot << 5 | bit), so a bit goes when its last prefix does. */
  #count6 = new Table4();
  #wide6 = 0;

  /** How many prefixes hold a value. */
  get size(): number {
    return this.#size;
  }

  /**
   * Does now the work that changes leave to the next look-up in each changed /16 (rewriting its
   * intervals): after a bulk load, so that the first look-ups do not pay for all of it at once.
   * Returns how many /16s it rewrote.
   */
  settle(): number {
    return this.#chunks.settle();
  }

  /** Sets the value of a prefix (`1.2.3.0/24`, `2001:db8::/48`, or an address). False when the text is not a prefix. */
  set(prefix: string, value: V): boolean {
    const w = this.#scratch;
    const family = parsePrefixWords(prefix, w);
    if (family === 0) return false;
    const bits = w[4]!;
    const a = w[0]! | 0;
    if (family === 4) {
      if (bits >= 16) {
        const ch = this.#chunks;
        const m = ch.find(a >>> 16, key4(a, bits));
        if (m >= 0) ch.setValue(a >>> 16, m, value);
        else {
          ch.insert(a >>> 16, key4(a, bits), value);
          this.#size++;
        }
        return true;
      }
      const id = bits === 0 ? this.#zero4 : (this.#t4[bits]?.find(a) ?? -1);
      if (id >= 0) {
        this.#values[id] = value;
        this.#refallback4(a, bits);
        return true;
      }
      const fresh = this.#free.pop() ?? this.#values.length;
      this.#values[fresh] = value;
      this.#size++;
      this.#insert4(a, bits, fresh);
      return true;
    }
    const t = this.#t6[bits];
    const i = t ? t.find(a, w[1]! | 0, w[2]! | 0, w[3]! | 0) : -1;
    if (i >= 0) t!.vals[i] = value;
    else {
      this.#insert6(w, bits, value);
      this.#size++;
    }
    return true;
  }

  /** The value of exactly this prefix. */
  get(prefix: string): V | undefined {
    const found = this.#exact(prefix);
    return found === MISSING ? undefined : found;
  }

  has(prefix: string): boolean {
    return this.#exact(prefix) !== MISSING;
  }

  /** Removes exactly this prefix; true when it was there. */
  delete(prefix: string): boolean {
    const w = this.#scratch;
    const family = parsePrefixWords(prefix, w);
    if (family === 0) return false;
    const bits = w[4]!;
    const a = w[0]! | 0;
    if (family === 4 && bits < 16) {
      const id = this.#remove4(a, bits);
      if (id < 0) return false;
      this.#values[id] = undefined;
      this.#free.push(id);
    } else if (family === 4) {
      if (!this.#chunks.remove(a >>> 16, key4(a, bits))) return false;
    } else if (!this.#remove6(w, bits)) return false;
    this.#size--;
    return true;
  }

  /** The value of the longest prefix holding the address, if any. */
  longest(ip: string): V | undefined {
    const w = this.#scratch;
    const family = parseAddressWords(ip, w);
    if (family === 4) return this.#chunks.longest(w[0]! | 0);
    return family === 0 ? undefined : this.#longest6(w);
  }

  /** Longest match for an IPv4 address given as an unsigned 32-bit number. */
  longest4(address: number): V | undefined {
    return this.#chunks.longest(address | 0);
  }

  /** Longest match for an IPv6 address given as four words, most significant first. */
  longest6(words: ArrayLike<number>): V | undefined {
    return this.#longest6(words);
  }

  /**
   * Appends the values of every prefix holding the address to `out`, longest prefix first.
   * Returns how many, or -1 when the text is not an address.
   */
  matchInto(ip: string, out: V[]): number {
    const w = this.#scratch;
    const family = parseAddressWords(ip, w);
    if (family === 0) return -1;
    const before = out.length;
    if (family === 4) {
      const a = w[0]! | 0;
      this.#chunks.matchInto(a, out);
      const values = this.#values;
      let s = this.#sum4[a >>> 16]!;
      while (s !== 0) {
        const b = 31 - Math.clz32(s);
        out.push(values[this.#t4[b + 1]!.find(a & MASK[b + 1]!)]!);
        s ^= 1 << b;
      }
      if (this.#zero4 >= 0) out.push(values[this.#zero4]!);
    } else {
      const lens = this.#lens6;
      const bits = this.#bits6;
      const a = w[0]! | 0;
      const b = w[1]! | 0;
      const c = w[2]! | 0;
      const d = w[3]! | 0;
      const sum = this.#sum6[bucket6(a, this.#shift6)]!;
      for (let k = 0; k < lens.length; k++) {
        const bit = bits[k]!;
        if (bit !== 0 && (sum & bit) === 0) continue;
        const m = 4 * lens[k]!;
        const t = this.#t6[lens[k]!]!;
        const i = t.find(a & MASK6[m]!, b & MASK6[m + 1]!, c & MASK6[m + 2]!, d & MASK6[m + 3]!);
        if (i >= 0) out.push(t.vals[i]!);
      }
    }
    return out.length - before;
  }

  /** Every prefix holding the address, longest first. */
  matches(ip: string): V[] {
    const out: V[] = [];
    this.matchInto(ip, out);
    return out;
  }

  #exact(prefix: string): V | undefined | typeof MISSING {
    const w = this.#scratch;
    const family = parsePrefixWords(prefix, w);
    if (family === 0) return MISSING;
    const bits = w[4]!;
    const a = w[0]! | 0;
    if (family === 4) {
      if (bits >= 16) {
        const m = this.#chunks.find(a >>> 16, key4(a, bits));
        return m < 0 ? MISSING : this.#chunks.value(a >>> 16, m);
      }
      const id = bits === 0 ? this.#zero4 : (this.#t4[bits]?.find(a) ?? -1);
      return id < 0 ? MISSING : this.#values[id];
    }
    const t = this.#t6[bits];
    const i = t ? t.find(a, w[1]! | 0, w[2]! | 0, w[3]! | 0) : -1;
    return i < 0 ? MISSING : t!.vals[i];
  }

  #longest6(w: ArrayLike<number>): V | undefined {
    const lens = this.#lens6;
    const bits = this.#bits6;
    const a = w[0]! | 0;
    const b = w[1]! | 0;
    const c = w[2]! | 0;
    const d = w[3]! | 0;
    const sum = this.#sum6[bucket6(a, this.#shift6)]!;
    for (let k = 0; k < lens.length; k++) {
      const bit = bits[k]!;
      if (bit !== 0 && (sum & bit) === 0) continue;
      const m = 4 * lens[k]!;
      const t = this.#t6[lens[k]!]!;
      const i = t.find(a & MASK6[m]!, b & MASK6[m + 1]!, c & MASK6[m + 2]!, d & MASK6[m + 3]!);
      if (i >= 0) return t.vals[i];
    }
    return undefined;
  }

  /** Adds a prefix shorter than /16 known to be absent. */
  #insert4(a: number, bits: number, id: number): void {
    if (bits === 0) {
      this.#zero4 = id;
      this.#refallback4(a, 0);
      return;
    }
    let t = this.#t4[bits];
    if (!t) this.#t4[bits] = t = new Table4();
    t.insert(a, id);
    const hi = a >>> 16;
    const span = 1 << (16 - bits);
    const bit = 1 << (bits - 1);
    const sum = this.#sum4;
    for (let k = hi; k < hi + span; k++) sum[k] = sum[k]! | bit;
    this.#shorten4(a, bits);
  }

  /** Removes a prefix shorter than /16; its id, or -1. */
  #remove4(a: number, bits: number): number {
    if (bits === 0) {
      const id = this.#zero4;
      if (id < 0) return -1;
      this.#zero4 = -1;
      this.#refallback4(a, 0);
      return id;
    }
    const t = this.#t4[bits];
    const id = t ? t.remove(a) : -1;
    if (id < 0) return -1;
    const hi = a >>> 16;
    const span = 1 << (16 - bits);
    const bit = 1 << (bits - 1);
    const sum = this.#sum4;
    // Prefixes of one length are disjoint: this was the only one of its length over these /16s.
    for (let k = hi; k < hi + span; k++) sum[k] = sum[k]! & ~bit;
    this.#shorten4(a, bits);
    return id;
  }

  /** Recomputes the longest prefix /1–/15 over the /16s of one, and their fallbacks. */
  #shorten4(a: number, bits: number): void {
    const hi = a >>> 16;
    for (let k = hi; k < hi + (1 << (16 - bits)); k++) {
      const s = this.#sum4[k]!;
      const l = 32 - Math.clz32(s);
      this.#short4[k] = s === 0 ? -1 : this.#t4[l]!.find((k << 16) & MASK[l]!);
    }
    this.#refallback4(a, bits);
  }

  /** Rewrites the fallback of the /16s that a prefix /0–/15 covers, after it changed. */
  #refallback4(a: number, bits: number): void {
    const zero = this.#zero4 < 0 ? undefined : this.#values[this.#zero4];
    this.#chunks.zero = zero;
    const hi = a >>> 16;
    const span = 1 << (16 - bits);
    for (let k = hi; k < hi + span; k++) {
      const id = this.#short4[k]!;
      this.#chunks.setFallback(k, id < 0 ? zero : this.#values[id], id >= 0);
    }
  }

  #insert6(w: Uint32Array, bits: number, value: V): void {
    let t = this.#t6[bits];
    if (!t) {
      this.#t6[bits] = t = new Table6<V>();
      if (bits >= 32) {
        let slot = 0;
        for (let s = 1; s < 32; s++) if (this.#slotUsers[s]! < this.#slotUsers[slot]!) slot = s;
        this.#slot6[bits] = slot;
        this.#slotUsers[slot]!++;
      }
      this.#indexLengths6();
    }
    const a = w[0]! | 0;
    t.insert(a, w[1]! | 0, w[2]! | 0, w[3]! | 0, value);
    if (bits < 32) return;
    this.#summarise6(a, this.#slot6[bits]!, 1);
    if (++this.#wide6 > this.#sum6.length >>> 1) this.#resummarise6(this.#sum6.length << 2);
  }

  #remove6(w: Uint32Array, bits: number): boolean {
    const t = this.#t6[bits];
    const a = w[0]! | 0;
    if (!t?.remove(a, w[1]! | 0, w[2]! | 0, w[3]! | 0)) return false;
    if (bits >= 32) {
      this.#summarise6(a, this.#slot6[bits]!, -1);
      this.#wide6--;
    }
    if (t.size === 0) {
      this.#t6[bits] = undefined;
      if (bits >= 32) {
        this.#slotUsers[this.#slot6[bits]!]!--;
        this.#slot6[bits] = -1;
      }
      this.#indexLengths6();
    }
    return true;
  }

  #summarise6(a: number, slot: number, delta: number): void {
    const b = bucket6(a, this.#shift6);
    const count = addCount(this.#count6, (b << 5) | slot, delta);
    if (delta > 0 && count === 1) this.#sum6[b] = this.#sum6[b]! | (1 << slot);
    else if (count === 0) this.#sum6[b] = this.#sum6[b]! & ~(1 << slot);
  }

  /** Rebuilds the IPv6 summary with `size` slots (a power of two). */
  #resummarise6(size: number): void {
    this.#sum6 = new Int32Array(size);
    this.#shift6 = Math.clz32(size) + 1;
    this.#count6 = new Table4();
    for (let l = 32; l <= 128; l++) {
      const d = this.#t6[l]?.data;
      if (!d) continue;
      const slot = this.#slot6[l]!;
      for (let p = 0; p < d.length; p += 5) if (d[p + 4] !== 0) this.#summarise6(d[p]!, slot, 1);
    }
  }

  #indexLengths6(): void {
    const lens: number[] = [];
    for (let l = 128; l >= 0; l--) if (this.#t6[l]) lens.push(l);
    this.#lens6 = Int32Array.from(lens);
    this.#bits6 = Int32Array.from(lens, (l) => (l >= 32 ? 1 << this.#slot6[l]! : 0));
  }
}
