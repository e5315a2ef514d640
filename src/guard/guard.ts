/**
 * The assessment: one submission in, `allow | challenge | verify | deny` out, with a score and
 * its reasons. Every signal is local (decisions, networks, lists, counters, the token and the
 * proof of work); the only outside look-up, the MX check, is bounded in time and cached. The
 * same code answers the live API and replay, with the submission's own time as the clock.
 *
 * The score adds the weights of the signals that fired (a solved proof of work subtracts), and
 * thresholds turn it into a verdict; per-form rules then set floors (Tor → challenge, a ban →
 * deny) and configured policies add their own. Weights are data (WEIGHTS), documented in
 * docs/guard.md, so that a reason always names what moved the score.
 */
import type { Action, Decision, Event, VerdictKind } from "../core/index.ts";
import { ipPrefix } from "../net/index.ts";
import type { ChallengePasses } from "./pow/challenge-pass.ts";
import type {
  Assessment,
  AsInfo,
  AsLookup,
  AddressSet,
  Counters,
  DomainSet,
  IssuedToken,
  MxChecker,
  MxState,
  PowChallenge,
  PowCheck,
  PowChecked,
  ProofOfWork,
  Submission,
  TokenCheck,
} from "./ports.ts";

/** How strong each verdict is: a floor only ever raises the verdict. */
const STRENGTH: Readonly<Record<VerdictKind, number>> = {
  allow: 0,
  challenge: 1,
  verify: 2,
  deny: 3,
};

export const stronger = (a: VerdictKind, b: VerdictKind): VerdictKind =>
  STRENGTH[a] >= STRENGTH[b] ? a : b;

/** The signals' weights in the score. Positive: suspicious; negative: reassuring. */
export const WEIGHTS = Object.freeze({
  honeypot: 1,
  "token-missing": 0.3,
  "token-invalid": 0.5,
  "token-expired": 0.2,
  "token-too-fast": 0.45,
  "pow-missing": 0.35,
  "pow-invalid": 0.5,
  "pow-reused": 0.6,
  "pow-expired": 0.2,
  "pow-solved": -0.15,
  "hosting-network": 0.25,
  tor: 0.3,
  "disposable-email": 0.3,
  "no-mx": 0.6,
  "bad-email": 0.6,
  "duplicate-email": 0.6,
  "identity-velocity": 1,
  "identity-spread": 0.3,
  "address-rate": 0.4,
  "network-rate": 0.3,
  "under-attack": 0.2,
  "concentrated-network": 0.35,
  reputation: 0.4,
  night: 0.1,
  "counters-unavailable": 0,
});
export type Reason = keyof typeof WEIGHTS;

export interface GuardThresholds {
  /** At or above: challenge. */
  readonly challenge: number;
  /** At or above: verify (hold until the e-mail is confirmed or the payment clears). */
  readonly verify: number;
  /** At or above: deny. */
  readonly deny: number;
}

/** One form's rules; unknown forms take the defaults. */
export interface FormRules {
  readonly kind: "signup" | "form.submit";
  /** Groups of fields whose normalised values make one identity ([["first_name","last_name"]]). */
  readonly identities: readonly (readonly string[])[];
  readonly requireToken: boolean;
  readonly requirePow: boolean;
  readonly minFillMs: number;
  readonly tokenMaxAgeMs: number;
  /** Verdict floor for a Tor exit. */
  readonly tor: VerdictKind;
  /** Verdict floor for a hosting network at night (sign-ups from VPSs at night: seed 000). */
  readonly hostingAtNight: VerdictKind;
  /** A second accepted submission with the same canonical e-mail is a duplicate. */
  readonly uniqueEmail: boolean;
  /** Whether e-mail signals (disposable, MX) weigh in (a petition may not care). */
  readonly emailWeight: number;
  /** Counts of one identity over the long window from which it starts to weigh, and saturates. */
  readonly identityFrom: number;
  readonly identityFull: number;
  /** Submissions per address over the short window from which it starts to weigh, and saturates. */
  readonly addressFrom: number;
  readonly addressFull: number;
}

/** A configured policy: when the expression holds, the verdict is at least `verdict`. */
export interface GuardPolicy {
  readonly name: string;
  readonly when: (e: Event) => boolean;
  readonly verdict: VerdictKind;
}

export interface GuardParts {
  readonly pow: ProofOfWork;
  /** The passes the challenge page issues (forward-auth, docs/forward-auth.md). */
  readonly passes: ChallengePasses;
  readonly tokens: {
    /** `avoid`: the form's field names, which the honeypot must not take. */
    issue(form: string, now: number, avoid: readonly string[]): IssuedToken;
    verify(
      token: string | undefined,
      form: string,
      fields: Readonly<Record<string, string>>,
      now: number,
      minFillMs: number,
      maxAgeMs: number,
    ): TokenCheck;
  };
  readonly as?: AsLookup;
  readonly tor?: AddressSet;
  readonly disposable?: DomainSet;
  readonly mx?: MxChecker;
  /** Short window (minutes): rates per address and network. */
  readonly short: Counters;
  /** Long window (a day or so): identities and e-mails. */
  readonly long: Counters;
  /** Active decisions that apply to a subject now. */
  readonly decisions: (
    subject: { ip: string; email?: string; account?: string },
    now: number,
  ) => readonly Decision[];
  /** Active decisions on an AS (`as` scope). */
  readonly asDecisions?: (asn: number, now: number) => readonly Decision[];
  /**
   * The address's reputation, 0–100 (src/reputation): past decisions here, scripts' reports
   * and peers', decaying. Absent: none is kept.
   */
  readonly reputation?: (ip: string, now: number) => number;
  /** Under-attack mode for the form, if surge detection runs. */
  readonly surge?: {
    classify(
      target: string,
      ip: string,
      asn: number | undefined,
      now: number,
    ): "normal" | "concentrated-network" | "under-attack";
  };
  readonly fingerprint: (field: string, value: string) => string | undefined;
  readonly normalizeEmail: (
    address: string,
  ) => { readonly canonical: string; readonly domain: string } | undefined;
  /** Whether a time is at night where the site is (sign-ups at night: seed 000). */
  readonly isNight: (time: number) => boolean;
}

export interface GuardOptions {
  readonly thresholds: GuardThresholds;
  /** Challenges one address may fetch per short window (0: no limit). */
  readonly challengesPerAddress: number;
  readonly defaults: FormRules;
  readonly forms: ReadonlyMap<string, FormRules>;
  readonly policies: readonly GuardPolicy[];
}

/**
 * The work asked of an address under a floor (a decision, a Tor exit, a network under
 * attack): the level of its challenges, and the least level whose solution meets a
 * `challenge` floor.
 */
const FLOOR_LEVEL = 2;

/**
 * The form the challenge page's proofs of work are bound to: no form id can take it (they are
 * letters, digits and `_ . / -`), so no form's widget can fetch one at a lower level.
 */
export const PASS_FORM = "#pass";

/** What `earnPass` answers: a pass, or why not (a PowCheck reason, or `too-easy`). */
export type PassEarned =
  | { readonly ok: true; readonly value: string; readonly expiresAt: number }
  | { readonly ok: false; readonly reason: string };

/** A decision's action as a verdict floor. */
const DECISION_FLOOR: Readonly<Record<Action, VerdictKind>> = {
  ban: "deny",
  suspend: "deny",
  hold: "verify",
  verify: "verify",
  challenge: "challenge",
  throttle: "challenge",
};

/** Everything an assessment saw, for reasons and for the policies' expressions. */
export interface Seen {
  /** By reason (a `Reason`, or `decision-<verdict>`): its weight in the score. */
  readonly reasons: Map<string, number>;
  floor: VerdictKind;
  as: AsInfo | undefined;
  tor: boolean;
  night: boolean;
  /** The address's reputation, 0–100. */
  reputation: number;
  disposable: boolean;
  mx: MxState | "skipped";
  token: TokenCheck | undefined;
  pow: PowCheck | undefined;
  identityCount: number;
  identitySpread: number;
  addressCount: number;
  networkCount: number;
  surge: "normal" | "concentrated-network" | "under-attack";
  canonicalEmail: string | undefined;
}

/**
 * The signals of a submission that need no state: the form token, the proof of work before
 * its once-only claim, the e-mail's canonical form and the identities' fingerprints. An API
 * thread computes them where it reads the request (src/http/api-threads.ts); otherwise
 * `assess` does. Plain data, so that it crosses threads.
 */
export interface Prepared {
  readonly token: TokenCheck;
  readonly pow: PowChecked;
  /** Absent: no e-mail given; null: not an e-mail address. */
  readonly email?: { readonly canonical: string; readonly domain: string } | null;
  /** `fp:<form>:<fingerprint>`, one per identity group that had a value. */
  readonly identities: readonly string[];
}

/** The parts the stateless half of an assessment needs: no counters, lists or decisions. */
export type PreparerParts = Pick<GuardParts, "tokens" | "fingerprint" | "normalizeEmail"> & {
  readonly pow: Pick<ProofOfWork, "check">;
};

/** The stateless half of the guard: the same in the daemon's thread and in an API thread. */
export class GuardPreparer {
  readonly #parts: PreparerParts;
  readonly #options: Pick<GuardOptions, "defaults" | "forms">;

  constructor(parts: PreparerParts, options: Pick<GuardOptions, "defaults" | "forms">) {
    this.#parts = parts;
    this.#options = options;
  }

  prepare(s: Submission): Prepared {
    const p = this.#parts;
    const rules = this.#options.forms.get(s.form) ?? this.#options.defaults;
    const identities: string[] = [];
    for (const group of rules.identities) {
      const value = group.map((f) => s.fields[f] ?? "").join(" ");
      const fp = p.fingerprint(group.join("+"), value);
      if (fp !== undefined) identities.push(`fp:${s.form}:${fp}`);
    }
    const out: { -readonly [K in keyof Prepared]: Prepared[K] } = {
      token: p.tokens.verify(
        s.token,
        s.form,
        s.fields,
        s.time,
        rules.minFillMs,
        rules.tokenMaxAgeMs,
      ),
      pow: p.pow.check(s.altcha, s.form, s.time),
      identities,
    };
    if (s.email !== undefined && s.email !== "") out.email = p.normalizeEmail(s.email) ?? null;
    return out;
  }
}

const NONE: readonly number[] = Object.freeze([]);

/** The reputation (0–100) from which it weighs, and at which it weighs fully. */
const REPUTATION_FROM = 25;
const REPUTATION_FULL = 85;

const ramp = (value: number, from: number, full: number): number =>
  value <= from ? 0 : value >= full ? 1 : (value - from) / (full - from);

export class Guard {
  readonly #parts: GuardParts;
  readonly #options: GuardOptions;
  readonly #preparer: GuardPreparer;

  constructor(parts: GuardParts, options: GuardOptions) {
    this.#parts = parts;
    this.#options = options;
    this.#preparer = new GuardPreparer(parts, options);
  }

  rules(form: string): FormRules {
    return this.#options.forms.get(form) ?? this.#options.defaults;
  }

  /**
   * A token for a page about to be rendered, with the form's minimum fill time. Its honeypot
   * is named after none of the form's fields: its identities', and `fields` (the page's
   * others, as the application lists them).
   */
  token(
    form: string,
    now: number,
    fields: readonly string[] = [],
  ): IssuedToken & { readonly minFillMs: number } {
    const rules = this.rules(form);
    const avoid = [...rules.identities.flat(), ...fields];
    return { ...this.#parts.tokens.issue(form, now, avoid), minFillMs: rules.minFillMs };
  }

  /**
   * The challenge a page's widget fetches: its work follows the address's risk. `undefined`
   * when the address fetched more than its limit within the short window (counters out of
   * reach do not refuse anyone).
   */
  async challenge(form: string, ip: string, now: number): Promise<PowChallenge | undefined> {
    if (!(await this.#mayFetch(ip, now))) return undefined;
    return this.#parts.pow.challenge(form, this.#levelFor(form, ip, now), now);
  }

  /**
   * The challenge page's proof of work (forward-auth): at least the level a challenged
   * address gets anywhere, so that a pass never costs less than the challenge it answers.
   * `undefined` past the same per-address limit as `challenge`.
   */
  async passChallenge(ip: string, now: number): Promise<PowChallenge | undefined> {
    if (!(await this.#mayFetch(ip, now))) return undefined;
    return this.#parts.pow.challenge(PASS_FORM, this.#passLevel(ip, now), now);
  }

  /**
   * A pass for `ip`, if `payload` solves a challenge of the page at the level the address
   * needs now. The solution is used up either way.
   */
  async earnPass(payload: string | undefined, ip: string, now: number): Promise<PassEarned> {
    const p = this.#parts;
    const pow = await p.pow.claim(p.pow.check(payload, PASS_FORM, now), now);
    if (!pow.ok) return { ok: false, reason: pow.reason };
    // A challenge fetched from an address at less risk, solved and sent from this one.
    if (pow.level < this.#passLevel(ip, now)) return { ok: false, reason: "too-easy" };
    return { ok: true, ...p.passes.issue(ip, now) };
  }

  /** Whether one of the cookie `values` is a valid pass for `ip` (synchronous: forward-auth). */
  hasPass(values: readonly string[], ip: string, now: number): boolean {
    for (const v of values) if (this.#parts.passes.valid(v, ip, now)) return true;
    return false;
  }

  /** Whether `ip` may fetch another challenge (counters out of reach do not refuse anyone). */
  async #mayFetch(ip: string, now: number): Promise<boolean> {
    const limit = this.#options.challengesPerAddress;
    if (limit <= 0) return true;
    const [fetched = 0] = await this.#parts.short.hit([`challenge:${ip}`], now).catch(() => []);
    return fetched <= limit;
  }

  /** The work a challenge for `form` asks of `ip`: it follows the address's risk. */
  #levelFor(form: string, ip: string, now: number): number {
    const p = this.#parts;
    const as = p.as?.lookup(ip);
    const floor = this.#decisionFloor({ ip }, as, now);
    if (floor === "deny") return 3;
    if (floor !== "allow") return FLOOR_LEVEL;
    if (p.tor?.has(ip) === true) return FLOOR_LEVEL;
    if (p.surge !== undefined && p.surge.classify(form, ip, as?.asn, now) !== "normal")
      return FLOOR_LEVEL;
    return as?.hosting === true ? 1 : 0;
  }

  #passLevel(ip: string, now: number): number {
    return Math.max(FLOOR_LEVEL, this.#levelFor(PASS_FORM, ip, now));
  }

  /**
   * `prepared`: the stateless signals, when an API thread computed them for this submission
   * (at its `time`); else they are computed here.
   */
  async assess(s: Submission, prepared?: Prepared): Promise<Assessment> {
    const seen = await this.#look(s, prepared ?? this.#preparer.prepare(s));
    return this.#judge(s, seen);
  }

  /** Gathers the signals. Counting happens here too: every submission is a hit. */
  async #look(s: Submission, prepared: Prepared): Promise<Seen> {
    const p = this.#parts;
    const rules = this.rules(s.form);
    const now = s.time;
    const reasons = new Map<string, number>();
    const add = (r: Reason, factor = 1): void => {
      if (factor !== 0) reasons.set(r, (reasons.get(r) ?? 0) + WEIGHTS[r] * factor);
    };
    const as = p.as?.lookup(s.ip);
    const seen: Seen = {
      reasons,
      floor: this.#decisionFloor(s, as, now),
      as,
      tor: p.tor?.has(s.ip) === true,
      night: p.isNight(now),
      reputation: p.reputation?.(s.ip, now) ?? 0,
      disposable: false,
      mx: "skipped",
      token: undefined,
      pow: undefined,
      identityCount: 0,
      identitySpread: 0,
      addressCount: 0,
      networkCount: 0,
      surge: "normal",
      canonicalEmail: undefined,
    };
    if (seen.floor !== "allow") reasons.set(`decision-${seen.floor}`, 0);

    // The page: the form token (honeypot, fill time) and the proof of work.
    const token = prepared.token;
    seen.token = token;
    if (!token.ok) {
      if (token.reason === "honeypot") add("honeypot");
      else if (token.reason === "missing") add("token-missing", rules.requireToken ? 1 : 0);
      else if (token.reason === "expired") add("token-expired");
      else if (token.reason === "too-fast") add("token-too-fast");
      else add("token-invalid");
    }
    const pow = await p.pow.claim(prepared.pow, now);
    seen.pow = pow;
    if (pow.ok) add("pow-solved", 1 + pow.level);
    else if (pow.reason === "missing") add("pow-missing", rules.requirePow ? 1 : 0);
    else if (pow.reason === "reused") add("pow-reused");
    else if (pow.reason === "expired") add("pow-expired");
    else add("pow-invalid");

    // The network.
    if (seen.tor) {
      add("tor");
      seen.floor = stronger(seen.floor, rules.tor);
    }
    if (as?.hosting === true) {
      add("hosting-network");
      if (seen.night) {
        add("night");
        seen.floor = stronger(seen.floor, rules.hostingAtNight);
      }
    }
    // What was held against the address before, here and by peers: weighs from a confidence
    // of 25 (one report on the address, or many on its network), fully from 85.
    add("reputation", ramp(seen.reputation, REPUTATION_FROM, REPUTATION_FULL));
    if (p.surge !== undefined) {
      seen.surge = p.surge.classify(s.form, s.ip, as?.asn, now);
      if (seen.surge === "concentrated-network") {
        add("concentrated-network");
        seen.floor = stronger(seen.floor, "challenge");
      } else if (seen.surge === "under-attack") add("under-attack");
    }

    // The e-mail.
    let emailDomain: string | undefined;
    if (prepared.email !== undefined) {
      const e = prepared.email;
      if (e === null) add("bad-email", rules.emailWeight);
      else {
        seen.canonicalEmail = e.canonical;
        emailDomain = e.domain;
        if (p.disposable?.has(e.domain) === true) {
          seen.disposable = true;
          add("disposable-email", rules.emailWeight);
        }
        if (p.mx !== undefined && rules.emailWeight > 0) {
          seen.mx = await p.mx.check(e.domain);
          if (seen.mx === "none") add("no-mx", rules.emailWeight);
        }
      }
    }

    // Counters: rates per address and network (short window), identities and e-mails (long).
    const net = `net:${ipPrefix(s.ip, s.ip.includes(":") ? 48 : 24)}`;
    const shortKeys = [`ip:${s.ip}`, net, `form:${s.form}`];
    if (as !== undefined) shortKeys.push(`as:${as.asn}`);
    if (emailDomain !== undefined) shortKeys.push(`edom:${emailDomain}`);
    const identityKeys = prepared.identities;
    const emailKey =
      rules.uniqueEmail && seen.canonicalEmail !== undefined
        ? `em:${s.form}:${seen.canonicalEmail}`
        : undefined;
    const spreadKeys = identityKeys.map((k) => `${k}:ips`);
    let shortCounts: readonly number[];
    let identityCounts: readonly number[] = NONE;
    let spreads: readonly number[] = NONE;
    let emailCounts: readonly number[] = NONE;
    const shortSync = p.short.sync;
    const longSync = p.long.sync;
    if (shortSync !== undefined && longSync !== undefined) {
      // In this process's memory: answered at once, without a promise per call.
      shortCounts = shortSync.hit(shortKeys, now);
      if (identityKeys.length > 0) {
        identityCounts = longSync.hit(identityKeys, now);
        spreads = longSync.distinct(spreadKeys, net, now);
      }
      if (emailKey !== undefined) emailCounts = longSync.count([emailKey], now);
    } else {
      // Counters in Redis may be out of reach: the assessment goes on without them (fail
      // open), and says so.
      const unavailable = (): number[] => {
        add("counters-unavailable");
        return [];
      };
      const none = Promise.resolve(NONE);
      [shortCounts, identityCounts, spreads, emailCounts] = await Promise.all([
        p.short.hit(shortKeys, now).catch(unavailable),
        identityKeys.length > 0 ? p.long.hit(identityKeys, now).catch(unavailable) : none,
        identityKeys.length > 0 ? p.long.distinct(spreadKeys, net, now).catch(unavailable) : none,
        emailKey !== undefined ? p.long.count([emailKey], now).catch(unavailable) : none,
      ]);
    }
    seen.addressCount = shortCounts[0] ?? 0;
    seen.networkCount = shortCounts[1] ?? 0;
    seen.identityCount = Math.max(0, ...identityCounts);
    seen.identitySpread = Math.max(0, ...spreads);
    add("address-rate", ramp(seen.addressCount, rules.addressFrom, rules.addressFull));
    add("network-rate", ramp(seen.networkCount, rules.addressFrom * 3, rules.addressFull * 3));
    add("identity-velocity", ramp(seen.identityCount, rules.identityFrom, rules.identityFull));
    // One identity from many networks in a day: a campaign, not a person.
    add("identity-spread", ramp(seen.identitySpread, 3, 12));
    if ((emailCounts[0] ?? 0) > 0) add("duplicate-email");
    return seen;
  }

  #decisionFloor(
    subject: { readonly ip: string; readonly email?: string; readonly account?: string },
    as: AsInfo | undefined,
    now: number,
  ): VerdictKind {
    const p = this.#parts;
    let floor: VerdictKind = "allow";
    const query: { ip: string; email?: string; account?: string } = { ip: subject.ip };
    if (subject.email !== undefined) query.email = subject.email;
    if (subject.account !== undefined) query.account = subject.account;
    for (const d of p.decisions(query, now)) floor = stronger(floor, DECISION_FLOOR[d.action]);
    if (as !== undefined && p.asDecisions !== undefined)
      for (const d of p.asDecisions(as.asn, now)) floor = stronger(floor, DECISION_FLOOR[d.action]);
    return floor;
  }

  async #judge(s: Submission, seen: Seen): Promise<Assessment> {
    const { thresholds, policies } = this.#options;
    const rules = this.rules(s.form);
    let score = 0;
    for (const w of seen.reasons.values()) score += w;
    score = Math.min(1, Math.max(0, score));
    let verdict: VerdictKind =
      score >= thresholds.deny
        ? "deny"
        : score >= thresholds.verify
          ? "verify"
          : score >= thresholds.challenge
            ? "challenge"
            : "allow";
    // A post that did none of the page's work (no valid token, no solution) is asked to do it
    // before anything is held for an e-mail: holding it would send a confirmation mail to
    // whatever address a script made up (90,000 of them in seed 004).
    if (verdict === "verify" && seen.token?.ok !== true && seen.pow?.ok !== true)
      verdict = "challenge";
    verdict = stronger(verdict, seen.floor);
    const matched: string[] = [];
    if (policies.length > 0) {
      const e = signalEvent(s, seen);
      for (const policy of policies)
        if (policy.when(e)) {
          verdict = stronger(verdict, policy.verdict);
          matched.push(`policy:${policy.name}`);
        }
    }
    // A challenge already met at the level the risk asks for is satisfied: ask for no more. A
    // challenge floor (a challenge decision, a Tor exit, a concentrated network) asks for the
    // level GET /v1/guard/challenge gives such an address: its widget solves that one.
    const level = Math.max(
      seen.floor === "challenge" ? FLOOR_LEVEL : 1,
      Math.min(3, Math.max(1, Math.ceil((score - thresholds.challenge) * 6))),
    );
    if (verdict === "challenge" && seen.pow?.ok === true && seen.pow.level >= level)
      verdict = "allow";
    if (rules.kind === "form.submit" && verdict === "verify" && (s.email ?? "") === "")
      verdict = "challenge";
    const reasons = [...seen.reasons.entries()].sort((a, b) => b[1] - a[1]).map(([r]) => r);
    reasons.push(...matched);
    // An accepted submission's e-mail counts for duplicates from now on.
    if (
      (verdict === "allow" || verdict === "verify") &&
      rules.uniqueEmail &&
      seen.canonicalEmail !== undefined
    ) {
      const key = [`em:${s.form}:${seen.canonicalEmail}`];
      const long = this.#parts.long;
      if (long.sync !== undefined) long.sync.hit(key, s.time);
      // Out of reach: the duplicate check fails open, as above.
      else await long.hit(key, s.time).catch(() => undefined);
    }
    const out: { -readonly [K in keyof Assessment]: Assessment[K] } = {
      verdict,
      score: Math.round(score * 1000) / 1000,
      reasons,
    };
    if (verdict === "challenge")
      out.challenge = await this.#parts.pow.challenge(s.form, level, s.time);
    return out;
  }
}

/** The signals a policy reads, as `fields.<name>` (docs/guard.md, "Policies"). */
export const POLICY_FIELDS = Object.freeze([
  "form",
  "hosting",
  "asn",
  "as_name",
  "tor",
  "night",
  "disposable",
  "mx",
  "token",
  "pow",
  "identity_count",
  "identity_spread",
  "address_count",
  "network_count",
  "surge",
  "reputation",
] as const);

/**
 * The event the policies' expressions see: the submission, with every signal as a field
 * (`fields.hosting`, `fields.tor`, `fields.night`, `fields.asn`, `fields.disposable`, …).
 */
export function signalEvent(s: Submission, seen: Seen): Event {
  const fields: Record<(typeof POLICY_FIELDS)[number], string | number | boolean | null> = {
    form: s.form,
    hosting: seen.as?.hosting === true,
    asn: seen.as?.asn ?? null,
    as_name: seen.as?.name ?? null,
    tor: seen.tor,
    night: seen.night,
    disposable: seen.disposable,
    mx: seen.mx,
    token: seen.token === undefined ? "missing" : seen.token.ok ? "ok" : seen.token.reason,
    pow: seen.pow === undefined ? "missing" : seen.pow.ok ? "ok" : seen.pow.reason,
    identity_count: seen.identityCount,
    identity_spread: seen.identitySpread,
    address_count: seen.addressCount,
    network_count: seen.networkCount,
    surge: seen.surge,
    reputation: seen.reputation,
  };
  const e: { -readonly [K in keyof Event]: Event[K] } = {
    id: s.id,
    type: s.kind,
    time: s.time,
    tzOffset: 0,
    service: "guard",
    ip: s.ip,
    fields,
  };
  if (s.email !== undefined) e.email = s.email;
  if (s.account !== undefined) e.account = s.account;
  return e;
}
