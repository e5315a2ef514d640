import type { Event, FieldValue } from "../../core/event.ts";
import type { LineOrigin, LineParser, ParserOptions, ParserPlugin } from "../../core/ports.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { RempartError } from "../../core/errors.ts";
import { normalizeIp } from "../../net/ip.ts";
import { digits2, digits4, fractionAt, makeEvent, monthAt, parseUint, validDate } from "../scan.ts";

type Events = Result<readonly Event[]>;

const failure = (message: string, offset: number): Events =>
  err({ code: "HTTP_ACCESS_UNREADABLE", message, offset });

/** What one line said, before it becomes an event (reused: one per parser). */
interface Parts {
  ip: string | undefined;
  user: string;
  time: number;
  tzOffset: number;
  request: string | null;
  method: string | null;
  path: string | null;
  protocol: string | null;
  status: number | null;
  bytes: number | null;
  referer: string | null;
  userAgent: string | null;
  host: string | null;
  requestTime: number | null;
  extra: Record<string, FieldValue> | null;
}

const frac = [0];

/** `28/Sep/2024:13:01:07 +0200` at `p` into parts.time/tzOffset; false when malformed. */
function readClf(s: string, p: number, parts: Parts): boolean {
  const d = digits2(s, p);
  const mo = monthAt(s, p + 3);
  const y = digits4(s, p + 7);
  const hh = digits2(s, p + 12);
  const mi = digits2(s, p + 15);
  const ss = digits2(s, p + 18);
  const z = s.charCodeAt(p + 21);
  const oh = digits2(s, p + 22);
  const om = digits2(s, p + 24);
  if (
    s.charCodeAt(p + 2) !== 47 ||
    s.charCodeAt(p + 6) !== 47 ||
    s.charCodeAt(p + 11) !== 58 ||
    s.charCodeAt(p + 14) !== 58 ||
    s.charCodeAt(p + 17) !== 58 ||
    s.charCodeAt(p + 20) !== 32 ||
    (z !== 43 && z !== 45) ||
    mo < 0 ||
    y < 0 ||
    !validDate(y, mo + 1, d) ||
    hh < 0 ||
    hh > 23 ||
    mi < 0 ||
    mi > 59 ||
    ss < 0 ||
    ss > 60 ||
    oh < 0 ||
    om < 0 ||
    om > 59
  ) {
    return false;
  }
  const offset = (z === 45 ? -1 : 1) * (oh * 60 + om);
  parts.tzOffset = offset;
  parts.time = Date.UTC(y, mo, d, hh, mi, ss === 60 ? 59 : ss) - offset * 60_000;
  return true;
}

/** `2024-09-28T13:01:07+02:00` (nginx $time_iso8601). */
function readIso(s: string, parts: Parts): boolean {
  const y = digits4(s, 0);
  const mo = digits2(s, 5);
  const d = digits2(s, 8);
  const hh = digits2(s, 11);
  const mi = digits2(s, 14);
  const ss = digits2(s, 17);
  if (y < 0 || !validDate(y, mo, d) || hh < 0 || hh > 23 || mi < 0 || mi > 59 || ss < 0) {
    return false;
  }
  const q = fractionAt(s, 19, frac);
  if (q < 0) return false;
  const z = s.charCodeAt(q);
  let offset = 0;
  if (z === 43 || z === 45) {
    const oh = digits2(s, q + 1);
    const om = digits2(s, q + 4);
    if (oh < 0 || om < 0 || q + 6 !== s.length) return false;
    offset = (z === 45 ? -1 : 1) * (oh * 60 + om);
  } else if (z !== 90 || q + 1 !== s.length) return false;
  parts.tzOffset = offset;
  parts.time = Date.UTC(y, mo - 1, d, hh, mi, ss > 59 ? 59 : ss, frac[0]) - offset * 60_000;
  return true;
}

/** The end of a quoted value whose opening quote is at `p - 1`: the closing `"`, or -1. */
function quotedEnd(s: string, p: number): number {
  for (let i = p; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92 /* \ */) i++;
    else if (c === 34) return i;
  }
  return -1;
}

/** Undoes Apache's `\"` and `\\` (nginx writes `\x22`, left as is). Slices only when needed. */
function unquote(s: string, start: number, end: number): string {
  const raw = s.slice(start, end);
  if (raw.indexOf("\\") < 0) return raw;
  return raw.replace(/\\(["\\])/g, "$1");
}

function splitRequest(parts: Parts, request: string): void {
  parts.request = request;
  if (request === "-" || request === "") {
    parts.method = parts.path = parts.protocol = null;
    return;
  }
  const sp = request.indexOf(" ");
  if (sp < 0) {
    parts.method = null;
    parts.path = request;
    parts.protocol = null;
    return;
  }
  parts.method = request.slice(0, sp);
  const last = request.lastIndexOf(" ");
  if (last > sp && request.startsWith("HTTP/", last + 1)) {
    parts.path = request.slice(sp + 1, last);
    parts.protocol = request.slice(last + 1);
  } else {
    parts.path = request.slice(sp + 1);
    parts.protocol = null;
  }
}

function numberOrNull(s: string): number | null {
  if (s === "-" || s === "") return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

function resetParts(parts: Parts): void {
  parts.ip = undefined;
  parts.user = "-";
  parts.time = NaN;
  parts.tzOffset = 0;
  parts.request = parts.method = parts.path = parts.protocol = null;
  parts.status = parts.bytes = parts.requestTime = null;
  parts.referer = parts.userAgent = parts.host = null;
  parts.extra = null;
}

function newParts(): Parts {
  const parts = {} as Parts;
  resetParts(parts);
  return parts;
}

function toEvent(service: string, parts: Parts, origin: LineOrigin): Event {
  const fields: Record<string, FieldValue> = {
    method: parts.method,
    path: parts.path,
    protocol: parts.protocol,
    status: parts.status,
    bytes: parts.bytes,
    referer: parts.referer,
    user_agent: parts.userAgent,
  };
  if (parts.host !== null) fields["host"] = parts.host;
  if (parts.requestTime !== null) fields["request_time"] = parts.requestTime;
  if (parts.extra !== null) Object.assign(fields, parts.extra);
  const account = parts.user === "-" || parts.user === "" ? undefined : parts.user;
  const id = `${origin.source}:${origin.offset}`;
  return makeEvent(
    id,
    "http.request",
    parts.time,
    parts.tzOffset,
    service,
    parts.ip,
    account,
    undefined,
    fields,
  );
}

/**
 * The formats both servers write by default, told apart per line: common
 * (`ip ident user [time] "request" status bytes`), combined (plus `"referer" "agent"`) and
 * Apache's vhost_combined (`host:port` first). Trailing fields (nginx additions) are ignored.
 */
class DefaultFormatParser implements LineParser {
  readonly id: string;
  readonly #service: string;
  readonly #parts = newParts();

  constructor(service: string) {
    this.id = service;
    this.#service = service;
  }

  parse(line: string, origin: LineOrigin): Events {
    const parts = this.#parts;
    resetParts(parts);
    let sp = line.indexOf(" ");
    if (sp < 0) return failure("not an access log line", origin.offset);
    let ip = normalizeIp(line.slice(0, sp));
    let p = sp + 1;
    if (ip === undefined) {
      // vhost_combined: "host:port ip …"
      let host = line.slice(0, sp);
      const colon = host.lastIndexOf(":");
      if (colon > 0 && parseUint(host, colon + 1, host.length) >= 0) host = host.slice(0, colon);
      parts.host = host;
      sp = line.indexOf(" ", p);
      if (sp < 0) return failure("not an access log line", origin.offset);
      ip = normalizeIp(line.slice(p, sp));
      if (ip === undefined) return failure("no client address", origin.offset);
      p = sp + 1;
    }
    parts.ip = ip;
    // ident, then user (which may hold spaces only in broken setups: read up to " [").
    sp = line.indexOf(" ", p);
    if (sp < 0) return failure("no user field", origin.offset);
    const open = line.indexOf(" [", sp);
    if (open < 0) return failure("no [time]", origin.offset);
    parts.user = line.slice(sp + 1, open);
    if (!readClf(line, open + 2, parts) || line.charCodeAt(open + 28) !== 93) {
      return failure("unreadable [time]", origin.offset);
    }
    p = open + 29;
    if (line.charCodeAt(p) !== 32 || line.charCodeAt(p + 1) !== 34) {
      return failure("no quoted request", origin.offset);
    }
    const reqEnd = quotedEnd(line, p + 2);
    if (reqEnd < 0) return failure("unterminated request", origin.offset);
    splitRequest(parts, unquote(line, p + 2, reqEnd));
    p = reqEnd + 2;
    sp = line.indexOf(" ", p);
    const statusEnd = sp < 0 ? line.length : sp;
    const status = parseUint(line, p, statusEnd);
    if (status < 0 && !(statusEnd === p + 1 && line.charCodeAt(p) === 45)) {
      return failure("unreadable status", origin.offset);
    }
    parts.status = status < 0 ? null : status;
    if (sp >= 0) {
      p = sp + 1;
      let e = line.indexOf(" ", p);
      if (e < 0) e = line.length;
      const bytes = parseUint(line, p, e);
      parts.bytes = bytes < 0 ? (line.charCodeAt(p) === 45 ? 0 : null) : bytes;
      p = e + 1;
      if (line.charCodeAt(p) === 34) {
        const refEnd = quotedEnd(line, p + 1);
        if (refEnd < 0) return failure("unterminated referer", origin.offset);
        parts.referer = unquote(line, p + 1, refEnd);
        p = refEnd + 2;
        if (line.charCodeAt(p) === 34) {
          const uaEnd = quotedEnd(line, p + 1);
          if (uaEnd < 0) return failure("unterminated user agent", origin.offset);
          parts.userAgent = unquote(line, p + 1, uaEnd);
        }
      }
    }
    return ok([toEvent(this.#service, parts, origin)]);
  }
}

/** One piece of a compiled `log_format`: literal text, or a variable read up to the next. */
type Segment =
  | { readonly kind: "literal"; readonly text: string }
  | { readonly kind: "var"; readonly name: string; readonly quoted: boolean };

/**
 * Compiles an nginx `log_format` (`'$remote_addr - $remote_user [$time_local] "$request" …'`,
 * quoted pieces joined as nginx does) into segments. Throws CONFIG_INVALID when unusable.
 */
export function compileLogFormat(format: string): readonly Segment[] {
  let text = format.trim();
  if (text.startsWith("'")) {
    text = [...text.matchAll(/'([^']*)'/g)].map((m) => m[1] ?? "").join("");
  }
  const segments: Segment[] = [];
  const re = /\$(?:\{([a-z0-9_]+)\}|([a-z0-9_]+))/gi;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) segments.push({ kind: "literal", text: text.slice(last, m.index) });
    const name = (m[1] ?? m[2] ?? "").toLowerCase();
    const prev = segments[segments.length - 1];
    const quoted =
      prev?.kind === "literal" && prev.text.endsWith('"') && text[m.index + m[0].length] === '"';
    if (prev?.kind === "var") {
      throw new RempartError(
        "CONFIG_INVALID",
        `log_format: $${prev.name}$${name} cannot be split`,
        {
          hint: "put a separator between two variables",
        },
      );
    }
    segments.push({ kind: "var", name, quoted });
    last = m.index + m[0].length;
  }
  if (last < text.length) segments.push({ kind: "literal", text: text.slice(last) });
  const names = segments.flatMap((s) => (s.kind === "var" ? [s.name] : []));
  if (!names.includes("remote_addr") && !names.includes("binary_remote_addr")) {
    throw new RempartError("CONFIG_INVALID", "log_format has no $remote_addr", {
      hint: "Rempart needs the client address of each request",
    });
  }
  if (!names.some((n) => n === "time_local" || n === "time_iso8601" || n === "msec")) {
    throw new RempartError("CONFIG_INVALID", "log_format has no $time_local or $time_iso8601", {
      hint: "Rempart needs the time of each request",
    });
  }
  return Object.freeze(segments);
}

/** Reads lines written with one configured `log_format`, compiled once. */
class CompiledFormatParser implements LineParser {
  readonly id: string;
  readonly #service: string;
  readonly #segments: readonly Segment[];
  readonly #parts = newParts();

  constructor(service: string, format: string) {
    this.id = service;
    this.#service = service;
    this.#segments = compileLogFormat(format);
  }

  parse(line: string, origin: LineOrigin): Events {
    const parts = this.#parts;
    resetParts(parts);
    const segs = this.#segments;
    let p = 0;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      if (seg.kind === "literal") {
        if (!line.startsWith(seg.text, p))
          return failure("line does not match log_format", origin.offset);
        p += seg.text.length;
        continue;
      }
      let end: number;
      const next = segs[i + 1];
      if (seg.quoted) end = quotedEnd(line, p);
      else if (next === undefined) end = line.length;
      else end = line.indexOf(next.kind === "literal" ? next.text : " ", p);
      if (end < 0) return failure(`no value for $${seg.name}`, origin.offset);
      const value = seg.quoted ? unquote(line, p, end) : line.slice(p, end);
      if (!this.#assign(seg.name, value, parts)) {
        return failure(`unreadable $${seg.name}`, origin.offset);
      }
      p = end;
    }
    if (parts.ip === undefined) return failure("no client address", origin.offset);
    if (Number.isNaN(parts.time)) return failure("no time", origin.offset);
    return ok([toEvent(this.#service, parts, origin)]);
  }

  #assign(name: string, value: string, parts: Parts): boolean {
    switch (name) {
      case "remote_addr":
        parts.ip = normalizeIp(value);
        return parts.ip !== undefined;
      case "remote_user":
        parts.user = value;
        return true;
      case "time_local":
        return value.length === 26 && readClf(value, 0, parts);
      case "time_iso8601":
        return readIso(value, parts);
      case "msec": {
        const t = Number(value);
        if (!Number.isFinite(t)) return false;
        if (Number.isNaN(parts.time)) parts.time = Math.round(t * 1000);
        return true;
      }
      case "request":
        splitRequest(parts, value);
        return true;
      case "request_method":
        parts.method = value;
        return true;
      case "request_uri":
        parts.path = value;
        return true;
      case "server_protocol":
        parts.protocol = value;
        return true;
      case "status": {
        const n = parseUint(value, 0, value.length);
        parts.status = n < 0 ? null : n;
        return n >= 0 || value === "-";
      }
      case "body_bytes_sent":
      case "bytes_sent":
        parts.bytes = value === "-" ? 0 : numberOrNull(value);
        return true;
      case "http_referer":
        parts.referer = value;
        return true;
      case "http_user_agent":
        parts.userAgent = value;
        return true;
      case "host":
      case "http_host":
      case "server_name":
        parts.host = value;
        return true;
      case "request_time":
        parts.requestTime = numberOrNull(value);
        return true;
      default:
        (parts.extra ??= {})[name] = value;
        return true;
    }
  }
}

const ACCESS_LINE =
  /^\S+(?: \S+)? \S+ .*?\[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "/;

/** Cheap guess for `--type auto`: an address-led line with a `[28/Sep/2024:…]` time. */
export function looksLikeAccessLog(line: string): boolean {
  const t = line.indexOf(" [");
  if (t < 0 || t > 200 || line.charCodeAt(t + 4) !== 47) return false;
  return ACCESS_LINE.test(line.slice(0, t + 32));
}

function makePlugin(id: "nginx" | "apache"): ParserPlugin {
  return Object.freeze({
    id,
    sniff: looksLikeAccessLog,
    create(options: ParserOptions): LineParser {
      return options.format === undefined
        ? new DefaultFormatParser(id)
        : new CompiledFormatParser(id, options.format);
    },
  });
}

/** nginx access logs: combined or common, or the configured `log_format`. */
export const NginxParserPlugin = makePlugin("nginx");
/** Apache access logs: combined, common or vhost_combined (same code, service "apache"). */
export const ApacheParserPlugin = makePlugin("apache");
