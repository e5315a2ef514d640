/**
 * Time is injected. Detection never reads the wall clock: live mode passes a SystemClock,
 * replay passes a ManualClock moved forward by the events' own times, and both reach the
 * same decisions.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A clock that only moves when told to, and never backwards. */
export class ManualClock implements Clock {
  #now: number;
  constructor(start = 0) {
    this.#now = start;
  }
  now(): number {
    return this.#now;
  }
  /** Moves to `t` if it is later than the current time. */
  advance(t: number): void {
    if (t > this.#now) this.#now = t;
  }
}
