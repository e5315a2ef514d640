import { KeyIndex } from "../limits/key-index.ts";

/**
 * Remembers which keys were already used, so a proof of work is accepted once. Atomic: of two
 * concurrent claims of one key, exactly one answers true — in memory (one process) or in Redis
 * (several nodes).
 */
export interface OnceStore {
  /**
   * Claims `key` until `expiresAt` (ms, on the injected clock). True the first time; false when
   * the key is already claimed and not yet expired, or when `expiresAt <= now` (nothing left to
   * protect, and an expired claim must never pass). Rejects only when the store itself fails.
   */
  claim(key: string, expiresAt: number, now: number): Promise<boolean>;
}

export interface MemoryOnceStoreOptions {
  /** Most keys held; past it the oldest claim is forgotten (default 200,000). */
  readonly maxEntries?: number;
}

/**
 * One process's claims in a `KeyIndex`, in the order they were made, each with its expiry as
 * its latest slot: no heap object per claim (bench/RESULTS.md, "Proof-of-work claims outside
 * the heap"). Expired claims are swept from the oldest on each claim (claims mostly expire in
 * the order they were made), and all of them when the store is full, at most once per eighth
 * of its size in claims: a full store of live claims must not cost a walk of them all on
 * every claim. Still full, the oldest claim is forgotten rather than anyone refused.
 */
export class MemoryOnceStore implements OnceStore {
  readonly #claims: KeyIndex;
  readonly #max: number;
  /** Claims made room for since the last sweep of the whole store. */
  #sinceFullSweep = Infinity;

  constructor(options: MemoryOnceStoreOptions = {}) {
    this.#max = Math.max(1, options.maxEntries ?? 200_000);
    // An ALTCHA signature (64 hex digits) is held in place.
    this.#claims = new KeyIndex(this.#max, () => undefined, undefined, { keyBytes: 64 });
  }

  get size(): number {
    return this.#claims.size;
  }

  claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    return Promise.resolve(this.claimSync(key, expiresAt, now));
  }

  /** The same as claim(), synchronous: nothing can interleave between the check and the set. */
  claimSync(key: string, expiresAt: number, now: number): boolean {
    if (!(expiresAt > now)) return false;
    const claims = this.#claims;
    claims.sweep(now, Infinity);
    const id = claims.peek(key);
    if (id !== undefined) {
      if (claims.lastOf(id) > now) return false;
      claims.remove(id);
    }
    if (claims.size >= this.#max && ++this.#sinceFullSweep > this.#max / 8) {
      this.#sinceFullSweep = 0;
      claims.sweepAll(now);
    }
    // Still full: the index forgets the oldest claim to make room.
    claims.touch(key, expiresAt);
    return true;
  }
}
