/** A bounded set of recent keys, for "seen this already?" questions: the oldest go first. */
export class RecentKeys {
  readonly #set = new Set<string>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  /** True the first time `key` is added (while it is still remembered). */
  add(key: string): boolean {
    if (this.#set.has(key)) return false;
    if (this.#set.size >= this.#max) {
      const oldest = this.#set.values().next();
      if (oldest.done !== true) this.#set.delete(oldest.value);
    }
    this.#set.add(key);
    return true;
  }

  /** Forgets `key`: something added for a while that did not happen after all. */
  delete(key: string): void {
    this.#set.delete(key);
  }
}
