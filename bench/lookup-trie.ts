/**
 * The other design the brief names: a path-compressed binary trie (Patricia) over 128-bit keys
 * in typed arrays, insert and longest-prefix look-up only. Kept in bench/ to compare against
 * PrefixMap on the same data; one instance per family (IPv4 keys in word 0, width 32).
 */
export class PatriciaTrie {
  readonly #width: number;
  #k0 = new Int32Array(1024);
  #k1 = new Int32Array(1024);
  #k2 = new Int32Array(1024);
  #k3 = new Int32Array(1024);
  #len = new Uint8Array(1024);
  #c0 = new Int32Array(1024).fill(-1);
  #c1 = new Int32Array(1024).fill(-1);
  #id = new Int32Array(1024).fill(-1);
  #nodes = 1; // node 0: the root, length 0

  constructor(width: 32 | 128) {
    this.#width = width;
  }

  get nodes(): number {
    return this.#nodes;
  }

  /** Inserts a prefix whose host bits are clear. */
  insert(w: ArrayLike<number>, bits: number, id: number): void {
    const key = [w[0]! | 0, w[1]! | 0, w[2]! | 0, w[3]! | 0] as const;
    let node = 0;
    for (;;) {
      const nl = this.#len[node]!;
      if (nl === bits) {
        this.#id[node] = id;
        return;
      }
      const b = bit(key, nl);
      const children = b === 0 ? this.#c0 : this.#c1;
      const child = children[node]!;
      if (child < 0) {
        const leaf = this.#node(key, bits, id); // may grow the arrays: index them after
        (b === 0 ? this.#c0 : this.#c1)[node] = leaf;
        return;
      }
      const cl = this.#len[child]!;
      const c = Math.min(this.#common(key, child), bits, cl);
      if (c === cl) {
        node = child;
        continue;
      }
      const mid = this.#node(key, c, c === bits ? id : -1); // may grow the arrays, as above
      (b === 0 ? this.#c0 : this.#c1)[node] = mid;
      const childKey = [this.#k0[child]!, this.#k1[child]!, this.#k2[child]!, this.#k3[child]!];
      (bit(childKey, c) === 0 ? this.#c0 : this.#c1)[mid] = child;
      if (c !== bits) {
        const leaf = this.#node(key, bits, id);
        (bit(key, c) === 0 ? this.#c0 : this.#c1)[mid] = leaf;
      }
      return;
    }
  }

  /** The id of the longest prefix holding the address, or -1. */
  longest(a: number, b: number, c: number, d: number): number {
    const k0 = this.#k0;
    const len = this.#len;
    const c0 = this.#c0;
    const c1 = this.#c1;
    const ids = this.#id;
    let best = ids[0]!;
    let node = 0;
    const width = this.#width;
    for (;;) {
      const nl = len[node]!;
      if (nl === width) break;
      const w = nl < 32 ? a : nl < 64 ? b : nl < 96 ? c : d;
      const child = ((w >>> (31 - (nl & 31))) & 1) === 0 ? c0[node]! : c1[node]!;
      if (child < 0) break;
      const cl = len[child]!;
      // Path compression skips bits: check the child's whole prefix.
      if (cl <= 32) {
        if (cl > 0 && ((a ^ k0[child]!) & (-1 << (32 - cl))) !== 0) break;
      } else if (!this.#prefixHolds(child, cl, a, b, c, d)) break;
      node = child;
      const id = ids[node]!;
      if (id >= 0) best = id;
    }
    return best;
  }

  #prefixHolds(n: number, l: number, a: number, b: number, c: number, d: number): boolean {
    const ks = [this.#k0[n]!, this.#k1[n]!, this.#k2[n]!, this.#k3[n]!];
    const ws = [a, b, c, d];
    for (let k = 0; k < 4 && l > 32 * k; k++) {
      const keep = l - 32 * k;
      const m = keep >= 32 ? -1 : -1 << (32 - keep);
      if (((ws[k]! ^ ks[k]!) & m) !== 0) return false;
    }
    return true;
  }

  #common(key: readonly number[], n: number): number {
    const ks = [this.#k0[n]!, this.#k1[n]!, this.#k2[n]!, this.#k3[n]!];
    for (let k = 0; k < 4; k++) {
      const x = key[k]! ^ ks[k]!;
      if (x !== 0) return 32 * k + Math.clz32(x);
    }
    return 128;
  }

  #node(key: readonly number[], bits: number, id: number): number {
    if (this.#nodes === this.#len.length) this.#grow();
    const n = this.#nodes++;
    const masked = key.map((w, k) => {
      const keep = bits - 32 * k;
      return keep >= 32 ? w : keep <= 0 ? 0 : w & (-1 << (32 - keep));
    });
    this.#k0[n] = masked[0]!;
    this.#k1[n] = masked[1]!;
    this.#k2[n] = masked[2]!;
    this.#k3[n] = masked[3]!;
    this.#len[n] = bits;
    this.#id[n] = id;
    return n;
  }

  #grow(): void {
    const size = this.#len.length * 2;
    const grow32 = (old: Int32Array, fill = 0): Int32Array<ArrayBuffer> => {
      const next = new Int32Array(size).fill(fill);
      next.set(old);
      return next;
    };
    this.#k0 = grow32(this.#k0);
    this.#k1 = grow32(this.#k1);
    this.#k2 = grow32(this.#k2);
    this.#k3 = grow32(this.#k3);
    const len = new Uint8Array(size);
    len.set(this.#len);
    this.#len = len;
    this.#c0 = grow32(this.#c0, -1);
    this.#c1 = grow32(this.#c1, -1);
    this.#id = grow32(this.#id, -1);
  }

  /** Bytes held by the node arrays. */
  get bytes(): number {
    return this.#len.length * (4 * 7 + 1);
  }
}

const bit = (key: readonly number[], i: number): number => (key[i >>> 5]! >>> (31 - (i & 31))) & 1;
