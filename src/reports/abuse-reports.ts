/**
 * Reports to the abuse desks of the networks that attack: each ban this site's scenarios make
 * on an address is queued; every `every`, the queue is grouped by abuse contact (configured,
 * else RDAP's, cached per /24 or /48) and each desk gets one message listing its addresses,
 * with a CSV of the same. Batched, so that a guesser's network gets one mail an hour, not one
 * per address.
 *
 * Only what scenarios found is reported: an operator's decision may say anything, and a list's
 * or a peer's are someone else's findings. A reason names what was seen and how often (the
 * scenario's description and its count), never an account.
 *
 * A registry out of reach or a refused message leaves the reports queued for the next round;
 * after `MAX_ATTEMPTS` they are given up (`failed`), with the last error.
 */
import {
  CATEGORIES,
  csvField,
  formatTime,
  parseDuration,
  type AbuseReportRecord,
  type Decision,
  type Storage,
} from "../core/index.ts";
import { ipFamily, ipPrefix, PrefixMap } from "../net/index.ts";
import { scenarioCategories } from "../reputation/categories.ts";
import { isPublicIp } from "../reputation/index.ts";
import type { AbuseReportsConfig } from "./abuse-reports-config.ts";
import type { AbuseContact } from "./rdap.ts";

/** Rounds a report is tried (its contact looked up, its message sent) before it is given up. */
export const MAX_ATTEMPTS = 5;
/** Reports read from the queue in one round. */
const ROUND = 5000;
/**
 * RDAP look-ups in one round: registries limit how often one client may ask, and a flood of
 * new networks waits for the next rounds rather than spend its attempts on refusals.
 */
export const LOOKUPS_PER_ROUND = 200;
/**
 * The oldest ban reported: a daemon catching up on a month of old log makes bans dated then,
 * and an abuse desk can do nothing with a month-old guess.
 */
export const MAX_REPORT_AGE_MS = 86_400_000;

export interface AbuseMessage {
  readonly from: string;
  readonly to: string;
  readonly bcc?: string;
  readonly subject: string;
  readonly text: string;
  readonly csv: string;
}

export interface AbuseReporterDeps {
  readonly storage: Pick<
    Storage,
    | "addAbuseReports"
    | "listAbuseReports"
    | "updateAbuseReports"
    | "pruneAbuseReports"
    | "abuseContact"
    | "saveAbuseContact"
  >;
  readonly lookup: (ip: string) => Promise<AbuseContact | undefined>;
  /** Sends one message; resolves to the server's answer (a queue id), throws when refused. */
  readonly send: (message: AbuseMessage) => Promise<string>;
  readonly protection: (ip: string) => string | undefined;
  /** The wall clock: bans older than `MAX_REPORT_AGE_MS` are not reported. */
  readonly now: () => number;
  /** The site's name, for the subject when `reporter` is empty. */
  readonly site: string;
  readonly log: (line: string) => void;
}

export interface RoundOutcome {
  readonly sent: number;
  readonly messages: number;
  readonly noContact: number;
  readonly waiting: number;
  readonly failed: number;
}

export class AbuseReporter {
  readonly #config: AbuseReportsConfig;
  readonly #deps: AbuseReporterDeps;
  /** The configured contacts: the narrowest network holding an address wins. */
  readonly #overrides = new PrefixMap<string>();
  readonly #ttlMs: number;
  readonly #keepMs: number;
  #queueing: Promise<void> = Promise.resolve();
  #running: Promise<RoundOutcome> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #totals = { sent: 0, messages: 0, noContact: 0, failed: 0 };

  constructor(config: AbuseReportsConfig, deps: AbuseReporterDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#ttlMs = parseDuration(config.contact_ttl)!;
    this.#keepMs = parseDuration(config.keep)!;
    for (const [network, email] of Object.entries(config.contacts))
      this.#overrides.set(network, email);
  }

  /** Reports since start: addresses sent, messages, without a contact, given up. */
  get totals(): Readonly<{ sent: number; messages: number; noContact: number; failed: number }> {
    return { ...this.#totals };
  }

  /** Whether a decision is one this site reports to abuse desks. */
  reports(d: Decision): boolean {
    const c = this.#config;
    return (
      d.scope === "ip" &&
      d.origin === "scenario" &&
      c.actions.includes(d.action) &&
      (c.scenarios.length === 0 || c.scenarios.includes(d.scenario)) &&
      isPublicIp(d.value) &&
      this.#deps.protection(d.value) === undefined &&
      this.#deps.now() - d.createdAt <= MAX_REPORT_AGE_MS
    );
  }

  /** A decision made here: queued when it is reported (written in the background, in order). */
  observe(d: Decision): void {
    if (!this.reports(d)) return;
    const record: AbuseReportRecord = {
      id: d.id,
      createdAt: d.createdAt,
      ip: d.value,
      scenario: d.scenario,
      reason: d.reason,
      categories: scenarioCategories(d.scenario),
      status: "pending",
      contact: "",
      attempts: 0,
      sentAt: null,
      note: "",
    };
    this.#queueing = this.#queueing
      .then(() => this.#deps.storage.addAbuseReports([record]))
      .catch((e: unknown) =>
        this.#deps.log(`rempart: abuse report for ${d.value} not queued: ${message(e)}`),
      );
  }

  /** Sends a round now, and then every `every`. */
  start(now: () => number): void {
    const every = parseDuration(this.#config.every)!;
    const tick = (): void => {
      void this.run(now())
        .catch((e: unknown) => this.#deps.log(`rempart: abuse reports: ${message(e)}`))
        .finally(() => {
          if (this.#timer !== undefined) {
            this.#timer = setTimeout(tick, every);
            this.#timer.unref();
          }
        });
    };
    this.#timer = setTimeout(tick, every);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#queueing;
    await this.#running?.catch(() => undefined);
  }

  /** One round: the queue grouped by contact, one message each. Rounds never overlap. */
  run(now: number): Promise<RoundOutcome> {
    this.#running ??= this.#round(now).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #round(now: number): Promise<RoundOutcome> {
    const { storage } = this.#deps;
    await this.#queueing;
    await storage.pruneAbuseReports(now - this.#keepMs);
    const pending = await storage.listAbuseReports({
      status: "pending",
      oldest: true,
      limit: ROUND,
    });
    const byContact = new Map<string, { network: string; reports: AbuseReportRecord[] }>();
    const outcome = { sent: 0, messages: 0, noContact: 0, waiting: 0, failed: 0 };
    const contacts = new Map<string, Promise<AbuseContact | null | "later">>();
    const budget = { lookups: LOOKUPS_PER_ROUND };
    for (const r of pending) {
      const prefix = ipPrefix(r.ip, ipFamily(r.ip) === 4 ? 24 : 48);
      // A configured contact is per address (its network may be narrower than the /24 the
      // looked-up ones are kept by); the others once per /24 or /48.
      const configured = this.#overrides.longest(r.ip);
      let found =
        configured === undefined
          ? contacts.get(prefix)
          : Promise.resolve({ email: configured, network: "", range: undefined });
      if (found === undefined) {
        found = this.#contactFor(r.ip, prefix, now, budget);
        contacts.set(prefix, found);
      }
      let contact: AbuseContact | null | "later";
      try {
        contact = await found;
      } catch (e) {
        // The registry did not answer: the next round asks again.
        const failed = await this.#retry([r], `contact look-up failed: ${message(e)}`, "");
        outcome.failed += failed;
        outcome.waiting += 1 - failed;
        continue;
      }
      if (contact === "later") {
        // This round's look-ups are spent: the next round, without counting an attempt.
        outcome.waiting++;
        continue;
      }
      if (contact === null) {
        await storage.updateAbuseReports([r.id], {
          status: "no-contact",
          contact: "",
          note: "the registry names no abuse contact for this network",
          sentAt: null,
        });
        outcome.noContact++;
        continue;
      }
      const group = byContact.get(contact.email) ?? { network: contact.network, reports: [] };
      group.reports.push(r);
      byContact.set(contact.email, group);
    }
    for (const [to, group] of byContact) {
      for (let i = 0; i < group.reports.length; i += this.#config.max_per_message) {
        const chunk = group.reports.slice(i, i + this.#config.max_per_message);
        const ids = chunk.map((r) => r.id);
        try {
          const answer = await this.#deps.send(this.#message(to, group.network, chunk));
          await storage.updateAbuseReports(ids, {
            status: "sent",
            contact: to,
            note: answer,
            sentAt: now,
          });
          outcome.sent += chunk.length;
          outcome.messages++;
        } catch (e) {
          const failed = await this.#retry(chunk, `not sent: ${message(e)}`, to);
          outcome.failed += failed;
          outcome.waiting += chunk.length - failed;
        }
      }
    }
    this.#totals.sent += outcome.sent;
    this.#totals.messages += outcome.messages;
    this.#totals.noContact += outcome.noContact;
    this.#totals.failed += outcome.failed;
    if (outcome.messages + outcome.failed + outcome.noContact > 0)
      this.#deps.log(
        `rempart: abuse reports: ${outcome.sent} addresses in ${outcome.messages} messages, ${outcome.noContact} without a contact, ${outcome.waiting} waiting, ${outcome.failed} given up`,
      );
    return outcome;
  }

  /** Keeps reports queued after a failure, or gives them up; answers how many were given up. */
  async #retry(
    reports: readonly AbuseReportRecord[],
    note: string,
    contact: string,
  ): Promise<number> {
    const last = reports.filter((r) => r.attempts + 1 >= MAX_ATTEMPTS).map((r) => r.id);
    const again = reports.filter((r) => r.attempts + 1 < MAX_ATTEMPTS).map((r) => r.id);
    const update = { contact, note, sentAt: null };
    if (last.length > 0)
      await this.#deps.storage.updateAbuseReports(last, { ...update, status: "failed" });
    if (again.length > 0)
      await this.#deps.storage.updateAbuseReports(again, { ...update, status: "pending" });
    if (last.length > 0)
      this.#deps.log(
        `rempart: abuse reports: ${last.length} given up after ${MAX_ATTEMPTS} rounds: ${note}`,
      );
    return last.length;
  }

  /**
   * The contact RDAP gave (kept `contact_ttl`); null: none; `later`: a look-up is needed and
   * this round's `budget` is spent.
   */
  async #contactFor(
    ip: string,
    prefix: string,
    now: number,
    budget: { lookups: number },
  ): Promise<AbuseContact | null | "later"> {
    const { storage } = this.#deps;
    const cached = await storage.abuseContact(prefix);
    if (cached !== undefined && now - cached.lookedUpAt < this.#ttlMs)
      return cached.contact === ""
        ? null
        : { email: cached.contact, network: cached.network, range: undefined };
    if (budget.lookups <= 0) return "later";
    budget.lookups--;
    const found = await this.#deps.lookup(ip);
    // One label, whether fresh or cached: the network's name and its range.
    const network =
      found === undefined
        ? ""
        : found.range === undefined
          ? found.network
          : `${found.network} (${found.range})`.trim();
    await storage.saveAbuseContact({
      prefix,
      contact: found?.email ?? "",
      network,
      lookedUpAt: now,
    });
    return found === undefined ? null : { email: found.email, network, range: undefined };
  }

  #message(to: string, network: string, reports: readonly AbuseReportRecord[]): AbuseMessage {
    const c = this.#config;
    const who = c.reporter === "" ? this.#deps.site : c.reporter;
    const n = reports.length;
    const rows = reports.map((r) => ({
      ip: r.ip,
      time: formatTime(r.createdAt, 0),
      categories: r.categories.map((k) => CATEGORIES[k] ?? String(k)).join(", "),
      scenario: r.scenario,
      what: r.reason,
    }));
    const width = Math.max(...rows.map((r) => r.ip.length));
    const text = [
      "Hello,",
      "",
      `${who} saw abuse from ${n === 1 ? "this address" : `these ${n} addresses`} of your network${network === "" ? "" : ` (${network})`}, and blocked ${n === 1 ? "it" : "them"}. Times are UTC.`,
      "",
      ...rows.map(
        (r) =>
          `${r.ip.padEnd(width)}  ${r.time}  ${r.categories === "" ? "" : `[${r.categories}] `}${r.what}`,
      ),
      "",
      "The same list is attached as CSV (abuse-report.csv).",
      "",
      `This report was made automatically by Rempart, for ${who}. Replies reach ${c.from!}.`,
      "",
    ].join("\n");
    const csv = [
      "ip,time,categories,scenario,what",
      ...rows.map((r) => [r.ip, r.time, r.categories, r.scenario, r.what].map(csvField).join(",")),
      "",
    ].join("\r\n");
    return {
      from: c.from!,
      to,
      ...(c.bcc === undefined ? {} : { bcc: c.bcc }),
      subject: `Abuse report: ${n === 1 ? reports[0]!.ip : `${n} addresses`}${network === "" ? "" : ` in ${network}`} (${who})`,
      text,
      csv,
    };
  }
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
