/**
 * The guard's contracts: what a submission is, what the assessment answers, and the slices of
 * the signal providers it reads. Each provider lives in its own folder below src/guard/ and
 * satisfies one of these ports; guard.ts combines them. Everything on the hot path is local:
 * no provider may do network I/O while an assessment waits on it, except the MX look-up, which
 * is bounded in time and cached.
 */
import type { VerdictKind } from "../core/index.ts";

/** What the application is about to accept: a sign-up or a form post. */
export interface Submission {
  /** The application's id for it (becomes the event id; the verdict line refers to it). */
  readonly id: string;
  readonly kind: "signup" | "form.submit";
  /** The form's id, as configured (`petition`, `signup`); unknown forms get the defaults. */
  readonly form: string;
  /** When it was submitted (the clock's time live, the event's time in replay), ms. */
  readonly time: number;
  /** The client's address, normalised. */
  readonly ip: string;
  readonly email?: string;
  readonly account?: string;
  readonly userAgent?: string;
  /** The submitted fields by name (names without the `fields.` prefix), as strings. */
  readonly fields: Readonly<Record<string, string>>;
  /** The signed form token the page carried (form-token.ts), if any. */
  readonly token?: string;
  /** The ALTCHA payload (base64 JSON) the widget put in the form, if any. */
  readonly altcha?: string;
}

/** The guard's answer. `score` is in [0, 1]: 0 harmless, 1 certainly abusive. */
export interface Assessment {
  readonly verdict: VerdictKind;
  readonly score: number;
  /** Short machine-readable reasons, most important first: `tor`, `fingerprint-velocity`, … */
  readonly reasons: readonly string[];
  /** With `challenge`: the proof of work to solve, harder as the risk grows. */
  readonly challenge?: PowChallenge;
}

// ── Proof of work (src/guard/pow/) ────────────────────────────────────────────────────────

/** An ALTCHA challenge as the widget takes it (its JSON, passed through untouched). */
export type PowChallenge = Readonly<Record<string, unknown>>;

export type PowCheck =
  /** `level`: the level of the challenge that was solved (a harder one satisfies an easier). */
  | { readonly ok: true; readonly level: number }
  | {
      readonly ok: false;
      /** `missing`, `malformed`, `bad-signature`, `wrong-form`, `expired`, `reused`, `wrong-solution` */
      readonly reason: string;
    };

/**
 * A solution checked without the once-store (signature, form, expiry, work): what a worker
 * thread can tell. `once` and `until` are what `claim` records.
 */
export type PowChecked =
  | {
      readonly ok: true;
      readonly level: number;
      readonly once: string;
      readonly until: number;
    }
  | { readonly ok: false; readonly reason: string };

export interface ProofOfWork {
  /**
   * A new challenge bound to `form`, expiring, whose work grows with `level` (0 = the invisible
   * default, 1..3 = harder, as the risk asks).
   */
  challenge(form: string, level: number, now: number): Promise<PowChallenge>;
  /** Checks a solution without state (no once-store): never throws. */
  check(payload: string | undefined, form: string, now: number): PowChecked;
  /** A checked solution is accepted once: a second claim answers `reused`. */
  claim(checked: PowChecked, now: number): Promise<PowCheck>;
}

// ── Form token (src/guard/token/) ─────────────────────────────────────────────────────────

export interface IssuedToken {
  readonly token: string;
  /** The name of the honeypot field the page must render hidden and leave empty. */
  readonly honeypot: string;
}

export type TokenCheck =
  | { readonly ok: true; readonly fillMs: number }
  | {
      readonly ok: false;
      /** `missing`, `malformed`, `bad-signature`, `wrong-form`, `expired`, `too-fast`, `honeypot` */
      readonly reason: string;
    };

// ── Networks (src/guard/networks/) ────────────────────────────────────────────────────────

export interface AsInfo {
  readonly asn: number;
  readonly name: string;
  /** Hosting, data-centre or VPN network: where people do not usually sit. */
  readonly hosting: boolean;
}

export interface AsLookup {
  /**
   * Synchronous and allocation-free on a hit (but for an AS's first): it runs on every
   * assessment.
   */
  lookup(ip: string): AsInfo | undefined;
}

export interface AddressSet {
  has(ip: string): boolean;
}

// ── E-mail (src/guard/email/) ─────────────────────────────────────────────────────────────

export type MxState = "ok" | "none" | "unknown";

export interface MxChecker {
  /** Whether the domain can receive mail; "unknown" when the look-up did not end in time. */
  check(domain: string): Promise<MxState>;
}

export interface DomainSet {
  has(domain: string): boolean;
}

// ── Counters (src/guard/limits/) ──────────────────────────────────────────────────────────

/**
 * Counts hits per key in a sliding window, in memory or in Redis (so several nodes share
 * them). Keys are strings such as `ip:203.0.113.7`, `ip24:203.0.113.0`, `as:16276`,
 * `edom:example.org`, `fp:name:<hash>`, `form:petition`.
 */
export interface Counters {
  /** Adds one hit to each key and answers each key's count over the window, this hit included. */
  hit(keys: readonly string[], now: number): Promise<readonly number[]>;
  /**
   * Adds `member` to each key's set of distinct members (a fingerprint's addresses, say) and
   * answers each set's size over the window (exact up to a bound, then an estimate).
   */
  distinct(keys: readonly string[], member: string, now: number): Promise<readonly number[]>;
  /** Each key's count over the window, adding nothing (to test before counting a success). */
  count(keys: readonly string[], now: number): Promise<readonly number[]>;
  close(): Promise<void>;
  /**
   * The same operations answered at once, for a backend in this process's memory: the guard
   * then counts without a promise per call. Absent for a backend across the network.
   */
  readonly sync?: SyncCounters;
}

/** `Counters` without promises (a backend that never waits and never fails). */
export interface SyncCounters {
  hit(keys: readonly string[], now: number): readonly number[];
  distinct(keys: readonly string[], member: string, now: number): readonly number[];
  count(keys: readonly string[], now: number): readonly number[];
}
