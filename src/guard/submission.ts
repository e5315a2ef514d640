/**
 * Submissions from application events: the same shape whether the API is asked live or an
 * application's event log is replayed, so both answer the same.
 */
import type { Event, EventDraft, FieldValue } from "../core/index.ts";
import type { Submission } from "./ports.ts";

/** Whether an event is one the guard assesses (its verdict line in replay). */
export const isAssessed = (e: Event): boolean => e.type === "signup" || e.type === "form.submit";

const FIELD = "fields.";

/**
 * The submission an assessed event carries: `form`, `fields.*` (the submitted fields),
 * `client.user_agent`, `client.token`, `client.altcha`. Undefined when it has no address.
 */
export function submissionFromEvent(e: Event): Submission | undefined {
  if (e.ip === undefined || !isAssessed(e)) return undefined;
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.fields))
    if (k.startsWith(FIELD) && v !== null) fields[k.slice(FIELD.length)] = String(v);
  const s: { -readonly [K in keyof Submission]: Submission[K] } = {
    id: e.id,
    kind: e.type === "signup" ? "signup" : "form.submit",
    form: text(e.fields.form) ?? (e.type === "signup" ? "signup" : "default"),
    time: e.time,
    ip: e.ip,
    fields,
  };
  if (e.email !== undefined) s.email = e.email;
  if (e.account !== undefined) s.account = e.account;
  const ua = text(e.fields["client.user_agent"]);
  if (ua !== undefined) s.userAgent = ua;
  const token = text(e.fields["client.token"]);
  if (token !== undefined) s.token = token;
  const altcha = text(e.fields["client.altcha"]);
  if (altcha !== undefined) s.altcha = altcha;
  return s;
}

/** The event an assessed submission is recorded as (it feeds detection, as in replay). */
export function eventFromSubmission(s: Submission, tzOffset = 0): Event {
  const fields: Record<string, FieldValue> = { form: s.form };
  for (const [k, v] of Object.entries(s.fields)) fields[FIELD + k] = v;
  if (s.userAgent !== undefined) fields["client.user_agent"] = s.userAgent;
  if (s.token !== undefined) fields["client.token"] = s.token;
  if (s.altcha !== undefined) fields["client.altcha"] = s.altcha;
  const e: EventDraft = {
    id: s.id,
    type: s.kind,
    time: s.time,
    tzOffset,
    service: "app",
    ip: s.ip,
    fields,
  };
  if (s.email !== undefined) e.email = s.email;
  if (s.account !== undefined) e.account = s.account;
  return Object.freeze(e);
}

const text = (v: FieldValue | undefined): string | undefined =>
  typeof v === "string" && v !== "" ? v : undefined;
