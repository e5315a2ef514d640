/** What a decision, an alert or a score is about. */
export type Scope = "ip" | "range" | "as" | "account" | "email" | "domain" | "fingerprint" | "form";
export const SCOPES: readonly Scope[] = Object.freeze([
  "ip",
  "range",
  "as",
  "account",
  "email",
  "domain",
  "fingerprint",
  "form",
]);

export type Action = "ban" | "challenge" | "hold" | "suspend" | "throttle" | "verify";
export const ACTIONS: readonly Action[] = Object.freeze([
  "ban",
  "challenge",
  "hold",
  "suspend",
  "throttle",
  "verify",
]);

/** Where a decision came from. */
export type Origin = "scenario" | "manual" | "import" | "peer";

/**
 * The only thing enforcers see. Immutable; a change is a new decision (or a deletion).
 * Every automatic decision has an expiry; a manual one may be permanent (`expiresAt: null`).
 */
export interface Decision {
  readonly id: string;
  readonly action: Action;
  readonly scope: Scope;
  readonly value: string;
  /** Event time (or wall time for manual decisions) of creation, ms since the epoch. */
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly origin: Origin;
  /** The scenario that raised it, or the list it came from, or the operator's name. */
  readonly scenario: string;
  readonly reason: string;
  /** How many earlier decisions this subject had when this one was made (escalation step). */
  readonly offence: number;
  /** The offset from UTC in which `createdAt` should be rendered. */
  readonly tzOffset: number;
}

/** A scenario's finding, with what it saw. Alerts are kept even when no decision follows. */
export interface Alert {
  readonly id: string;
  readonly scenario: string;
  readonly scope: Scope;
  readonly value: string;
  readonly at: number;
  readonly tzOffset: number;
  /** How many events the scenario counted when it fired. */
  readonly count: number;
  readonly message: string;
  /** Ids of the events that made it fire (bounded), and a few of their details. */
  readonly evidence: readonly AlertEvidence[];
  /** The decision ids it led to, if any. */
  readonly decisions: readonly string[];
}

export interface AlertEvidence {
  readonly event: string;
  readonly time: number;
  readonly ip?: string;
  readonly account?: string;
}

/** What an application is told to do with a submission. */
export type VerdictKind = "allow" | "challenge" | "verify" | "deny";

export interface Verdict {
  readonly kind: VerdictKind;
  readonly score: number;
  readonly reasons: readonly string[];
}
