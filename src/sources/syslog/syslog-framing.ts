import type { ParserOptions, SyslogRecord } from "../../core/ports.ts";
import { digits2, digits4, fractionAt, monthAt, parseUint, validDate } from "../scan.ts";
import { ZoneOffsets } from "./zone-offsets.ts";

/**
 * Removes the framing of one syslog line: an optional `<PRI>`, then either a BSD timestamp
 * (`Sep  8 13:01:07`, no year, no zone), an RFC 3339 one (`2024-09-28T13:01:07.123+02:00`), or an
 * RFC 5424 header (`1 2024-09-28T13:01:07Z host app procid msgid [sd] msg`).
 *
 * Stateful: BSD lines carry no year, so the framer keeps the year of the stream and moves it
 * on when the months wrap (December → January). One framer per stream.
 */
export class SyslogFramer {
  /** Why the last `frame` returned null. */
  error = "";
  readonly #zone: ZoneOffsets;
  readonly #fixedYear: number | undefined;
  readonly #now: () => number;
  #year = 0;
  #lastMonth = -1;
  readonly #frac = [0];
  // RFC 3339 results, to return two numbers without allocating.
  #time = 0;
  #offset = 0;

  constructor(options: ParserOptions = {}) {
    this.#zone = new ZoneOffsets(options.timeZone);
    this.#fixedYear = options.year;
    this.#now = options.now ?? Date.now;
  }

  frame(line: string): SyslogRecord | null {
    let p = 0;
    // <PRI>
    if (line.charCodeAt(0) === 60 /* < */) {
      const close = line.indexOf(">", 1);
      const pri = parseUint(line, 1, close);
      if (close < 2 || close > 4 || pri < 0 || pri > 191) return this.#fail("bad <PRI>");
      p = close + 1;
      // RFC 5424: VERSION SP
      const c = line.charCodeAt(p);
      if (c >= 49 && c <= 57 && line.charCodeAt(p + 1) === 32) return this.#rfc5424(line, p + 2);
    }
    const month = monthAt(line, p);
    if (month >= 0) return this.#bsd(line, p, month);
    if (this.#rfc3339(line, p)) {
      const end = p + this.#rfc3339Length;
      if (line.charCodeAt(end) !== 32) return this.#fail("no space after the timestamp");
      return this.#hostAndTag(line, end + 1, this.#time, this.#offset);
    }
    return this.#fail("no syslog timestamp");
  }

  #fail(why: string): null {
    this.error = why;
    return null;
  }

  #bsd(line: string, p: number, month: number): SyslogRecord | null {
    // "Sep 28 13:01:07 " or "Sep  8 13:01:07 "
    if (line.charCodeAt(p + 3) !== 32) return this.#fail("bad BSD timestamp");
    let day: number;
    if (line.charCodeAt(p + 4) === 32) {
      const d = line.charCodeAt(p + 5) - 48;
      day = d >= 1 && d <= 9 ? d : -1;
    } else day = digits2(line, p + 4);
    const hh = digits2(line, p + 7);
    const mm = digits2(line, p + 10);
    const ss = digits2(line, p + 13);
    if (
      day < 1 ||
      hh < 0 ||
      hh > 23 ||
      mm < 0 ||
      mm > 59 ||
      ss < 0 ||
      ss > 60 ||
      line.charCodeAt(p + 6) !== 32 ||
      line.charCodeAt(p + 9) !== 58 ||
      line.charCodeAt(p + 12) !== 58
    ) {
      return this.#fail("bad BSD timestamp");
    }
    let q = p + 15;
    let ms = 0;
    // Some daemons write `13:01:07.123`.
    if (line.charCodeAt(q) === 46) {
      q = fractionAt(line, q, this.#frac);
      if (q < 0) return this.#fail("bad BSD timestamp");
      ms = this.#frac[0]!;
    }
    if (line.charCodeAt(q) !== 32) return this.#fail("bad BSD timestamp");
    const year = this.#yearFor(month);
    if (!validDate(year, month + 1, day)) return this.#fail("no such date");
    const local = Date.UTC(year, month, day, hh, mm, ss === 60 ? 59 : ss, ms);
    const offset = this.#zone.offsetAtLocal(local);
    return this.#hostAndTag(line, q + 1, local - offset * 60_000, offset);
  }

  /** The year of a BSD line in `month`: fixed or inferred once, then moved on when months wrap. */
  #yearFor(month: number): number {
    if (this.#lastMonth < 0) {
      if (this.#fixedYear !== undefined) this.#year = this.#fixedYear;
      else {
        const now = this.#now();
        const local = new Date(now + this.#zone.offsetAt(now) * 60_000);
        const thisMonth = local.getUTCMonth();
        this.#year = local.getUTCFullYear() - (month > thisMonth + 1 ? 1 : 0);
      }
    } else if (month < this.#lastMonth - 6) this.#year++;
    else if (month > this.#lastMonth + 6) this.#year--; // a late line from the old year
    this.#lastMonth = month;
    return this.#year;
  }

  #rfc3339Length = 0;

  /** Reads `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM|±HHMM)` at `p` into #time/#offset/#rfc3339Length. */
  #rfc3339(line: string, p: number): boolean {
    const y = digits4(line, p);
    const mo = digits2(line, p + 5);
    const d = digits2(line, p + 8);
    const hh = digits2(line, p + 11);
    const mi = digits2(line, p + 14);
    const ss = digits2(line, p + 17);
    if (
      y < 0 ||
      line.charCodeAt(p + 4) !== 45 ||
      line.charCodeAt(p + 7) !== 45 ||
      (line.charCodeAt(p + 10) | 0x20) !== 116 /* T or t */ ||
      line.charCodeAt(p + 13) !== 58 ||
      line.charCodeAt(p + 16) !== 58 ||
      !validDate(y, mo, d) ||
      hh < 0 ||
      hh > 23 ||
      mi < 0 ||
      mi > 59 ||
      ss < 0 ||
      ss > 60
    ) {
      return false;
    }
    const q = fractionAt(line, p + 19, this.#frac);
    if (q < 0) return false;
    let offset: number;
    let end: number;
    const z = line.charCodeAt(q);
    if ((z | 0x20) === 122 /* Z or z */) {
      offset = 0;
      end = q + 1;
    } else if (z === 43 || z === 45) {
      // ±HH:MM (RFC 3339), or ±HHMM as `journalctl -o short-iso` and ISO 8601's basic form write.
      const colon = line.charCodeAt(q + 3) === 58 ? 1 : 0;
      const oh = digits2(line, q + 1);
      const om = digits2(line, q + 3 + colon);
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return false;
      offset = (z === 45 ? -1 : 1) * (oh * 60 + om);
      end = q + 5 + colon;
    } else return false;
    this.#offset = offset;
    this.#time =
      Date.UTC(y, mo - 1, d, hh, mi, ss === 60 ? 59 : ss, this.#frac[0]) - offset * 60_000;
    this.#rfc3339Length = end - p;
    return true;
  }

  /** `host tag[pid]: message`, or `tag[pid]: message` from daemons that omit the host. */
  #hostAndTag(line: string, p: number, time: number, tzOffset: number): SyslogRecord | null {
    let sp = line.indexOf(" ", p);
    if (sp < 0) sp = line.length;
    let host = "";
    let t = p;
    if (line.charCodeAt(sp - 1) !== 58 /* : */) {
      host = line.slice(p, sp);
      t = sp + 1;
    }
    // tag: up to '[' or ':' (no space in between)
    let i = t;
    for (; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (c === 91 /* [ */ || c === 58 /* : */ || c === 32) break;
    }
    const c = line.charCodeAt(i);
    if (c === 32 || i >= line.length || i === t) {
      // No tag ("last message repeated 3 times"): the whole rest is the message.
      return { time, tzOffset, host, program: "", message: line.slice(t) };
    }
    const program = line.slice(t, i);
    let pid: number | undefined;
    if (c === 91) {
      const close = line.indexOf("]", i + 1);
      if (close < 0) return { time, tzOffset, host, program: "", message: line.slice(t) };
      const n = parseUint(line, i + 1, close);
      if (n >= 0) pid = n;
      i = close + 1;
      if (line.charCodeAt(i) !== 58) {
        return { time, tzOffset, host, program: "", message: line.slice(t) };
      }
    }
    i++; // ':'
    if (line.charCodeAt(i) === 32) i++;
    const message = line.slice(i);
    return pid === undefined
      ? { time, tzOffset, host, program, message }
      : { time, tzOffset, host, program, pid, message };
  }

  /** RFC 5424 after `<PRI>VERSION `: TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]. */
  #rfc5424(line: string, p: number): SyslogRecord | null {
    if (line.charCodeAt(p) === 45 /* - */) return this.#fail("RFC 5424 line without a timestamp");
    if (!this.#rfc3339(line, p)) return this.#fail("bad RFC 5424 timestamp");
    let i = p + this.#rfc3339Length;
    if (line.charCodeAt(i) !== 32) return this.#fail("bad RFC 5424 header");
    const fields: string[] = [];
    for (let k = 0; k < 4; k++) {
      const start = i + 1;
      const sp = line.indexOf(" ", start);
      if (sp < 0) return this.#fail("bad RFC 5424 header");
      fields.push(line.slice(start, sp));
      i = sp;
    }
    // STRUCTURED-DATA: "-" or one or more [id param="value" ...] with \" \] \\ escapes.
    i++;
    if (line.charCodeAt(i) === 45) i++;
    else {
      if (line.charCodeAt(i) !== 91) return this.#fail("bad RFC 5424 structured data");
      while (line.charCodeAt(i) === 91) {
        let inQuote = false;
        let j = i + 1;
        for (; j < line.length; j++) {
          const c = line.charCodeAt(j);
          if (inQuote) {
            if (c === 92) j++;
            else if (c === 34) inQuote = false;
          } else if (c === 34) inQuote = true;
          else if (c === 93) break;
        }
        if (j >= line.length) return this.#fail("unterminated RFC 5424 structured data");
        i = j + 1;
      }
    }
    let message = "";
    if (i < line.length) {
      if (line.charCodeAt(i) !== 32) return this.#fail("bad RFC 5424 structured data");
      i++;
      if (line.charCodeAt(i) === 0xfeff) i++; // BOM
      message = line.slice(i);
    }
    const nil = (s: string): string => (s === "-" ? "" : s);
    const host = nil(fields[0]!);
    const program = nil(fields[1]!);
    const pid = parseUint(fields[2]!, 0, fields[2]!.length);
    const time = this.#time;
    const tzOffset = this.#offset;
    return pid >= 0
      ? { time, tzOffset, host, program, pid, message }
      : { time, tzOffset, host, program, message };
  }
}
