/**
 * Keys to dense slot numbers, at most `maxKeys` of them, in least-recently-used order (a doubly
 * linked list in typed arrays, so touching a key allocates nothing). The tail is both the key
 * to evict when full and the first to expire, so expired keys are swept a few at a time from
 * the tail on each touch: no scan of the whole table, ever.
 */
export class KeyIndex {
  readonly #maxKeys: number;
  readonly #onGrow: (capacity: number) => void;
  readonly #onRemove: ((id: number) => void) | undefined;
  readonly #ids = new Map<string, number>();
  #keys: (string | undefined)[] = [];
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

  /** `onGrow` sizes the owner's per-id arrays; `onRemove` lets it drop what an id held. */
  constructor(
    maxKeys: number,
    onGrow: (capacity: number) => void,
    onRemove?: (id: number) => void,
  ) {
    this.#maxKeys = maxKeys;
    this.#onGrow = onGrow;
    this.#onRemove = onRemove;
    const capacity = Math.min(maxKeys, 1024);
    this.#prev = new Int32Array(capacity);
    this.#next = new Int32Array(capacity);
    this.#last = new Float64Array(capacity);
    onGrow(capacity);
  }

  get size(): number {
    return this.#ids.size;
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
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#allocate();
      this.#ids.set(key, id);
      this.#keys[id] = key;
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
    return this.#ids.get(key);
  }

  /** The least recently touched id, or -1. */
  get oldest(): number {
    return this.#tail;
  }

  remove(id: number): void {
    const key = this.#keys[id];
    if (key === undefined) return;
    this.#ids.delete(key);
    this.#keys[id] = undefined;
    this.#unlink(id);
    this.#free.push(id);
    this.#onRemove?.(id);
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
    return this.#used++;
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
    this.#onGrow(capacity);
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
