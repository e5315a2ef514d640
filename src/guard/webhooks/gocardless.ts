/**
 * GoCardless webhooks: a POST whose body is `{"events": [...]}`, signed with the endpoint's
 * secret (`Webhook-Signature`: hex HMAC-SHA256 of the raw body). Each event has an id, a
 * `created_at`, a `resource_type` (payments, mandates…), an `action` (confirmed, failed…) and
 * `links` to the objects it concerns. This reads them into Rempart events; which account each
 * belongs to is the receiver's business (webhook-receiver.ts).
 */
import { z } from "zod";
import type { Event, FieldValue } from "../../core/index.ts";
import type { PendingWebhookEvent } from "../../core/ports.ts";
import { err, ok, type Result } from "../../core/result.ts";
import { MAX_EVENTS, parseIsoTime } from "../../sources/app-json/index.ts";

const NAME = /^[a-z_]{1,64}$/;

const GocardlessEventSchema = z.looseObject({
  id: z.string().min(1).max(100),
  created_at: z.string().max(40),
  resource_type: z.string().regex(NAME),
  action: z.string().regex(NAME),
  links: z.record(z.string(), z.unknown()).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  resource_metadata: z.record(z.string(), z.unknown()).optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

const BodySchema = z.looseObject({
  events: z.array(z.unknown()).max(MAX_EVENTS),
});

export interface GocardlessEvent {
  readonly id: string;
  readonly time: number;
  /** `payment.confirmed`, `mandate.cancelled`: the resource type in the singular, and the action. */
  readonly type: string;
  /** Links to the objects it concerns, by kind in the singular: `{ payment: "PM123" }`. */
  readonly links: Readonly<Record<string, string>>;
  /** The resource's metadata, then the event's, as strings. */
  readonly metadata: Readonly<Record<string, string>>;
  readonly details: Readonly<Record<string, FieldValue>>;
}

const singular = (plural: string): string => (plural.endsWith("s") ? plural.slice(0, -1) : plural);

function strings(o: Readonly<Record<string, unknown>> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o ?? {})) if (typeof v === "string" && v !== "") out[k] = v;
  return out;
}

/** Reads a webhook's body (after its signature was checked). Never throws. */
export function parseGocardlessBody(raw: Uint8Array): Result<GocardlessEvent[]> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(raw).toString("utf8"));
  } catch {
    return err({ code: "INPUT_INVALID", message: "body: is not valid JSON" });
  }
  const body = BodySchema.safeParse(json);
  if (!body.success)
    return err({
      code: "INPUT_INVALID",
      message: `body: must be {"events": [...]} with at most ${MAX_EVENTS} events`,
    });
  const events: GocardlessEvent[] = [];
  for (let i = 0; i < body.data.events.length; i++) {
    const r = GocardlessEventSchema.safeParse(body.data.events[i]);
    const where = `body.events[${i}]`;
    if (!r.success) {
      const issue = r.error.issues[0];
      const member = issue?.path.join(".") ?? "";
      return err({
        code: "INPUT_INVALID",
        message: `${where}.${member}: ${issue?.message ?? "invalid"}`,
      });
    }
    const e = r.data;
    const time = parseIsoTime(e.created_at);
    if (time === undefined)
      return err({
        code: "INPUT_INVALID",
        message: `${where}.created_at: is not an ISO 8601 time`,
      });
    const details: Record<string, FieldValue> = {};
    for (const [k, v] of Object.entries(e.details ?? {}))
      if (v === null || ["string", "number", "boolean"].includes(typeof v))
        details[k] = v as FieldValue;
    events.push(
      Object.freeze({
        id: e.id,
        time: time[0],
        type: `${singular(e.resource_type)}.${e.action}`,
        links: Object.freeze(strings(e.links)),
        metadata: Object.freeze({ ...strings(e.metadata), ...strings(e.resource_metadata) }),
        details: Object.freeze(details),
      }),
    );
  }
  return ok(events);
}

/** The Rempart event for a GoCardless event, about `account` when it is known. */
export function toEvent(e: GocardlessEvent, account: string | undefined): Event {
  const fields: Record<string, FieldValue> = {};
  for (const [k, v] of Object.entries(e.links)) fields[`links.${k}`] = v;
  for (const [k, v] of Object.entries(e.details)) fields[`details.${k}`] = v;
  return Object.freeze({
    id: `gocardless:${e.id}`,
    type: e.type,
    time: e.time,
    tzOffset: 0,
    service: "gocardless",
    ...(account !== undefined && { account }),
    fields: Object.freeze(fields),
  });
}

/** The event kept until one of its links is tied to an account (its payload, read back as is). */
export function pendingEvent(e: GocardlessEvent, now: number): PendingWebhookEvent {
  return {
    provider: "gocardless",
    id: e.id,
    receivedAt: now,
    links: Object.entries(e.links).map(([kind, ref]) => ({ kind, ref })),
    payload: JSON.stringify(e),
  };
}
