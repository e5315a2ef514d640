/**
 * Signed webhooks: GoCardless's, and a generic HMAC-signed one for other providers whose body
 * is application events. A request is authenticated by its signature over the raw body before
 * anything in it is read; each event is taken once (its id is remembered), and handed to
 * `ingest` — the same path as POST /v1/events, which feeds detection and the account book.
 */
import { parseDuration, type ErrorCode, type Event } from "../../core/index.ts";
import type { AccountLink, Storage } from "../../core/ports.ts";
import { MAX_EVENTS, parseAppEvent } from "../../sources/app-json/index.ts";
import { canonicalCause } from "../accounts/index.ts";
import { parseGocardlessBody, pendingEvent, toEvent, type GocardlessEvent } from "./gocardless.ts";
import { hmacSha256, signatureMatches } from "./signature.ts";
import type { HmacWebhookConfig, WebhooksConfig } from "./webhooks-config.ts";

/** GoCardless's convention for a signature that does not match ("invalid token"). */
export const GOCARDLESS_BAD_SIGNATURE = 498;

/** Link kinds looked up, most specific first, to find a GoCardless event's account. */
const LINK_KINDS = ["payment", "mandate", "subscription", "billing_request", "customer"] as const;

/**
 * How long an event that moves accounts but named none waits for an event that ties one of its
 * links to an account. GoCardless retries a delivery for about a week; an event that lost the
 * race to its payment's first event waits minutes, rarely more.
 */
export const PENDING_MS = 7 * 24 * 3600 * 1000;

export interface WebhookSummary {
  /** Events in the body. */
  readonly received: number;
  /** Taken now (the others were seen before). */
  readonly ingested: number;
  readonly duplicates: number;
  /** Taken, but without an account (no metadata, no known link) yet: kept until one is tied. */
  readonly unmapped: number;
  /**
   * Events of this request or of earlier ones that named no account when they came, tied to
   * one by this request's events (a payment's confirmation delivered before its creation).
   */
  readonly tied: number;
}

export type WebhookOutcome =
  | { readonly ok: true; readonly summary: WebhookSummary }
  | {
      readonly ok: false;
      readonly status: number;
      readonly code: ErrorCode;
      readonly message: string;
    };

export interface WebhookReceiverOptions {
  readonly config: WebhooksConfig;
  readonly storage: Storage;
  /** Where events go: detection and the account book (the daemon's `ingest`). */
  readonly ingest: (events: readonly Event[]) => Promise<void>;
  /**
   * Where events go that detection saw without an account, once tied to one: the account book
   * only (`AccountBook.applyEvents`).
   */
  readonly tie: (events: readonly Event[]) => Promise<unknown>;
}

/** A request header by lower-case name (the first value when repeated). */
/** A request's header by name, in any case. */
export type HeaderReader = (name: string) => string | undefined;

const refused = (status: number, code: ErrorCode, message: string): WebhookOutcome => ({
  ok: false,
  status,
  code,
  message,
});

export class WebhookReceiver {
  readonly #config: WebhooksConfig;
  readonly #storage: Storage;
  readonly #ingest: (events: readonly Event[]) => Promise<void>;
  readonly #tie: (events: readonly Event[]) => Promise<unknown>;

  constructor(options: WebhookReceiverOptions) {
    this.#config = options.config;
    this.#storage = options.storage;
    this.#ingest = options.ingest;
    this.#tie = options.tie;
  }

  /** POST /v1/webhooks/gocardless. */
  async gocardless(raw: Uint8Array, header: HeaderReader, now: number): Promise<WebhookOutcome> {
    const gc = this.#config.gocardless;
    if (gc === undefined)
      return refused(
        404,
        "NOT_FOUND",
        "no GoCardless webhook is configured (guard.webhooks.gocardless)",
      );
    const expected = hmacSha256(gc.secret, raw);
    if (!signatureMatches(expected, header("webhook-signature"), "hex"))
      return refused(
        GOCARDLESS_BAD_SIGNATURE,
        "WEBHOOK_SIGNATURE_INVALID",
        "the Webhook-Signature header is missing or does not match the body",
      );
    const parsed = parseGocardlessBody(raw);
    if (!parsed.ok) return refused(400, "INPUT_INVALID", parsed.error.message);

    const fresh: { e: GocardlessEvent; account: string | undefined }[] = [];
    let duplicates = 0;
    const seen = new Set<string>();
    const tiedNow: AccountLink[] = [];
    for (const e of parsed.value) {
      if (seen.has(e.id) || (await this.#storage.hasWebhookEvent("gocardless", e.id))) {
        duplicates++;
        continue;
      }
      seen.add(e.id);
      const account = await this.#accountOf(e, gc.metadata_key, now, tiedNow);
      fresh.push({ e, account });
    }
    if (fresh.length > 0) await this.#ingest(fresh.map(({ e, account }) => toEvent(e, account)));
    // Kept and remembered after they were taken: a crash in between means one more delivery,
    // which the account book recognises by id, rather than an event lost.
    for (const { e, account } of fresh)
      if (account === undefined && canonicalCause(e.type) !== undefined)
        await this.#storage.addPendingWebhookEvent(pendingEvent(e, now));
    for (const { e, account } of fresh)
      await this.#storage.addWebhookEvent({
        provider: "gocardless",
        id: e.id,
        receivedAt: now,
        account: account ?? "",
        outcome: account === undefined ? "unmapped" : "ingested",
      });
    const tied = await this.#tiePending(tiedNow, now);
    await this.#storage.prunePendingWebhookEvents(now - PENDING_MS);
    const tiedHere = fresh.filter((f) => f.account === undefined && tied.has(f.e.id)).length;
    return {
      ok: true,
      summary: {
        received: parsed.value.length,
        ingested: fresh.length,
        duplicates,
        unmapped: fresh.filter((f) => f.account === undefined).length - tiedHere,
        tied: tied.size,
      },
    };
  }

  /** POST /v1/webhooks/hmac/:name. */
  async hmac(
    name: string,
    raw: Uint8Array,
    header: HeaderReader,
    now: number,
  ): Promise<WebhookOutcome> {
    const config: HmacWebhookConfig | undefined = Object.hasOwn(this.#config.hmac, name)
      ? this.#config.hmac[name]
      : undefined;
    if (config === undefined)
      return refused(
        404,
        "NOT_FOUND",
        `no webhook named ${JSON.stringify(name.slice(0, 40))} is configured`,
      );
    const bad = checkHmac(config, raw, header, now);
    if (bad !== undefined) return refused(401, "WEBHOOK_SIGNATURE_INVALID", bad);

    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(raw).toString("utf8"));
    } catch {
      return refused(400, "INPUT_INVALID", "body: is not valid JSON");
    }
    if (
      typeof json === "object" &&
      json !== null &&
      "events" in json &&
      !Array.isArray(json.events)
    )
      return refused(
        400,
        "INPUT_INVALID",
        "body.events: must be an array of events; no event was taken",
      );
    const [items, where] = Array.isArray(json)
      ? [json as unknown[], "body"]
      : typeof json === "object" && json !== null && "events" in json && Array.isArray(json.events)
        ? [json.events as unknown[], "body.events"]
        : [[json], "body"];
    if (items.length > MAX_EVENTS)
      return refused(
        400,
        "INPUT_INVALID",
        `${where}: at most ${MAX_EVENTS} events per request; no event was taken`,
      );
    const events: Event[] = [];
    for (let i = 0; i < items.length; i++) {
      const r = parseAppEvent(
        items[i],
        Array.isArray(json) || where !== "body" ? `${where}[${i}]` : where,
      );
      if (!r.ok) return refused(400, "INPUT_INVALID", `${r.error.message}; no event was taken`);
      events.push(r.value);
    }
    const provider = `hmac:${name}`;
    const fresh: Event[] = [];
    const seen = new Set<string>();
    for (const e of events) {
      if (seen.has(e.id) || (await this.#storage.hasWebhookEvent(provider, e.id))) continue;
      seen.add(e.id);
      fresh.push(e);
    }
    if (fresh.length > 0) await this.#ingest(fresh);
    for (const e of fresh)
      await this.#storage.addWebhookEvent({
        provider,
        id: e.id,
        receivedAt: now,
        account: e.account ?? "",
        outcome: "ingested",
      });
    return {
      ok: true,
      summary: {
        received: events.length,
        ingested: fresh.length,
        duplicates: events.length - fresh.length,
        unmapped: fresh.filter((e) => e.account === undefined).length,
        tied: 0,
      },
    };
  }

  /**
   * The account a GoCardless event is about: the metadata the application set on the
   * resource (`metadata_key`), else an object it links to that an earlier event, or the
   * application, tied to an account. Whatever it finds, its links are tied to that account
   * for the events to come (a payment's later events carry no metadata of the mandate); the
   * links tied are added to `tied`.
   */
  async #accountOf(
    e: GocardlessEvent,
    key: string,
    now: number,
    tied: AccountLink[],
  ): Promise<string | undefined> {
    let account = e.metadata[key];
    if (account === undefined)
      for (const kind of LINK_KINDS) {
        const ref = e.links[kind];
        if (ref === undefined) continue;
        account = await this.#storage.findAccountLink("gocardless", kind, ref);
        if (account !== undefined) break;
      }
    if (account !== undefined) {
      tied.push(...(await this.#tieLinks(linksOf(e, account, now))));
    }
    return account;
  }

  /**
   * Stores the links, and answers those that are now the account's: a link already tied to
   * another account keeps it, and must not carry that one's kept events to this account.
   */
  async #tieLinks(links: readonly AccountLink[]): Promise<AccountLink[]> {
    await this.#storage.addAccountLinks(links);
    const mine: AccountLink[] = [];
    for (const l of links)
      if ((await this.#storage.findAccountLink(l.provider, l.kind, l.ref)) === l.account)
        mine.push(l);
    return mine;
  }

  /**
   * Applies to their accounts the kept events that wait on the links just tied, and ties
   * their own links in turn (a payment's confirmation may tie its mandate's failure). Forgets
   * each after it was applied: a crash in between applies it again, which the account book
   * recognises by id. Answers the ids of the events tied.
   */
  async #tiePending(links: readonly AccountLink[], now: number): Promise<Set<string>> {
    const done = new Set<string>();
    const queue = [...links];
    const events: Event[] = [];
    for (let link = queue.shift(); link !== undefined; link = queue.shift()) {
      for (const kept of await this.#storage.pendingWebhookEvents(
        "gocardless",
        link.kind,
        link.ref,
      )) {
        if (done.has(kept.id)) continue;
        done.add(kept.id);
        const e = JSON.parse(kept.payload) as GocardlessEvent;
        // Its links are now the account's too; those already tied to another stay theirs.
        queue.push(...(await this.#tieLinks(linksOf(e, link.account, now))));
        events.push(toEvent(e, link.account));
      }
    }
    if (events.length === 0) return done;
    await this.#tie(events);
    for (const id of done) await this.#storage.removePendingWebhookEvent("gocardless", id);
    return done;
  }
}

/** The objects a GoCardless event links to, as links to `account`. */
function linksOf(e: GocardlessEvent, account: string, now: number): AccountLink[] {
  const links: AccountLink[] = [];
  for (const kind of LINK_KINDS) {
    const ref = e.links[kind];
    if (ref !== undefined)
      links.push({ provider: "gocardless", kind, ref, account, createdAt: now });
  }
  return links;
}

/** Why a generic webhook's request is not authentic, or undefined when it is. */
function checkHmac(
  config: HmacWebhookConfig,
  raw: Uint8Array,
  header: HeaderReader,
  now: number,
): string | undefined {
  const given = header(config.header);
  if (given === undefined) return `the ${config.header} header is missing`;
  if (!given.startsWith(config.prefix))
    return `the ${config.header} header does not start with ${JSON.stringify(config.prefix)}`;
  const signature = given.slice(config.prefix.length);
  let expected: Buffer;
  if (config.timestamp_header === undefined) expected = hmacSha256(config.secret, raw);
  else {
    const stamp = header(config.timestamp_header);
    if (stamp === undefined) return `the ${config.timestamp_header} header is missing`;
    if (!/^\d{1,12}$/.test(stamp))
      return `the ${config.timestamp_header} header must be a time in seconds since the epoch`;
    const skew = Math.abs(now - Number(stamp) * 1000);
    if (skew > parseDuration(config.tolerance)!)
      return `the ${config.timestamp_header} header is more than ${config.tolerance} away from now`;
    expected = hmacSha256(config.secret, Buffer.from(`${stamp}.`), raw);
  }
  return signatureMatches(expected, signature, config.encoding)
    ? undefined
    : `the ${config.header} header does not match the body`;
}
