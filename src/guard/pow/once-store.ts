import { MapFront } from "../map-front.ts";

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
 * One process's claims in a Map, in insertion order. Expired entries are swept from the front
 * on each claim (claims mostly expire in the order they were made), and all of them when the
 * map is full, at most once per eighth of its size in claims: a full map of live claims must
 * not cost a scan of the whole map on every claim.
 */
export class MemoryOnceStore implements OnceStore {
  readonly #entries = new Map<string, number>();
  readonly #front = new MapFront(this.#entries);
  readonly #max: number;
  /** Claims made room for since the last sweep of the whole map. */
  #sinceFullSweep = Infinity;

  constructor(options: MemoryOnceStoreOptions = {}) {
    this.#max = Math.max(1, options.maxEntries ?? 200_000);
  }

  get size(): number {
    return this.#entries.size;
  }

  claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    return Promise.resolve(this.claimSync(key, expiresAt, now));
  }

  /** The same as claim(), synchronous: nothing can interleave between the check and the set. */
  claimSync(key: string, expiresAt: number, now: number): boolean {
    if (!(expiresAt > now)) return false;
    this.#sweepFront(now);
    const held = this.#entries.get(key);
    if (held !== undefined && held > now) return false;
    if (held !== undefined) this.#entries.delete(key);
    if (this.#entries.size >= this.#max) this.#makeRoom(now);
    this.#entries.set(key, expiresAt);
    return true;
  }

  #sweepFront(now: number): void {
    for (let e = this.#front.peek(); e !== undefined && e[1] <= now; e = this.#front.peek())
      this.#front.shift();
  }

  #makeRoom(now: number): void {
    if (++this.#sinceFullSweep > this.#max / 8) {
      this.#sinceFullSweep = 0;
      for (const [key, expiresAt] of this.#entries) {
        if (expiresAt <= now) this.#entries.delete(key);
      }
    }
    // Still full: forget the oldest claim (the nearest to its expiry) rather than refuse people.
    if (this.#entries.size >= this.#max) this.#front.shift();
  }
}
