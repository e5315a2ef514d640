import type { Event, EventDraft, FieldValue } from "../../core/event.ts";
import type { LineOrigin, LineParser, ParserPlugin } from "../../core/ports.ts";
import { err, ok, type ParseError, type Result } from "../../core/result.ts";
import { normalizeIp } from "../../net/ip.ts";
import { validDate } from "../scan.ts";

const MAX_ID = 200;
/**
 * Most events one request may carry: POST /v1/events, the generic webhook, GoCardless's (which
 * sends at most 250).
 */
export const MAX_EVENTS = 1000;
/** As GET /v1/accounts/{id} takes it: an account named longer could never be read. */
const MAX_ACCOUNT = 256;
const MAX_FIELDS = 256;
const MAX_LINE = 256 * 1024;
const TYPE = /^[a-z][a-z0-9_.-]{0,63}$/;
const TIME =
  /^(\d{4})-(\d\d)-(\d\d)[Tt](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:([Zz])|([+-])(\d\d):?(\d\d))$/;
/** Members read into the event itself; every other one goes to `fields`. */
const RESERVED = new Set(["id", "time", "type", "service"]);

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function invalid(where: string, member: string, why: string): { ok: false; error: ParseError } {
  return err({ code: "INPUT_INVALID", message: `${where}: ${member} ${why}` });
}

/** ISO 8601 with an offset → [epoch ms, offset minutes], or undefined. */
export function parseIsoTime(text: string): readonly [number, number] | undefined {
  const m = TIME.exec(text);
  if (m === null) return undefined;
  const [y, mo, d, hh, mi, ss] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (!validDate(y, mo, d) || hh > 23 || mi > 59 || ss > 60) return undefined;
  let offset = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = Number(m[11]);
    if (oh > 23 || om > 59) return undefined;
    offset = (m[9] === "-" ? -1 : 1) * (oh * 60 + om);
  }
  const ms = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * 1000);
  const time = Date.UTC(y, mo - 1, d, hh, mi, Math.min(ss, 59), ms) - offset * 60_000;
  return [time, offset];
}

/** A scalar as is; arrays and objects as JSON text (fields stay flat and scalar). */
function scalar(v: unknown): FieldValue {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "bigint") return v.toString();
  try {
    return JSON.stringify(v) ?? null;
  } catch {
    return null; // cycles: only possible for values that did not come from JSON
  }
}

/**
 * Reads one application event (a line of a JSON events file, or one item of the body of
 * `POST /v1/events`). `where` says where it came from, for the error message
 * (`events[3]`, `app.log:1042`).
 *
 * `id`, `time` (ISO 8601 with `Z` or an offset) and `type` are required. `source.ip` → ip,
 * `actor.account` → account, `actor.email` → email (lower-cased); `service` names the
 * service (default "app"); every other member goes to `fields` under a dotted name
 * (`form`, `fields.first_name`, `client.fill_ms`), deeper values as JSON text.
 */
export function parseAppEvent(value: unknown, where: string): Result<Event> {
  if (!isObject(value)) return invalid(where, "the event", "must be a JSON object");
  const { id, time, type, service } = value;
  if (typeof id !== "string" || id === "")
    return invalid(where, "id", "must be a non-empty string");
  if (id.length > MAX_ID) return invalid(where, "id", `must be at most ${MAX_ID} characters`);
  if (typeof type !== "string" || !TYPE.test(type)) {
    return invalid(where, "type", "must match [a-z][a-z0-9_.-]{0,63}, like form.submit");
  }
  if (typeof time !== "string") return invalid(where, "time", "must be an ISO 8601 string");
  const parsed = parseIsoTime(time);
  if (parsed === undefined) {
    return invalid(
      where,
      "time",
      "must be ISO 8601 with an offset, like 2024-09-28T13:01:07+02:00",
    );
  }
  if (service !== undefined && (typeof service !== "string" || !TYPE.test(service))) {
    return invalid(where, "service", "must match [a-z][a-z0-9_.-]{0,63}, like app");
  }

  let ip: string | undefined;
  let account: string | undefined;
  let email: string | undefined;
  const entries: [string, FieldValue][] = [];
  for (const key of Object.keys(value)) {
    if (RESERVED.has(key)) continue;
    const member = value[key];
    if (key === "source" || key === "actor") {
      if (!isObject(member)) return invalid(where, key, "must be an object");
      for (const sub of Object.keys(member)) {
        const v = member[sub];
        if (key === "source" && sub === "ip") {
          if (typeof v !== "string") return invalid(where, "source.ip", "must be a string");
          ip = normalizeIp(v);
          if (ip === undefined) return invalid(where, "source.ip", "is not an IP address");
        } else if (key === "actor" && sub === "account") {
          if (typeof v !== "string") return invalid(where, "actor.account", "must be a string");
          if (v.length > MAX_ACCOUNT)
            return invalid(where, "actor.account", `must be at most ${MAX_ACCOUNT} characters`);
          if (v !== "") account = v;
        } else if (key === "actor" && sub === "email") {
          if (typeof v !== "string") return invalid(where, "actor.email", "must be a string");
          if (v !== "") email = v.toLowerCase();
        } else entries.push([`${key}.${sub}`, scalar(v)]);
      }
    } else if (isObject(member)) {
      for (const sub of Object.keys(member)) entries.push([`${key}.${sub}`, scalar(member[sub])]);
    } else entries.push([key, scalar(member)]);
    if (entries.length > MAX_FIELDS) {
      return invalid(where, "the event", `has more than ${MAX_FIELDS} fields`);
    }
  }
  // fromEntries defines own properties: a "__proto__" member stays data, never a prototype.
  const fields = Object.freeze(Object.fromEntries(entries));
  const event: EventDraft = {
    id,
    type,
    time: parsed[0],
    tzOffset: parsed[1],
    service: service ?? "app",
    fields,
  };
  if (ip !== undefined) event.ip = ip;
  if (account !== undefined) event.account = account;
  if (email !== undefined) event.email = email;
  return ok(Object.freeze(event));
}

/** Application events, one JSON object per line. */
class JsonLineParser implements LineParser {
  readonly id = "json";

  parse(line: string, origin: LineOrigin): Result<readonly Event[]> {
    const where = `${origin.source}:${origin.offset}`;
    if (line.length > MAX_LINE) {
      return err({
        code: "INPUT_INVALID",
        message: `${where}: line longer than ${MAX_LINE} bytes`,
      });
    }
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      const why = cause instanceof Error ? cause.message : "not JSON";
      return err({ code: "INPUT_INVALID", message: `${where}: not JSON (${why})` });
    }
    const r = parseAppEvent(value, where);
    return r.ok ? ok([r.value]) : r;
  }
}

export const JsonParserPlugin: ParserPlugin = Object.freeze({
  id: "json",
  sniff: (line: string): boolean => line.trimStart().startsWith("{") && line.includes('"type"'),
  create: (): LineParser => new JsonLineParser(),
});
