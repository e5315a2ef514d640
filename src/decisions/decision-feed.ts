/**
 * The ordered stream of changes to the active decisions: what enforcers apply as deltas, and
 * what the CrowdSec-compatible stream gives each bouncer since its last pull. Kept in memory as
 * a bounded ring; a reader whose cursor fell out of the ring starts over from the whole set.
 */
import type { Decision, DecisionChange } from "../core/index.ts";

export class DecisionFeed {
  readonly #ring: DecisionChange[] = [];
  readonly #capacity: number;
  #seq = 0;
  readonly #listeners = new Set<(change: DecisionChange) => void>();

  constructor(capacity = 1_000_000) {
    this.#capacity = capacity;
  }

  /** The sequence number of the last change (0 before any). */
  get head(): number {
    return this.#seq;
  }

  /** The oldest sequence number still held; a cursor before it must start over. */
  get tail(): number {
    return this.#ring[0]?.seq ?? this.#seq + 1;
  }

  push(kind: DecisionChange["kind"], decision: Decision, at: number): DecisionChange {
    const change: DecisionChange = Object.freeze({ seq: ++this.#seq, kind, decision, at });
    this.#ring.push(change);
    if (this.#ring.length > this.#capacity)
      this.#ring.splice(0, this.#ring.length - this.#capacity);
    for (const l of this.#listeners) l(change);
    return change;
  }

  /**
   * The changes after `cursor`, or undefined when some of them are no longer held (the caller
   * then resends the whole active set).
   */
  since(cursor: number): readonly DecisionChange[] | undefined {
    if (cursor >= this.#seq) return [];
    if (cursor + 1 < this.tail) return undefined;
    // Sequence numbers are dense, so the position is arithmetic.
    return this.#ring.slice(cursor + 1 - this.tail);
  }

  subscribe(listener: (change: DecisionChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
