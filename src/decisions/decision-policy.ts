/**
 * Turns a wish ("ban this address for 4 h") into a decision, or refuses it. Safety first:
 * allowlists always win (loopback, private ranges, the host's own addresses, configured
 * networks and accounts), ranges wider than the configured limit are refused, every automatic
 * decision expires. Repeat offenders get longer decisions; a wish that an active decision
 * already covers is merged into it.
 *
 * One incident, one offence: a wish on a subject that an active decision of the same action
 * already holds continues that incident (a burst that fires two scenarios, or the same one in
 * the next interval). It does not count the decisions holding the subject as earlier offences,
 * and a decision that replaces them takes their place as the incident's one offence. Only an
 * offence after they have ended escalates.
 *
 * A list's decisions are its own: the list deletes them when it drops an entry, so nothing else
 * may stand on them. An imported entry merges into or replaces only that list's decisions, and
 * a detection's or an operator's wish never merges into or replaces an imported one: both are
 * kept, and the enforcers hold a subject while any decision holds it. Being on a list is not an
 * offence: imported decisions never escalate a later one.
 */
import type { Action, Decision, Origin, Scope } from "../core/index.ts";
import { detach, formatDuration, MAX_DECISION_MS } from "../core/index.ts";
import {
  formatCidr,
  normalizeIp,
  parseAsn,
  parseCidr,
  RangeList,
  SPECIAL_RANGES,
  type IpRange,
} from "../net/index.ts";
import type { DecisionBook } from "./decision-book.ts";

export interface DecisionWish {
  readonly action: Action;
  readonly scope: Scope;
  readonly value: string;
  /** null: permanent (manual decisions only). */
  readonly durationMs: number | null;
  readonly origin: Origin;
  readonly scenario: string;
  readonly reason: string;
  readonly at: number;
  readonly tzOffset: number;
}

export interface PolicyConfig {
  /** Networks never acted on, besides the special ranges and the host's own addresses. */
  readonly allowNetworks: readonly string[];
  readonly allowAccounts: readonly string[];
  /** The host's own addresses. */
  readonly hostAddresses: readonly string[];
  /** The shortest prefix a range decision may have (IPv4, IPv6). */
  readonly maxRangeV4: number;
  readonly maxRangeV6: number;
  readonly escalation: {
    /** Each earlier offence multiplies the duration by this. */
    readonly factor: number;
    readonly maxMs: number;
    /** How far back earlier offences count. */
    readonly memoryMs: number;
  };
}

export const DEFAULT_POLICY: PolicyConfig = Object.freeze({
  allowNetworks: [],
  allowAccounts: [],
  hostAddresses: [],
  maxRangeV4: 16,
  maxRangeV6: 32,
  escalation: Object.freeze({ factor: 2, maxMs: 30 * 86_400_000, memoryMs: 30 * 86_400_000 }),
});

export type PolicyOutcome =
  | {
      readonly kind: "created";
      readonly decision: Decision;
      readonly replaces: readonly Decision[];
    }
  | { readonly kind: "merged"; readonly decision: Decision }
  | { readonly kind: "refused"; readonly reason: string };

export class DecisionPolicy {
  readonly #config: PolicyConfig;
  readonly #allow: RangeList;
  readonly #allowAccounts: ReadonlySet<string>;
  readonly #book: DecisionBook;
  readonly #newId: () => string;
  /**
   * Scope → value → creation times of its earlier decisions (within the escalation memory); one
   * number for the usual single offence. The decisions the book holds at start are counted by
   * the book instead (`recordOffence`), until they leave it.
   */
  readonly #offences = new Map<Scope, Map<string, number | number[]>>();
  #nextForget = 0;
  readonly #leaving = (scope: Scope, value: string, createdAt: number): void =>
    this.recordOffence({ scope, value, createdAt });

  constructor(config: PolicyConfig, book: DecisionBook, newId: () => string) {
    this.#config = config;
    this.#book = book;
    this.#newId = newId;
    const ranges: IpRange[] = [];
    for (const text of [...SPECIAL_RANGES, ...config.hostAddresses, ...config.allowNetworks]) {
      const r = parseCidr(text);
      if (r) ranges.push(r);
    }
    this.#allow = new RangeList(ranges);
    this.#allowAccounts = new Set(config.allowAccounts.map((a) => a.toLowerCase()));
  }

  /**
   * Remembers an earlier decision for escalation (at start, from the store). One the book holds
   * is counted there, by its id, until it leaves the book: then it is remembered here.
   */
  recordOffence(
    d: Pick<Decision, "scope" | "value" | "createdAt"> & {
      readonly id?: string;
      readonly origin?: Origin;
    },
  ): void {
    if (d.origin === "import") return;
    if (d.id !== undefined && this.#book.markOffence(d.id, this.#leaving)) return;
    let byValue = this.#offences.get(d.scope);
    if (byValue === undefined)
      this.#offences.set(d.scope, (byValue = new Map<string, number | number[]>()));
    const times = byValue.get(d.value);
    if (times === undefined) byValue.set(d.value, d.createdAt);
    else if (typeof times === "number") byValue.set(d.value, [times, d.createdAt]);
    else times.push(d.createdAt);
  }

  /** Whether `d` is among the offences counted (the book's flag, or its time in `past`, taken out). */
  #counted(d: Decision, past: number[]): boolean {
    if (this.#book.isOffence(d.id)) return true;
    const i = past.indexOf(d.createdAt);
    if (i < 0) return false;
    past.splice(i, 1);
    return true;
  }

  /** Stops counting `d` as an offence: the decision replacing it carries its incident on. */
  #withdrawOffence(d: Decision): void {
    if (this.#book.unmarkOffence(d.id)) return;
    const byValue = this.#offences.get(d.scope);
    const times = byValue?.get(d.value);
    if (times === undefined) return;
    if (typeof times === "number") {
      if (times === d.createdAt) byValue!.delete(d.value);
      return;
    }
    const i = times.indexOf(d.createdAt);
    if (i >= 0) times.splice(i, 1);
    if (times.length === 1) byValue!.set(d.value, times[0]!);
  }

  /** Forgets offences older than the escalation memory (bounded memory); cheap between hours. */
  forget(now: number): void {
    if (now < this.#nextForget) return;
    this.#nextForget = now + 3_600_000;
    const horizon = now - this.#config.escalation.memoryMs;
    for (const byValue of this.#offences.values())
      for (const [value, times] of byValue) {
        if (typeof times === "number") {
          if (times <= horizon) byValue.delete(value);
          continue;
        }
        const kept = times.filter((t) => t > horizon);
        if (kept.length === 0) byValue.delete(value);
        else if (kept.length !== times.length)
          byValue.set(value, kept.length === 1 ? kept[0]! : kept);
      }
  }

  /** Why a subject may never be acted on, or undefined when it may. */
  protection(scope: Scope, value: string): string | undefined {
    if (scope === "ip") {
      const ip = normalizeIp(value);
      if (ip === undefined) return `"${value}" is not an IP address`;
      const r = this.#allow.find(ip);
      return r ? `${ip} is in an allowlisted network` : undefined;
    }
    if (scope === "range") {
      const r = parseCidr(value);
      if (!r) return `"${value}" is not a CIDR range`;
      const limit = r.family === 4 ? this.#config.maxRangeV4 : this.#config.maxRangeV6;
      if (r.bits < limit) return `${value} is wider than the /${limit} limit (policy.max_range)`;
      if (this.#allow.overlaps(r)) return `${value} overlaps an allowlisted network`;
      return undefined;
    }
    if (scope === "account" && this.#allowAccounts.has(value.toLowerCase()))
      return `account ${value} is allowlisted`;
    return undefined;
  }

  /** Normalises the value of a subject so that duplicates compare equal. */
  static normalize(scope: Scope, value: string): string {
    if (scope === "ip") return normalizeIp(value) ?? value;
    if (scope === "range") {
      const r = parseCidr(value);
      return r ? formatCidr(r) : value;
    }
    if (scope === "email") return value.toLowerCase();
    if (scope === "domain") return value.toLowerCase().replace(/\.$/, "");
    if (scope === "as") {
      // As the surge detector and the guard write it: 64496, not AS64496.
      const asn = parseAsn(value);
      return asn < 0 ? value : String(asn);
    }
    return value;
  }

  decide(wish: DecisionWish): PolicyOutcome {
    const value = detach(DecisionPolicy.normalize(wish.scope, wish.value));
    const refused = this.protection(wish.scope, value);
    if (refused !== undefined) return { kind: "refused", reason: refused };
    if (wish.durationMs === null && wish.origin === "scenario") {
      return { kind: "refused", reason: "an automatic decision must expire" };
    }
    const horizon = wish.at - this.#config.escalation.memoryMs;
    const times = this.#offences.get(wish.scope)?.get(value);
    const active = this.#book
      .on(wish.scope, value, wish.at)
      .filter((d) => d.action === wish.action && sameOwner(d, wish));
    const past =
      times === undefined
        ? []
        : typeof times === "number"
          ? times > horizon
            ? [times]
            : []
          : times.filter((t) => t > horizon);
    let offence =
      wish.origin === "import" ? 0 : this.#book.offences(wish.scope, value, horizon) + past.length;
    // The decisions holding the subject now are this incident, not earlier offences.
    for (const d of active) if (d.createdAt > horizon && this.#counted(d, past)) offence--;
    const esc = this.#config.escalation;
    const durationMs =
      wish.durationMs === null
        ? null
        : Math.min(
            MAX_DECISION_MS,
            wish.origin === "scenario"
              ? Math.min(esc.maxMs, wish.durationMs * esc.factor ** offence)
              : wish.durationMs,
          );
    const expiresAt = durationMs === null ? null : wish.at + durationMs;

    const covering = active.find(
      (d) => d.expiresAt === null || (expiresAt !== null && d.expiresAt >= expiresAt),
    );
    if (covering) return { kind: "merged", decision: covering };

    const reason =
      offence > 0 &&
      durationMs !== null &&
      wish.durationMs !== null &&
      durationMs !== wish.durationMs
        ? `${wish.reason} (offence ${offence + 1}: ${formatDuration(durationMs)})`
        : wish.reason;
    const decision: Decision = Object.freeze({
      id: this.#newId(),
      action: wish.action,
      scope: wish.scope,
      value,
      createdAt: wish.at,
      expiresAt,
      origin: wish.origin,
      scenario: wish.scenario,
      reason,
      offence,
      tzOffset: wish.tzOffset,
    });
    for (const d of active) this.#withdrawOffence(d);
    this.recordOffence(decision);
    return { kind: "created", decision, replaces: active };
  }
}

/**
 * Whether `d` and the wish may merge, or one replace the other: a list's decisions only with
 * that list's entries, every other decision only with another that is not a list's.
 */
function sameOwner(d: Decision, wish: DecisionWish): boolean {
  if (d.origin === "import" || wish.origin === "import")
    return d.origin === wish.origin && d.scenario === wish.scenario;
  return true;
}
