const UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

/** Parses `500ms`, `30s`, `10m`, `4h`, `7d`, `2w` (or a compound like `1h30m`) to milliseconds. */
/**
 * The longest a decision may last: 100 years. A bouncer reads a decision's time left as a Go
 * duration, which ends at 292 years; a date past year 275,760 is no date at all. Longer is
 * written as no expiry (null).
 */
export const MAX_DECISION_MS = 100 * 365 * 86_400_000;

export function parseDuration(text: string): number | undefined {
  const parts = text.trim().match(/\d+(?:\.\d+)?(?:ms|s|m|h|d|w)/g);
  if (!parts || parts.join("") !== text.trim()) return undefined;
  let total = 0;
  for (const p of parts) {
    const m = DURATION.exec(p);
    if (!m) return undefined;
    total += Number(m[1]) * UNITS[m[2]!]!;
  }
  return total;
}

/** Renders milliseconds as the largest whole unit (`4h`, `90s`), for messages. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ["w", 604_800_000],
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
