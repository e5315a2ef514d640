/**
 * A sliding-window HyperLogLog: one small sketch per slot of the window and their union, kept
 * up to date as members arrive, so that a count costs a few dozen operations instead of a pass
 * over every register. Precision 12 (4,096 one-byte registers): standard error about 1.6 %.
 * The cardinality comes from Ertl's improved estimator ("New cardinality estimation algorithms
 * for HyperLogLog sketches", 2017), which needs no bias tables and is unbiased from 0 up.
 */

export const HLL_PRECISION = 12;
const M = 1 << HLL_PRECISION;
/** Bits left for the rank: the rank is 1 + the leading zeros of a 32-bit word, so 1..33. */
const Q = 32;
/** A slot's sketch turns dense when its sparse list would outgrow the registers. */
const SPARSE_MAX = M / 4;

/**
 * The two 32-bit lanes of the last member `hashMember` hashed (a module scratch: no
 * allocation per call). Together a 64-bit hash of the string, cyrb53's mixing.
 */
export const memberHash = new Int32Array(2);

/** Hashes `member` into `memberHash`. */
export function hashMember(member: string): void {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < member.length; i++) {
    const c = member.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  memberHash[0] = h1;
  memberHash[1] = h2;
}

/**
 * A member's register and rank from its hash's lanes, packed as `register << 8 | rank`: one
 * lane picks the register, the other the rank.
 */
export function hllPositionOf(h1: number, h2: number): number {
  const register = h2 >>> (32 - HLL_PRECISION);
  return (register << 8) | (Math.clz32(h1) + 1);
}

/** A member's register and rank (`hllPositionOf` its hash). */
export function hllPosition(member: string): number {
  hashMember(member);
  return hllPositionOf(memberHash[0]!, memberHash[1]!);
}

/** Ertl's σ(x) = x + Σ x^(2^k) 2^(k-1). */
function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const before = z;
    z += x * y;
    y += y;
    if (z === before) return z;
  }
}

/** Ertl's τ(x) = (1 - x - Σ (1 - x^(2^-k))² 2^-k) / 3. */
function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const before = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z === before) return z / 3;
  }
}

const ALPHA_INF = 1 / (2 * Math.LN2);

/** The estimate from a histogram of register values (`hist[k]` = registers equal to k). */
export function hllEstimate(hist: Int32Array): number {
  let z = M * tau(1 - hist[Q + 1]! / M);
  for (let k = Q; k >= 1; k--) z = 0.5 * (z + hist[k]!);
  z += M * sigma(hist[0]! / M);
  return Math.round((ALPHA_INF * M * M) / z);
}

/** One slot's members, as (register, rank) pairs while few, then as dense registers. */
class SlotSketch {
  slot = -Infinity;
  sparse: Uint32Array = new Uint32Array(16);
  sparseLength = 0;
  dense: Uint8Array | undefined;

  get empty(): boolean {
    return this.sparseLength === 0 && this.dense === undefined;
  }

  clear(slot: number): void {
    this.slot = slot;
    this.sparseLength = 0;
    this.dense = undefined;
  }

  add(position: number): void {
    if (this.dense !== undefined) {
      const r = position >>> 8;
      const rank = position & 0xff;
      if (rank > this.dense[r]!) this.dense[r] = rank;
      return;
    }
    if (this.sparseLength === SPARSE_MAX) {
      const dense = new Uint8Array(M);
      for (let i = 0; i < this.sparseLength; i++) {
        const p = this.sparse[i]!;
        const r = p >>> 8;
        if ((p & 0xff) > dense[r]!) dense[r] = p & 0xff;
      }
      this.dense = dense;
      this.sparse = new Uint32Array(16);
      this.sparseLength = 0;
      this.add(position);
      return;
    }
    if (this.sparseLength === this.sparse.length) {
      const grown = new Uint32Array(this.sparse.length * 2);
      grown.set(this.sparse);
      this.sparse = grown;
    }
    this.sparse[this.sparseLength++] = position;
  }

  /** Raises `union`'s registers to this slot's. */
  mergeInto(union: Uint8Array): void {
    if (this.dense !== undefined) {
      const d = this.dense;
      for (let r = 0; r < M; r++) if (d[r]! > union[r]!) union[r] = d[r]!;
      return;
    }
    for (let i = 0; i < this.sparseLength; i++) {
      const p = this.sparse[i]!;
      const r = p >>> 8;
      if ((p & 0xff) > union[r]!) union[r] = p & 0xff;
    }
  }

  /** Bytes held, for the memory bound. */
  get bytes(): number {
    return this.sparse.byteLength + (this.dense?.byteLength ?? 0);
  }
}

/**
 * Distinct members over the last `slots` slots. The union of the live slots and its register
 * histogram are updated on every add; when a slot leaves the window the union is rebuilt from
 * the slots still in it (at most once per slot that passes, O(slots × 4,096)).
 */
export class SlidingSketch {
  readonly #slots: number;
  readonly #cells: SlotSketch[];
  readonly #union = new Uint8Array(M);
  readonly #hist = new Int32Array(Q + 2);
  #head = -Infinity;

  constructor(slots: number) {
    this.#slots = slots;
    this.#cells = Array.from({ length: slots }, () => new SlotSketch());
    this.#hist[0] = M;
  }

  /** The latest slot a member arrived in. */
  get head(): number {
    return this.#head;
  }

  /**
   * Adds a member (its `hllPosition`) seen in `slot`; a slot older than the window ending at
   * the latest slot seen is ignored. Answers the estimate over that window.
   */
  add(position: number, slot: number): number {
    if (slot > this.#head) this.#advance(slot);
    else if (slot <= this.#head - this.#slots) return this.estimate();
    const cell = this.#cells[slot % this.#slots]!;
    if (cell.slot !== slot) cell.clear(slot);
    cell.add(position);
    const r = position >>> 8;
    const rank = position & 0xff;
    const old = this.#union[r]!;
    if (rank > old) {
      this.#union[r] = rank;
      this.#hist[old]!--;
      this.#hist[rank]!++;
    }
    return this.estimate();
  }

  estimate(): number {
    return hllEstimate(this.#hist);
  }

  /** Bytes held by the slots' sketches and the union. */
  get bytes(): number {
    let n = M + this.#hist.byteLength;
    for (const c of this.#cells) n += c.bytes;
    return n;
  }

  #advance(slot: number): void {
    this.#head = slot;
    let dropped = false;
    for (const cell of this.#cells) {
      if (cell.slot <= slot - this.#slots && cell.slot !== -Infinity) {
        dropped ||= !cell.empty;
        cell.clear(-Infinity);
      }
    }
    if (!dropped) return;
    this.#union.fill(0);
    for (const cell of this.#cells) cell.mergeInto(this.#union);
    this.#hist.fill(0);
    for (let r = 0; r < M; r++) this.#hist[this.#union[r]!]!++;
  }
}
