/** The shape both counters take: a window cut into slots, and an exact bound per key. */
export interface WindowShapeOptions {
  /** The window, ms. It is cut into `slots` slots; counts are exact to one slot. */
  readonly windowMs: number;
  /** 1 … 1,000; 10 to 60 is the useful range. */
  readonly slots: number;
  /** Members counted exactly per key before the estimate takes over (default 64, at least 1). */
  readonly exactBound?: number;
}

export interface WindowShape {
  readonly slotMs: number;
  readonly exactBound: number;
}

/** The options' shape, or a RangeError that says which option is wrong. */
export function windowShape(options: WindowShapeOptions): WindowShape {
  const { windowMs, slots, exactBound = 64 } = options;
  if (!(windowMs > 0) || !Number.isInteger(slots) || slots < 1 || slots > 1000)
    throw new RangeError("windowMs must be > 0 and slots an integer in 1 … 1000");
  if (!Number.isInteger(exactBound) || exactBound < 1)
    throw new RangeError("exactBound must be a positive integer");
  return { slotMs: windowMs / slots, exactBound };
}
