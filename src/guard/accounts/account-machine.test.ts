import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ACCOUNT_CAUSES,
  ACCOUNT_STATES,
  canonicalCause,
  fold,
  INITIAL,
  step,
  TRANSITIONS,
  type AccountCause,
  type MachineInput,
  type MachineOptions,
} from "./account-machine.ts";

const DAY = 86_400_000;
const OPTIONS: MachineOptions = {
  requirePayment: false,
  pendingEmailExpiryMs: 7 * DAY,
  verifyLimit: 3,
};
const PAYING: MachineOptions = { ...OPTIONS, requirePayment: true };

/** Causes one second apart, in the order given. */
function story(
  causes: readonly (AccountCause | [AccountCause, MachineInput["verdict"]])[],
): (MachineInput & { id: string })[] {
  return causes.map((c, i) => {
    const [cause, verdict] = Array.isArray(c) ? c : [c, undefined];
    return { id: `e${i}`, cause, time: 1_000 * (i + 1), ...(verdict && { verdict }) };
  });
}

const end = (causes: Parameters<typeof story>[0], options = OPTIONS) =>
  fold(story(causes), 1_000_000, options);

describe("account state machine", () => {
  it("has at most one rule per state and cause, naming only known states and causes", () => {
    for (const state of ACCOUNT_STATES)
      for (const cause of ACCOUNT_CAUSES) {
        const n = TRANSITIONS.filter((r) => r.cause === cause && r.from.includes(state)).length;
        assert.ok(n <= 1, `${state} on ${cause}: ${n} rules`);
      }
    for (const r of TRANSITIONS) {
      assert.ok(ACCOUNT_CAUSES.includes(r.cause));
      for (const s of r.from) assert.ok(ACCOUNT_STATES.includes(s));
    }
  });

  it("activates on a confirmed e-mail when no payment is required", () => {
    assert.equal(end(["signup"]).state, "pending_email");
    assert.equal(end(["signup", "email.confirmed"]).state, "active");
  });

  it("needs a cleared payment when payment is required", () => {
    assert.equal(end(["signup", "email.confirmed"], PAYING).state, "email_verified");
    assert.equal(
      end(["signup", "email.confirmed", "payment.started"], PAYING).state,
      "pending_payment",
    );
    const s = end(["signup", "email.confirmed", "payment.started", "payment.confirmed"], PAYING);
    assert.equal(s.state, "active");
    assert.equal(s.since, 4_000);
  });

  it("asks a sign-up the guard doubted for a payment, and holds a refused one", () => {
    assert.equal(end([["signup", "verify"], "email.confirmed"]).state, "email_verified");
    assert.equal(end([["signup", "allow"], "email.confirmed"]).state, "active");
    const denied = end(["signup.denied", "email.confirmed"]);
    assert.equal(denied.state, "under_review");
    assert.equal(denied.resume, "email_verified");
  });

  it("stops fake bank accounts: a failed payment restricts, a charge-back suspends", () => {
    const paying = ["signup", "email.confirmed", "payment.started"] as const;
    assert.equal(end([...paying, "payment.failed"], PAYING).state, "restricted");
    assert.equal(end([...paying, "payment.failed", "payment.confirmed"], PAYING).state, "active");
    const s = end([...paying, "payment.confirmed", "payment.charged_back"], PAYING);
    assert.equal(s.state, "suspended");
    assert.equal(s.resume, "active");
    assert.equal(end([...paying, "mandate.blocked"], PAYING).state, "suspended");
  });

  it("moves only the state to resume at while an account is held", () => {
    const held = end(["signup", "operator.review", "email.confirmed"]);
    assert.equal(held.state, "under_review");
    assert.equal(held.resume, "active");
    assert.equal(
      end(["signup", "operator.review", "email.confirmed", "operator.restore"]).state,
      "active",
    );
    assert.equal(end(["signup", "operator.review", "operator.restore"]).state, "pending_email");
  });

  it("keeps a payment's penalty that came while held: restore goes there, then back", () => {
    const paid = ["signup", "email.confirmed", "payment.started", "payment.confirmed"] as const;
    // Money taken back while an operator reviews it: restored, it is suspended, not active.
    const back = [...paid, "operator.review", "payment.charged_back"] as const;
    const held = end(back, PAYING);
    assert.deepEqual([held.state, held.resume], ["under_review", "suspended"]);
    const restored = end([...back, "operator.restore"], PAYING);
    assert.deepEqual([restored.state, restored.resume], ["suspended", "active"]);
    assert.equal(end([...back, "operator.restore", "operator.restore"], PAYING).state, "active");
    // A failed payment while banned: un-banned, it is restricted, and a payment clears it.
    const failed = [...paid, "operator.ban", "payment.failed", "operator.restore"] as const;
    assert.equal(end(failed, PAYING).state, "restricted");
    assert.equal(end([...failed, "payment.confirmed"], PAYING).state, "active");
    assert.equal(end([...failed, "operator.restore"], PAYING).state, "active");
    // Cleared again while still held: nothing of the failure remains.
    const cleared = [...paid, "operator.review", "payment.failed", "payment.confirmed"] as const;
    assert.equal(end(cleared, PAYING).resume, "active");
    assert.equal(end([...cleared, "operator.restore"], PAYING).state, "active");
    // A decision's suspension, then money taken back: two suspensions, two restores.
    const twice = [...paid, "decision.suspend", "payment.charged_back"] as const;
    assert.deepEqual(
      [end(twice, PAYING).resume, end([...twice, "operator.restore"], PAYING).state],
      ["suspended", "suspended"],
    );
  });

  it("counts verify verdicts up to the limit, then holds the account", () => {
    const base = ["signup", "email.confirmed"] as const;
    assert.equal(end([...base, "verdict.verify", "verdict.verify"]).state, "active");
    assert.equal(end([...base, "verdict.verify", "verdict.verify"]).verifies, 2);
    assert.equal(
      end([...base, "verdict.verify", "verdict.verify", "verdict.verify"]).state,
      "under_review",
    );
    assert.equal(end([...base, "verdict.deny"]).state, "under_review");
  });

  it("bans from anywhere, and lets nothing but an operator restore a ban", () => {
    for (const s of ["signup", "email.confirmed", "payment.confirmed", "account.closed"] as const) {
      const banned = end(["signup", "decision.ban", s]);
      assert.equal(banned.state, "banned");
    }
    assert.equal(
      end(["signup", "email.confirmed", "operator.ban", "operator.restore"]).state,
      "active",
    );
  });

  it("expires an unconfirmed account after the delay, and lets it sign up again", () => {
    const inputs = story(["signup"]);
    assert.equal(fold(inputs, 1_000 + 7 * DAY - 1, OPTIONS).state, "pending_email");
    const expired = fold(inputs, 1_000 + 7 * DAY, OPTIONS);
    assert.deepEqual([expired.state, expired.since], ["expired", 1_000 + 7 * DAY]);
    const late = [...inputs, { id: "c", cause: "email.confirmed" as const, time: 8 * DAY }];
    assert.equal(fold(late, 8 * DAY, OPTIONS).state, "expired");
    const again = [...late, { id: "s2", cause: "signup" as const, time: 9 * DAY }];
    assert.equal(fold(again, 9 * DAY, OPTIONS).state, "pending_email");
  });

  it("refuses a cause with no rule, saying from where", () => {
    const r = step(INITIAL, { cause: "payment.confirmed", time: 1 }, OPTIONS);
    assert.deepEqual(r, {
      kind: "refused",
      reason: "no transition from unknown on payment.confirmed",
    });
  });

  it("maps provider and application event types to causes", () => {
    assert.equal(canonicalCause("payment.paid_out"), "payment.confirmed");
    assert.equal(canonicalCause("mandate.failed"), "payment.failed");
    assert.equal(canonicalCause("payment.charged_back"), "payment.charged_back");
    assert.equal(canonicalCause("email.confirmed"), "email.confirmed");
    assert.equal(canonicalCause("login"), undefined);
    assert.equal(canonicalCause("form.submit"), undefined);
    // Only operators ban, only the guard gives verdicts: not an application's events.
    assert.equal(canonicalCause("operator.ban"), undefined);
    assert.equal(canonicalCause("decision.ban"), undefined);
    assert.equal(canonicalCause("signup.denied"), undefined);
    // Names an object inherits are no causes either.
    for (const inherited of ["constructor", "toString", "__proto__", "hasOwnProperty"])
      assert.equal(canonicalCause(inherited), undefined, inherited);
  });
});
