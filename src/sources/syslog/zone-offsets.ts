import { RempartError } from "../../core/errors.ts";

const HOUR = 3_600_000;
const CACHE_LIMIT = 4096;

/**
 * UTC offsets of one IANA zone, for timestamps written without one (BSD syslog). Intl is slow
 * (microseconds per call), so offsets are cached per local hour: zones change offset on whole
 * hours, and a log stream stays within a few hours at a time.
 */
export class ZoneOffsets {
  readonly timeZone: string;
  readonly #format: Intl.DateTimeFormat;
  readonly #byLocalHour = new Map<number, number>();

  /** Throws CONFIG_INVALID for a zone Intl does not know (configuration, checked at load). */
  constructor(timeZone?: string) {
    try {
      this.#format = new Intl.DateTimeFormat("en-US", {
        ...(timeZone === undefined ? {} : { timeZone }),
        timeZoneName: "longOffset",
      });
    } catch (cause) {
      throw new RempartError("CONFIG_INVALID", `unknown time zone ${JSON.stringify(timeZone)}`, {
        cause,
        hint: "use an IANA zone name such as Europe/Paris or UTC",
      });
    }
    this.timeZone = this.#format.resolvedOptions().timeZone;
  }

  /** The offset from UTC, in minutes, in force at instant `utc` (ms since the epoch). */
  offsetAt(utc: number): number {
    if (!Number.isFinite(utc)) return 0;
    for (const part of this.#format.formatToParts(utc)) {
      if (part.type !== "timeZoneName") continue;
      // "GMT", "GMT+02:00", "GMT-09:30"
      const v = part.value;
      if (v.length < 9) return 0;
      const sign = v.charCodeAt(3) === 45 ? -1 : 1;
      return sign * (Number(v.slice(4, 6)) * 60 + Number(v.slice(7, 9)));
    }
    return 0;
  }

  /**
   * The offset in force at a wall-clock time, given as the ms value it would have in UTC. In a
   * gap (spring forward) the later offset wins; in an overlap (fall back) the earlier one.
   */
  offsetAtLocal(local: number): number {
    const key = Math.floor(local / HOUR);
    const hit = this.#byLocalHour.get(key);
    if (hit !== undefined) return hit;
    const first = this.offsetAt(local);
    let offset = this.offsetAt(local - first * 60_000);
    if (offset !== first) {
      const again = this.offsetAt(local - offset * 60_000);
      if (again !== offset) offset = Math.max(offset, again);
    }
    if (this.#byLocalHour.size >= CACHE_LIMIT) this.#byLocalHour.clear();
    this.#byLocalHour.set(key, offset);
    return offset;
  }
}
