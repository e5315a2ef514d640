/**
 * Small scanning helpers shared by the log parsers. They work on (string, index) pairs so the
 * hot path slices only the pieces an event keeps.
 */
import { ok, type Result } from "../core/result.ts";
import type { Event, EventDraft, FieldValue } from "../core/event.ts";
import type { LineOrigin, SyslogRecord } from "../core/ports.ts";

/** The result of a line understood but carrying nothing: shared, so ignoring a line is free. */
export const NOTHING: Result<readonly Event[]> = Object.freeze(ok(Object.freeze([])));

/** Two decimal digits at `i`, or -1. */
export function digits2(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1;
  return a * 10 + b;
}

/** Four decimal digits at `i`, or -1. */
export function digits4(s: string, i: number): number {
  const hi = digits2(s, i);
  const lo = digits2(s, i + 2);
  return hi < 0 || lo < 0 ? -1 : hi * 100 + lo;
}

/** A run of decimal digits in [start, end) as a number, or -1 when empty, not digits or > 2^53. */
export function parseUint(s: string, start: number, end: number): number {
  if (end <= start || end - start > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Where the run of decimal digits starting at `i` ends. */
export function digitsEnd(s: string, i: number): number {
  let j = i;
  for (; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c < 48 || c > 57) break;
  }
  return j;
}

/** Index of `ch` (a char code) from `from`, or -1. */
export function indexOfCode(s: string, ch: number, from: number): number {
  for (let i = from; i < s.length; i++) if (s.charCodeAt(i) === ch) return i;
  return -1;
}

const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether y-m-d (m 1-based) is a calendar date. */
export function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  if (d <= 28) return true;
  if (m === 2 && d === 29) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  return d <= MONTH_DAYS[m - 1]!;
}

/**
 * Three-letter English month name at `i` (case-sensitive, as every log writes them) → 0-11,
 * or -1. A switch on the first letter, so no substring is made.
 */
export function monthAt(s: string, i: number): number {
  const a = s.charCodeAt(i);
  const b = s.charCodeAt(i + 1);
  const c = s.charCodeAt(i + 2);
  switch (a) {
    case 74: // J
      if (b === 97 && c === 110) return 0; // Jan
      if (b === 117 && c === 110) return 5; // Jun
      if (b === 117 && c === 108) return 6; // Jul
      return -1;
    case 70: // F
      return b === 101 && c === 98 ? 1 : -1;
    case 77: // M
      if (b === 97 && c === 114) return 2; // Mar
      if (b === 97 && c === 121) return 4; // May
      return -1;
    case 65: // A
      if (b === 112 && c === 114) return 3; // Apr
      if (b === 117 && c === 103) return 7; // Aug
      return -1;
    case 83: // S
      return b === 101 && c === 112 ? 8 : -1;
    case 79: // O
      return b === 99 && c === 116 ? 9 : -1;
    case 78: // N
      return b === 111 && c === 118 ? 10 : -1;
    case 68: // D
      return b === 101 && c === 99 ? 11 : -1;
    default:
      return -1;
  }
}

/**
 * Fractional seconds `.ddd…` at `i` (any length) → whole milliseconds, written to `out[0]`;
 * returns where they end (`i` when there is no fraction).
 */
export function fractionAt(s: string, i: number, out: number[]): number {
  out[0] = 0;
  if (s.charCodeAt(i) !== 46 /* . */) return i;
  let j = i + 1;
  let ms = 0;
  let scale = 100;
  for (; j < s.length; j++) {
    const d = s.charCodeAt(j) - 48;
    if (d < 0 || d > 9) break;
    if (scale >= 1) ms += d * scale;
    scale /= 10;
  }
  if (j === i + 1) return -1;
  out[0] = Math.floor(ms);
  return j;
}

/** Builds an event without writing absent optional members (exactOptionalPropertyTypes). */
export function makeEvent(
  id: string,
  type: string,
  time: number,
  tzOffset: number,
  service: string,
  ip: string | undefined,
  account: string | undefined,
  email: string | undefined,
  fields: Readonly<Record<string, FieldValue>>,
): Event {
  const e: EventDraft = { id, type, time, tzOffset, service, fields };
  if (ip !== undefined) e.ip = ip;
  if (account !== undefined) e.account = account;
  if (email !== undefined) e.email = email;
  return e;
}

/** The event of a syslog record, with the stable id of the line it came from. */
export function recordEvent(
  origin: LineOrigin,
  type: string,
  record: SyslogRecord,
  service: string,
  ip: string | undefined,
  account: string | undefined,
  email: string | undefined,
  fields: Readonly<Record<string, FieldValue>>,
): Event {
  return makeEvent(
    `${origin.source}:${origin.offset}`,
    type,
    record.time,
    record.tzOffset,
    service,
    ip,
    // Mail logins are compared without case, as Dovecot does by default (auth_username_format
    // %Lu): a thief must not split an account's count by writing it Victim@ and victim@.
    account?.toLowerCase(),
    email,
    fields,
  );
}
