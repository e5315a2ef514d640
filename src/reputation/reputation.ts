/**
 * Reputation: what is known of an address beyond the decisions in force. Three kinds of
 * reports feed one book of decaying scores (reputation-book.ts):
 *
 * - this site's own decisions on addresses (a ban weighs 1, a lesser decision 0.5), reported
 *   under the decision's id, so that nodes sharing a database write each one once;
 * - reports sent through the AbuseIPDB-compatible API (fail2ban's `abuseipdb` action, scripts),
 *   at most one per reporter and address in 15 minutes, as AbuseIPDB itself does;
 * - peers' signed feeds (peers.ts), each report weighed by the trust given to that peer.
 *
 * Reports are stored as they are accepted (a restart rebuilds the book from them) and deleted
 * after `keep`. Only this site's own reports are published to peers, never a peer's (no
 * echo), and never a report's comment: a peer learns an address, when, what kind of abuse
 * and how sure, nothing about the people who were attacked.
 */
import { randomUUID } from "node:crypto";
import {
  isCategory,
  parseDuration,
  type Decision,
  type ReportCursor,
  type ReportRecord,
  type Storage,
} from "../core/index.ts";
import { normalizeIp, parseCidr, RangeList, SPECIAL_RANGES } from "../net/index.ts";
import { scenarioCategories } from "./categories.ts";
import type { ReputationConfig } from "./reputation-config.ts";
import { ReputationBook, type Standing } from "./reputation-book.ts";
import type { Signer } from "./signing.ts";

/** One reporter may report one address once in this time (AbuseIPDB's rule). */
export const REPORT_INTERVAL_MS = 15 * 60_000;
/** The reporter name of this site's own decisions. */
export const OWN_REPORTER = "rempart";
/** Most reports one feed page carries. */
export const MAX_FEED_PAGE = 1000;
/** Most reports one check reads (and counts). */
const MAX_CHECKED = 10_000;
/** The longest comment kept (AbuseIPDB's limit). */
export const MAX_COMMENT = 1024;

const SPECIAL = new RangeList(
  SPECIAL_RANGES.map((r) => parseCidr(r)).filter((r) => r !== undefined),
);

/** Whether an address is on the public internet (not loopback, private, link-local…). */
export const isPublicIp = (ip: string): boolean => SPECIAL.find(ip) === undefined;

/** What a decision weighs as a report: a ban counts whole, lesser actions half. */
const DECISION_WEIGHT = (d: Decision): number => (d.action === "ban" ? 1 : 0.5);

/**
 * The report this site makes of its own decision, or undefined when it makes none: only
 * decisions on one address, taken here (a scenario's or an operator's), count. A list's
 * entries are someone else's findings, and a range says nothing of each address in it.
 */
export function ownReport(d: Decision): ReportRecord | undefined {
  if (d.scope !== "ip" || (d.origin !== "scenario" && d.origin !== "manual")) return undefined;
  return {
    id: d.id,
    time: d.createdAt,
    ip: d.value,
    categories: scenarioCategories(d.scenario),
    weight: DECISION_WEIGHT(d),
    reporter: OWN_REPORTER,
    comment: d.reason,
  };
}

/**
 * Scores this site's decision in `book` (replay's, or the daemon's), unless it makes no report
 * or its address is protected; answers the report.
 */
export function scoreDecision(
  book: Pick<ReputationBook, "add">,
  d: Decision,
  protection: (ip: string) => string | undefined,
): ReportRecord | undefined {
  const r = ownReport(d);
  if (r === undefined || protection(r.ip) !== undefined) return undefined;
  book.add(r);
  return r;
}

/** A report as a script sends it (the AbuseIPDB-compatible API). */
export interface ReportInput {
  readonly ip: string;
  readonly categories: readonly number[];
  readonly comment: string;
  readonly time: number;
  /** `key:<the API key's name>`. */
  readonly reporter: string;
}

export type ReportOutcome =
  | { readonly ok: true; readonly report: ReportRecord; readonly confidence: number }
  | { readonly ok: false; readonly reason: "protected"; readonly message: string }
  | { readonly ok: false; readonly reason: "too-soon"; readonly retryAfterMs: number };

/** AbuseIPDB's `check` for one address, from what this site knows. */
export interface CheckAnswer {
  readonly ip: string;
  readonly isPublic: boolean;
  readonly protection: string | undefined;
  readonly standing: Standing;
  readonly reports: readonly ReportRecord[];
  /** Reports within the asked age (all of them, `reports` may be cut to `limit`). */
  readonly total: number;
  readonly reporters: number;
}

/** A page of this site's own reports for peers, and its signature. */
export interface FeedPage {
  /** The JSON body, exactly as signed. */
  readonly body: Buffer;
  readonly signature: string;
  readonly count: number;
}

export interface ReputationDeps {
  readonly storage: Pick<
    Storage,
    | "addReports"
    | "listReports"
    | "forEachReport"
    | "ownReportsAfter"
    | "pruneReports"
    | "deleteReports"
  >;
  /** Why an address may never be acted on (the policy's allowlists), or undefined. */
  readonly protection: (ip: string) => string | undefined;
  /** Signs the feed; absent when the site does not publish one. */
  readonly signer?: Signer | undefined;
  /** The site's name in its feed (the node name). */
  readonly site: string;
  readonly log: (line: string) => void;
}

export class Reputation {
  readonly book: ReputationBook;
  readonly #deps: ReputationDeps;
  readonly #keepMs: number;
  readonly #reportWeight: number;

  constructor(config: ReputationConfig, deps: ReputationDeps) {
    this.book = new ReputationBook({
      halfLifeMs: parseDuration(config.half_life)!,
      maxEntries: config.max_entries,
    });
    this.#deps = deps;
    this.#keepMs = parseDuration(config.keep)!;
    this.#reportWeight = config.report_weight;
  }

  get publishing(): boolean {
    return this.#deps.signer !== undefined;
  }

  /** Forgets reports past `keep`, then scores the rest. Resolves to how many were read. */
  async load(now: number): Promise<number> {
    const storage = this.#deps.storage;
    const since = now - this.#keepMs;
    const pruned = await storage.pruneReports(since);
    if (pruned > 0)
      this.#deps.log(`rempart: reputation: ${pruned} reports older than keep deleted`);
    return storage.forEachReport(since, (r) => this.book.add(r));
  }

  /** Deletes reports past `keep` (a daily chore). */
  prune(now: number): Promise<number> {
    return this.#deps.storage.pruneReports(now - this.#keepMs);
  }

  /**
   * A decision in force here: scored now. Answers the report to store with the decision (in
   * the same checkpoint), or undefined when it makes none. A decision another node made on a
   * shared database is scored too; that node stores its report.
   */
  observe(d: Decision): ReportRecord | undefined {
    return scoreDecision(this.book, d, this.#deps.protection);
  }

  /** A script's report: stored, then scored. */
  async report(input: ReportInput): Promise<ReportOutcome> {
    const ip = normalizeIp(input.ip);
    if (ip === undefined) throw new RangeError(`not an IP address: ${input.ip}`);
    const protection = this.#deps.protection(ip);
    if (protection !== undefined)
      return { ok: false, reason: "protected", message: `${protection}: not reported` };
    const storage = this.#deps.storage;
    const [last] = await storage.listReports({
      ip,
      reporter: input.reporter,
      since: input.time - REPORT_INTERVAL_MS + 1,
      limit: 1,
    });
    if (last !== undefined)
      return {
        ok: false,
        reason: "too-soon",
        retryAfterMs: Math.max(1000, last.time + REPORT_INTERVAL_MS - input.time),
      };
    const report: ReportRecord = {
      id: randomUUID(),
      time: input.time,
      ip,
      categories: [...new Set(input.categories.filter(isCategory))].sort((a, b) => a - b),
      weight: this.#reportWeight,
      reporter: input.reporter,
      comment: input.comment.slice(0, MAX_COMMENT),
    };
    await storage.addReports([report]);
    this.book.add(report);
    return { ok: true, report, confidence: this.book.confidence(ip, input.time) };
  }

  /**
   * Forgets every report about `ip` (an operator's answer to "why am I listed?"): deleted from
   * storage, taken out of the scores. Answers how many. Peers that read them keep them until
   * they fade: the feed carries no withdrawals.
   */
  async forget(ip: string): Promise<number> {
    const gone = await this.#deps.storage.deleteReports(ip);
    this.book.forget(ip, gone);
    return gone.length;
  }

  /** What is known of `ip`: its standing now, and the reports of the last `maxAgeMs`. */
  async check(ip: string, now: number, maxAgeMs: number, limit: number): Promise<CheckAnswer> {
    // AbuseIPDB's check lists at most 10,000 reports; so many on one address say enough.
    const all = await this.#deps.storage.listReports({
      ip,
      since: now - maxAgeMs,
      limit: MAX_CHECKED,
    });
    return {
      ip,
      isPublic: isPublicIp(ip),
      protection: this.#deps.protection(ip),
      standing: this.book.standing(ip, now),
      reports: all.slice(0, limit),
      total: all.length,
      reporters: new Set(all.map((r) => r.reporter)).size,
    };
  }

  /** The next page of this site's own reports after `after`, signed. */
  async feed(after: ReportCursor | undefined, limit: number, now: number): Promise<FeedPage> {
    const signer = this.#deps.signer;
    if (signer === undefined) throw new Error("bug: feed() on a site that does not publish");
    const rows = await this.#deps.storage.ownReportsAfter(after, Math.min(limit, MAX_FEED_PAGE));
    const last = rows.at(-1);
    const body = Buffer.from(
      JSON.stringify({
        site: this.#deps.site,
        key: signer.publicKey,
        generated: new Date(now).toISOString(),
        reports: rows.map((r) => ({
          id: r.id,
          time: r.time,
          ip: r.ip,
          categories: r.categories,
          weight: r.weight,
        })),
        next:
          last === undefined
            ? after === undefined
              ? null
              : formatCursor(after)
            : formatCursor({ time: last.time, id: last.id }),
      }),
    );
    return { body, signature: signer.sign(body), count: rows.length };
  }
}

/** A cursor as a peer passes it back: `<time>.<id>`. */
export const formatCursor = (c: ReportCursor): string => `${c.time}.${c.id}`;

export function parseCursor(text: string): ReportCursor | undefined {
  const m = /^(\d{1,16})\.([A-Za-z0-9:._@/-]{1,200})$/.exec(text);
  return m === null ? undefined : { time: Number(m[1]), id: m[2]! };
}
