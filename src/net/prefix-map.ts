/**
 * A map from IPv4 and IPv6 prefixes to values, with longest-prefix and all-matching look-ups:
 * the index behind every enforcement check. One open-addressing hash table of masked keys per
 * prefix length, in typed arrays (numbers, never BigInt). For IPv4, a summary word per /16 says
 * which lengths can hold the address, so a look-up probes only those (usually one or two) instead
 * of every length in use. Measured against a path-compressed binary trie in bench/lookup.ts: the
 * hash is several times faster on 1M prefixes, because a trie walk is ~20 dependent cache misses.
 *
 * Insert and delete are incremental. Values live in a plain array indexed by a small integer id
 * that the tables store; ids are reused.
 */
import { newAddressWords, parseAddressWords, parsePrefixWords } from "./address-words.ts";

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

/** Table4 for four-word keys: `[k0, k1, k2, k3, id + 1]` per slot. */
class Table6 {
  data: Int32Array;
  size = 0;
  #mask: number;
  #shift: number;

  constructor(log = MIN_LOG) {
    this.data = new Int32Array(5 << log);
    this.#mask = (1 << log) - 1;
    this.#shift = 32 - log;
  }

  find(a: number, b: number, c: number, e: number): number {
    const d = this.data;
    let i = hash6(a, b, c, e) >>> this.#shift;
    for (;;) {
      const p = 5 * i;
      const id = d[p + 4]!;
      if (id === 0) return -1;
      if (d[p] === a && d[p + 1] === b && d[p + 2] === c && d[p + 3] === e) return id - 1;
      i = (i + 1) & this.#mask;
    }
  }

  insert(a: number, b: number, c: number, e: number, id: number): void {
    if (this.size + 1 > MAX_LOAD * (this.#mask + 1)) this.#grow();
    const d = this.data;
    let i = hash6(a, b, c, e) >>> this.#shift;
    while (d[5 * i + 4] !== 0) i = (i + 1) & this.#mask;
    const p = 5 * i;
    d[p] = a;
    d[p + 1] = b;
    d[p + 2] = c;
    d[p + 3] = e;
    d[p + 4] = id + 1;
    this.size++;
  }

  remove(a: number, b: number, c: number, e: number): number {
    const d = this.data;
    const m = this.#mask;
    let i = hash6(a, b, c, e) >>> this.#shift;
    for (;;) {
      const p = 5 * i;
      if (d[p + 4] === 0) return -1;
      if (d[p] === a && d[p + 1] === b && d[p + 2] === c && d[p + 3] === e) break;
      i = (i + 1) & m;
    }
    const found = d[5 * i + 4]! - 1;
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & m;
      const p = 5 * j;
      if (d[p + 4] === 0) break;
      const home = hash6(d[p]!, d[p + 1]!, d[p + 2]!, d[p + 3]!) >>> this.#shift;
      if (((j - home) & m) >= ((j - hole) & m)) {
        d.copyWithin(5 * hole, p, p + 5);
        hole = j;
      }
    }
    d.fill(0, 5 * hole, 5 * hole + 5);
    this.size--;
    return found;
  }

  #grow(): void {
    const old = this.data;
    const log = 32 - this.#shift + 1;
    this.data = new Int32Array(5 << log);
    this.#mask = (1 << log) - 1;
    this.#shift = 32 - log;
    this.size = 0;
    for (let p = 0; p < old.length; p += 5)
      if (old[p + 4] !== 0)
        this.insert(old[p]!, old[p + 1]!, old[p + 2]!, old[p + 3]!, old[p + 4]! - 1);
  }
}

/** Lengths 16..32 are counted per /16, so the summary bit goes when the last one does. */
const COUNTED = 17;

export class PrefixMap<V> {
  readonly #values: (V | undefined)[] = [];
  readonly #free: number[] = [];
  #size = 0;
  readonly #scratch = newAddressWords();

  readonly #t4: (Table4 | undefined)[] = Array<Table4 | undefined>(33).fill(undefined);
  /** Per /16: bit L-1 set when a prefix of length L ≥ 1 may hold addresses of that /16. */
  readonly #sum4 = new Uint32Array(65536);
  #count4: Int32Array | undefined;
  #zero4 = -1;

  readonly #t6: (Table6 | undefined)[] = Array<Table6 | undefined>(129).fill(undefined);
  /** IPv6 lengths in use, longest first. */
  #lens6 = new Int32Array(0);

  /** How many prefixes hold a value. */
  get size(): number {
    return this.#size;
  }

  /** Sets the value of a prefix (`1.2.3.0/24`, `2001:db8::/48`, or an address). False when the text is not a prefix. */
  set(prefix: string, value: V): boolean {
    const w = this.#scratch;
    const family = parsePrefixWords(prefix, w);
    if (family === 0) return false;
    const id = this.#find(family, w);
    if (id >= 0) {
      this.#values[id] = value;
      return true;
    }
    const fresh = this.#free.pop() ?? this.#values.length;
    this.#values[fresh] = value;
    this.#size++;
    const bits = w[4]!;
    if (family === 4) this.#insert4(w[0]! | 0, bits, fresh);
    else this.#insert6(w, bits, fresh);
    return true;
  }

  /** The value of exactly this prefix. */
  get(prefix: string): V | undefined {
    const w = this.#scratch;
    const family = parsePrefixWords(prefix, w);
    if (family === 0) return undefined;
    const id = this.#find(family, w);
    return id < 0 ? undefined : this.#values[id];
  }

  has(prefix: string): boolean {
    const w = this.#scratch;
    const family = parsePrefixWords(prefix, w);
    return family !== 0 && this.#find(family, w) >= 0;
  }

  /** Removes exactly this prefix; true when it was there. */
  delete(prefix: string): boolean {
    const w = this.#scratch;
    const family = parsePrefixWords(prefix, w);
    if (family === 0) return false;
    const bits = w[4]!;
    let id: number;
    if (family === 4) {
      const a = w[0]! | 0;
      if (bits === 0) {
        id = this.#zero4;
        this.#zero4 = -1;
      } else {
        const t = this.#t4[bits];
        id = t ? t.remove(a) : -1;
        if (id >= 0) this.#unsummarise4(a, bits);
      }
    } else {
      const t = this.#t6[bits];
      id = t ? t.remove(w[0]! | 0, w[1]! | 0, w[2]! | 0, w[3]! | 0) : -1;
      if (t && t.size === 0) {
        this.#t6[bits] = undefined;
        this.#indexLengths6();
      }
    }
    if (id < 0) return false;
    this.#values[id] = undefined;
    this.#free.push(id);
    this.#size--;
    return true;
  }

  /** The value of the longest prefix holding the address, if any. */
  longest(ip: string): V | undefined {
    const w = this.#scratch;
    const family = parseAddressWords(ip, w);
    if (family === 0) return undefined;
    const id = family === 4 ? this.#longest4(w[0]! | 0) : this.#longest6(w);
    return id < 0 ? undefined : this.#values[id];
  }

  /** Longest match for an IPv4 address given as an unsigned 32-bit number. */
  longest4(address: number): V | undefined {
    const id = this.#longest4(address | 0);
    return id < 0 ? undefined : this.#values[id];
  }

  /** Longest match for an IPv6 address given as four words, most significant first. */
  longest6(words: ArrayLike<number>): V | undefined {
    const id = this.#longest6(words);
    return id < 0 ? undefined : this.#values[id];
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
      let s = this.#sum4[a >>> 16]!;
      while (s !== 0) {
        const b = 31 - Math.clz32(s);
        const id = this.#t4[b + 1]!.find(a & MASK[b + 1]!);
        if (id >= 0) out.push(this.#values[id]!);
        s ^= 1 << b;
      }
      if (this.#zero4 >= 0) out.push(this.#values[this.#zero4]!);
    } else {
      const lens = this.#lens6;
      const a = w[0]! | 0;
      const b = w[1]! | 0;
      const c = w[2]! | 0;
      const d = w[3]! | 0;
      for (let k = 0; k < lens.length; k++) {
        const l = lens[k]!;
        const m = 4 * l;
        const id = this.#t6[l]!.find(
          a & MASK6[m]!,
          b & MASK6[m + 1]!,
          c & MASK6[m + 2]!,
          d & MASK6[m + 3]!,
        );
        if (id >= 0) out.push(this.#values[id]!);
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

  #find(family: 4 | 6, w: Uint32Array): number {
    const bits = w[4]!;
    if (family === 4) {
      if (bits === 0) return this.#zero4;
      const t = this.#t4[bits];
      return t ? t.find(w[0]! | 0) : -1;
    }
    const t = this.#t6[bits];
    return t ? t.find(w[0]! | 0, w[1]! | 0, w[2]! | 0, w[3]! | 0) : -1;
  }

  #longest4(a: number): number {
    let s = this.#sum4[a >>> 16]!;
    while (s !== 0) {
      const b = 31 - Math.clz32(s);
      const id = this.#t4[b + 1]!.find(a & MASK[b + 1]!);
      if (id >= 0) return id;
      s ^= 1 << b;
    }
    return this.#zero4;
  }

  #longest6(w: ArrayLike<number>): number {
    const lens = this.#lens6;
    const a = w[0]! | 0;
    const b = w[1]! | 0;
    const c = w[2]! | 0;
    const d = w[3]! | 0;
    for (let k = 0; k < lens.length; k++) {
      const l = lens[k]!;
      const m = 4 * l;
      const id = this.#t6[l]!.find(
        a & MASK6[m]!,
        b & MASK6[m + 1]!,
        c & MASK6[m + 2]!,
        d & MASK6[m + 3]!,
      );
      if (id >= 0) return id;
    }
    return -1;
  }

  #insert4(a: number, bits: number, id: number): void {
    if (bits === 0) {
      this.#zero4 = id;
      return;
    }
    let t = this.#t4[bits];
    if (!t) this.#t4[bits] = t = new Table4();
    t.insert(a, id);
    const hi = a >>> 16;
    const bit = 1 << (bits - 1);
    const sum = this.#sum4;
    if (bits >= 16) {
      const count = (this.#count4 ??= new Int32Array(65536 * COUNTED));
      const c = hi * COUNTED + bits - 16;
      if (count[c] === 0) sum[hi] = sum[hi]! | bit;
      count[c] = count[c]! + 1;
    } else {
      const span = 1 << (16 - bits);
      for (let k = hi; k < hi + span; k++) sum[k] = sum[k]! | bit;
    }
  }

  #unsummarise4(a: number, bits: number): void {
    const hi = a >>> 16;
    const bit = 1 << (bits - 1);
    const sum = this.#sum4;
    if (bits >= 16) {
      const count = this.#count4!;
      const c = hi * COUNTED + bits - 16;
      count[c] = count[c]! - 1;
      if (count[c] === 0) sum[hi] = sum[hi]! & ~bit;
    } else {
      // Prefixes of one length are disjoint: this was the only one of its length over these /16s.
      const span = 1 << (16 - bits);
      for (let k = hi; k < hi + span; k++) sum[k] = sum[k]! & ~bit;
    }
  }

  #insert6(w: Uint32Array, bits: number, id: number): void {
    let t = this.#t6[bits];
    if (!t) {
      this.#t6[bits] = t = new Table6();
      this.#indexLengths6();
    }
    t.insert(w[0]! | 0, w[1]! | 0, w[2]! | 0, w[3]! | 0, id);
  }

  #indexLengths6(): void {
    const lens: number[] = [];
    for (let l = 128; l >= 0; l--) if (this.#t6[l]) lens.push(l);
    this.#lens6 = Int32Array.from(lens);
  }
}
