/**
 * The account trust state machine, as data: states, canonical causes, and the transitions
 * keyed by (state, cause). Pure and synchronous: `step` moves one state by one cause, `fold`
 * replays a whole set of causes in their own time order, so the state an account reaches
 * depends on which causes happened, never on the order they were delivered in.
 */
import type { Action, VerdictKind } from "../../core/index.ts";

export const ACCOUNT_STATES = Object.freeze([
  "unknown",
  "pending_email",
  "email_verified",
  "pending_payment",
  "active",
  "restricted",
  "suspended",
  "under_review",
  "banned",
  "closed",
  "expired",
] as const);
export type AccountState = (typeof ACCOUNT_STATES)[number];

/** The states of the normal life of an account: where a held account goes back to. */
const LIFECYCLE: readonly AccountState[] = [
  "pending_email",
  "email_verified",
  "pending_payment",
  "active",
];

/** Held states: lifecycle causes move the state they resume at, not the state itself. */
const HELD: readonly AccountState[] = ["suspended", "under_review", "banned"];

/** States an account may resume at: its lifecycle, or `unknown` if it never signed up. */
const RESUMABLE: readonly AccountState[] = ["unknown", ...LIFECYCLE];

/**
 * What its payments can do to an account: a failure restricts it, money taken back suspends
 * it. While it is held, they move the state it resumes at, as its lifecycle's causes do.
 */
const PENALTIES: readonly AccountState[] = ["restricted", "suspended"];

/** Causes an application or a payment provider may report as events. */
const EVENT_CAUSES = [
  "signup",
  "email.confirmed",
  "payment.started",
  "payment.confirmed",
  "payment.failed",
  "payment.charged_back",
  "mandate.cancelled",
  "mandate.blocked",
  "account.closed",
] as const;
const EVENT_CAUSE_SET: ReadonlySet<string> = new Set(EVENT_CAUSES);

/**
 * What can move an account, after canonicalisation (`canonicalCause`): application and
 * payment-provider events, guard verdicts, decisions on the account, operator actions, time.
 */
export const ACCOUNT_CAUSES = Object.freeze([
  ...EVENT_CAUSES,
  "signup.denied",
  "verdict.deny",
  "verdict.verify",
  "decision.ban",
  "decision.suspend",
  "operator.review",
  "operator.restore",
  "operator.ban",
  "operator.close",
  "time.expired",
] as const);
export type AccountCause = (typeof ACCOUNT_CAUSES)[number];

/**
 * Event types (application events, and GoCardless `<resource>.<action>` pairs) that mean one
 * canonical cause. A type missing here and from ACCOUNT_CAUSES is not about the account's
 * life (a login, a form post) and is not recorded.
 */
export const CAUSE_ALIASES: Readonly<Record<string, AccountCause>> = Object.freeze({
  "payment.created": "payment.started",
  "payment.submitted": "payment.started",
  "payment.pending_submission": "payment.started",
  "payment.pending_customer_approval": "payment.started",
  "payment.customer_approval_granted": "payment.started",
  "payment.resubmission_requested": "payment.started",
  "mandate.created": "payment.started",
  "mandate.submitted": "payment.started",
  "mandate.active": "payment.started",
  "mandate.reinstated": "payment.started",
  "subscription.created": "payment.started",
  "payment.paid_out": "payment.confirmed",
  "payment.paid": "payment.confirmed",
  "payment.cancelled": "payment.failed",
  "payment.customer_approval_denied": "payment.failed",
  "payment.late_failure_settled": "payment.failed",
  "mandate.failed": "payment.failed",
  "payment.chargeback_settled": "payment.charged_back",
  "mandate.expired": "mandate.cancelled",
  "mandate.consumed": "mandate.cancelled",
  "subscription.cancelled": "mandate.cancelled",
  "account.deleted": "account.closed",
});

/**
 * The canonical cause of an event type, or undefined when it does not concern accounts.
 * Verdicts, decisions, operator actions and time are not events: a sensor key cannot ban.
 */
export function canonicalCause(type: string): AccountCause | undefined {
  // Own members only: "constructor" or "toString" from an application is no cause.
  if (Object.hasOwn(CAUSE_ALIASES, type)) return CAUSE_ALIASES[type];
  return EVENT_CAUSE_SET.has(type) ? (type as AccountCause) : undefined;
}

/** A stored cause's name back to the cause (any kind). */
export function storedCause(name: string): AccountCause | undefined {
  return (ACCOUNT_CAUSES as readonly string[]).includes(name) ? (name as AccountCause) : undefined;
}

/** The cause a guard verdict stands for (undefined: allow and challenge move nothing). */
export function verdictCause(verdict: VerdictKind, signup: boolean): AccountCause | undefined {
  if (signup) return verdict === "deny" ? "signup.denied" : "signup";
  if (verdict === "deny") return "verdict.deny";
  if (verdict === "verify") return "verdict.verify";
  return undefined;
}

/** The cause a decision on the account stands for (ban and suspend; others move nothing). */
export function decisionCause(action: Action): AccountCause | undefined {
  if (action === "ban") return "decision.ban";
  if (action === "suspend") return "decision.suspend";
  return undefined;
}

/** Where a transition goes; `resume` means the state a held account was in before. */
type Target = AccountState | "resume" | "by-payment";

export interface TransitionRule {
  readonly from: readonly AccountState[];
  readonly cause: AccountCause;
  /** `by-payment`: `email_verified` when a payment is required, else `active`. */
  readonly to: Target;
  /** Why it exists, for docs/guard-accounts.md and the history. */
  readonly note: string;
}

const ANY_BUT = (...except: AccountState[]): readonly AccountState[] =>
  ACCOUNT_STATES.filter((s) => !except.includes(s));

/** The transition table. The first rule whose `from` holds the state and `cause` matches wins. */
export const TRANSITIONS: readonly TransitionRule[] = Object.freeze([
  { from: ["unknown", "expired"], cause: "signup", to: "pending_email", note: "signed up" },
  {
    from: ["unknown", "expired"],
    cause: "signup.denied",
    to: "under_review",
    note: "the guard refused the sign-up; created anyway, an operator looks",
  },
  {
    from: ["pending_email"],
    cause: "email.confirmed",
    to: "by-payment",
    note: "e-mail confirmed",
  },
  { from: ["pending_email"], cause: "time.expired", to: "expired", note: "e-mail never confirmed" },
  {
    from: ["email_verified"],
    cause: "payment.started",
    to: "pending_payment",
    note: "a mandate or payment is under way",
  },
  {
    from: ["email_verified", "pending_payment", "restricted"],
    cause: "payment.confirmed",
    to: "active",
    note: "the payment cleared",
  },
  {
    from: ["pending_payment", "active"],
    cause: "payment.failed",
    to: "restricted",
    note: "a payment or mandate failed",
  },
  {
    from: ["pending_payment", "active"],
    cause: "mandate.cancelled",
    to: "restricted",
    note: "no way to pay any more",
  },
  {
    from: ["email_verified", "pending_payment", "active", "restricted"],
    cause: "payment.charged_back",
    to: "suspended",
    note: "money taken back: the bank account was not the payer's",
  },
  {
    from: ["email_verified", "pending_payment", "active", "restricted"],
    cause: "mandate.blocked",
    to: "suspended",
    note: "the provider blocked the bank details",
  },
  {
    from: ["pending_email", "email_verified", "pending_payment", "active", "restricted"],
    cause: "verdict.deny",
    to: "under_review",
    note: "the guard refused one of its submissions",
  },
  {
    from: ["pending_email", "email_verified", "pending_payment", "active", "restricted"],
    cause: "verdict.verify",
    to: "under_review",
    note: "the guard asked for verification too often (verify_limit)",
  },
  {
    from: ANY_BUT("banned", "closed", "suspended"),
    cause: "decision.suspend",
    to: "suspended",
    note: "a suspend decision on the account",
  },
  { from: ANY_BUT("banned"), cause: "decision.ban", to: "banned", note: "a ban decision" },
  {
    from: ANY_BUT("unknown", "under_review", "banned", "closed", "expired"),
    cause: "operator.review",
    to: "under_review",
    note: "an operator holds it for review",
  },
  {
    from: ["restricted", "suspended", "under_review", "banned"],
    cause: "operator.restore",
    to: "resume",
    note: "an operator lets it go back where it was",
  },
  { from: ANY_BUT("banned"), cause: "operator.ban", to: "banned", note: "an operator bans it" },
  {
    from: ANY_BUT("unknown", "closed"),
    cause: "operator.close",
    to: "closed",
    note: "an operator closes it",
  },
  {
    // A ban outlives the application's deletion of the account: the name stays banned.
    from: ANY_BUT("unknown", "closed", "banned"),
    cause: "account.closed",
    to: "closed",
    note: "the application closed it",
  },
] satisfies TransitionRule[]);

/** What the machine knows of an account besides its state. Immutable. */
export interface MachineState {
  readonly state: AccountState;
  /** When it entered `state`, ms. */
  readonly since: number;
  /**
   * The state a held or restricted account goes back to on `operator.restore`: its lifecycle
   * state, or a penalty (restricted, suspended) that came while it was held.
   */
  readonly resume: AccountState;
  /** When `resume` is a penalty: the lifecycle state the penalty itself resumes at. */
  readonly beneath: AccountState;
  /** Whether e-mail confirmation leads to `email_verified` (a payment is then needed). */
  readonly paymentRequired: boolean;
  /** `verdict.verify` seen since the last change of state. */
  readonly verifies: number;
}

export interface MachineOptions {
  readonly requirePayment: boolean;
  /** After this long in `pending_email`, the account expires, ms. */
  readonly pendingEmailExpiryMs: number;
  /** How many `verify` verdicts put an account under review. */
  readonly verifyLimit: number;
}

export const INITIAL: MachineState = Object.freeze({
  state: "unknown",
  since: 0,
  resume: "unknown",
  beneath: "unknown",
  paymentRequired: false,
  verifies: 0,
});

/** One cause as the machine sees it. */
export interface MachineInput {
  readonly cause: AccountCause;
  readonly time: number;
  /** The guard's verdict on the sign-up: `verify` makes a payment necessary. */
  readonly verdict?: VerdictKind;
}

export type StepResult =
  | { readonly kind: "moved"; readonly next: MachineState; readonly note: string }
  /** A lifecycle cause while held: only the state to resume at moved. */
  | { readonly kind: "resumed"; readonly next: MachineState; readonly note: string }
  /** Counted (a `verify` verdict below the limit): nothing else changed. */
  | { readonly kind: "counted"; readonly next: MachineState; readonly note: string }
  | { readonly kind: "refused"; readonly reason: string };

function ruleFor(state: AccountState, cause: AccountCause): TransitionRule | undefined {
  return TRANSITIONS.find((r) => r.cause === cause && r.from.includes(state));
}

function target(rule: TransitionRule, from: MachineState): AccountState {
  if (rule.to === "resume") return from.resume;
  if (rule.to === "by-payment") return from.paymentRequired ? "email_verified" : "active";
  return rule.to;
}

/** Moves one state by one cause. Never throws; a cause with no rule is `refused`, with why. */
export function step(from: MachineState, input: MachineInput, options: MachineOptions): StepResult {
  const { cause, time } = input;
  if (cause === "verdict.verify" && ruleFor(from.state, cause) !== undefined) {
    const verifies = from.verifies + 1;
    if (verifies < options.verifyLimit)
      return {
        kind: "counted",
        next: Object.freeze({ ...from, verifies }),
        note: `verify verdict ${verifies} of ${options.verifyLimit}`,
      };
  }
  // Held: lifecycle causes, and payments' penalties, move where it resumes. A closing,
  // banning, or holding cause applies.
  if (
    HELD.includes(from.state) &&
    (RESUMABLE.includes(from.resume) || PENALTIES.includes(from.resume))
  ) {
    const lifecycle = ruleFor(from.resume, cause);
    if (lifecycle !== undefined && !ruleFor(from.state, cause)) {
      const to = target(lifecycle, { ...from, resume: from.beneath });
      if ((LIFECYCLE.includes(to) || PENALTIES.includes(to)) && to !== from.resume)
        return {
          kind: "resumed",
          next: Object.freeze({
            ...from,
            resume: to,
            // A penalty resumes where the account was before it.
            beneath: PENALTIES.includes(from.resume) ? from.beneath : from.resume,
          }),
          note: `while ${from.state}: will resume at ${to} (${lifecycle.note})`,
        };
    }
  }
  const rule = ruleFor(from.state, cause);
  if (rule === undefined)
    return { kind: "refused", reason: `no transition from ${from.state} on ${cause}` };
  const to = target(rule, from);
  const signup = cause === "signup" || cause === "signup.denied";
  // Restored into a penalty that came while it was held: that penalty resumes where the
  // account was before it.
  const intoPenalty = rule.to === "resume" && PENALTIES.includes(to);
  const next: MachineState = Object.freeze({
    state: to,
    since: time,
    resume: signup
      ? "pending_email"
      : intoPenalty
        ? from.beneath
        : RESUMABLE.includes(from.state)
          ? from.state
          : LIFECYCLE.includes(to)
            ? to
            : from.resume,
    beneath: from.beneath,
    // A sign-up the guard doubted (verify) or refused must pay before it becomes active.
    paymentRequired: signup
      ? options.requirePayment || input.verdict === "verify" || cause === "signup.denied"
      : from.paymentRequired,
    verifies: 0,
  });
  return { kind: "moved", next, note: rule.note };
}

/** When a state expires by itself (only `pending_email` does), else undefined. */
export function expiryOf(s: MachineState, options: MachineOptions): number | undefined {
  return s.state === "pending_email" ? s.since + options.pendingEmailExpiryMs : undefined;
}

/** Applies the time-driven transition if `now` has reached it. */
export function expire(
  s: MachineState,
  now: number,
  options: MachineOptions,
): { readonly next: MachineState; readonly at: number } | undefined {
  const at = expiryOf(s, options);
  if (at === undefined || now < at) return undefined;
  const r = step(s, { cause: "time.expired", time: at }, options);
  return r.kind === "moved" ? { next: r.next, at } : undefined;
}

/**
 * The order in which causes with the same time are taken: the order they happen in the real
 * world (a payment is created before it is confirmed), so that a tie never depends on arrival.
 */
const RANK: Readonly<Record<AccountCause, number>> = Object.freeze({
  signup: 0,
  "signup.denied": 0,
  "email.confirmed": 1,
  "payment.started": 2,
  "payment.confirmed": 3,
  "payment.failed": 4,
  "mandate.cancelled": 5,
  "payment.charged_back": 6,
  "mandate.blocked": 6,
  "verdict.verify": 7,
  "verdict.deny": 7,
  "decision.suspend": 8,
  "decision.ban": 8,
  "operator.review": 9,
  "operator.restore": 9,
  "operator.ban": 9,
  "operator.close": 9,
  "account.closed": 9,
  "time.expired": 10,
});

/** Sorts causes by (time, real-world rank, id): the fold's order. */
export function compareCauses(
  a: MachineInput & { readonly id: string },
  b: MachineInput & { readonly id: string },
): number {
  return (
    a.time - b.time || RANK[a.cause] - RANK[b.cause] || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  );
}

/**
 * Replays causes in their own order from the start, with expiry checked before each cause and
 * at `until`. The result depends on the set of causes only.
 */
export function fold(
  inputs: readonly (MachineInput & { readonly id: string })[],
  until: number,
  options: MachineOptions,
): MachineState {
  return trace(inputs, until, options, undefined).state;
}

/** `fold`, also telling what the cause `watch` did in its place. */
export function trace(
  inputs: readonly (MachineInput & { readonly id: string })[],
  until: number,
  options: MachineOptions,
  watch: string | undefined,
): { readonly state: MachineState; readonly watched: StepResult | undefined } {
  let s = INITIAL;
  let watched: StepResult | undefined;
  for (const input of [...inputs].sort(compareCauses)) {
    s = expire(s, input.time, options)?.next ?? s;
    const r = step(s, input, options);
    if (input.id === watch) watched = r;
    if (r.kind !== "refused") s = r.next;
  }
  return { state: expire(s, until, options)?.next ?? s, watched };
}
