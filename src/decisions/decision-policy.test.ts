import assert from "node:assert/strict";
import { test } from "node:test";
import type { Scope } from "../core/index.ts";
import { DecisionBook } from "./decision-book.ts";
import { DEFAULT_POLICY, DecisionPolicy, type DecisionWish } from "./decision-policy.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const policy = (memoryMs = 10 * DAY): { book: DecisionBook; policy: DecisionPolicy } => {
  const book = new DecisionBook();
  let n = 0;
  const p = new DecisionPolicy(
    { ...DEFAULT_POLICY, escalation: { factor: 2, maxMs: 30 * DAY, memoryMs } },
    book,
    () => `d${++n}`,
  );
  return { book, policy: p };
};

const wish = (scope: Scope, value: string, at: number): DecisionWish => ({
  action: "ban",
  scope,
  value,
  durationMs: HOUR,
  origin: "scenario",
  scenario: "test",
  reason: "test",
  at,
  tzOffset: 0,
});

test("each earlier offence within the memory doubles the duration, per scope and value", () => {
  const { book, policy: p } = policy();
  const durations: number[] = [];
  for (let i = 0; i < 3; i++) {
    const at = i * 2 * HOUR; // the previous decision has expired
    const outcome = p.decide(wish("ip", "192.0.2.1", at));
    assert.equal(outcome.kind, "created");
    if (outcome.kind !== "created") return;
    book.add(outcome.decision);
    assert.equal(outcome.decision.offence, i);
    durations.push(outcome.decision.expiresAt! - at);
  }
  assert.deepEqual(durations, [HOUR, 2 * HOUR, 4 * HOUR]);
  // Another value, or the same text in another scope, starts from nothing.
  const other = p.decide(wish("ip", "192.0.2.2", 7 * HOUR));
  const account = p.decide(wish("account", "192.0.2.1", 7 * HOUR));
  assert.equal(other.kind === "created" && other.decision.offence, 0);
  assert.equal(account.kind === "created" && account.decision.offence, 0);
});

test("offences restored at start count until the memory has passed, and forget drops them", () => {
  const { policy: p } = policy(10 * DAY);
  const now = 100 * DAY;
  p.recordOffence({ scope: "ip", value: "192.0.2.1", createdAt: now - 11 * DAY });
  p.recordOffence({ scope: "ip", value: "192.0.2.1", createdAt: now - 3 * DAY });
  p.recordOffence({ scope: "ip", value: "192.0.2.1", createdAt: now - 2 * DAY });
  p.recordOffence({ scope: "ip", value: "192.0.2.2", createdAt: now - 12 * DAY });
  p.recordOffence({ scope: "ip", value: "192.0.2.3", createdAt: now - DAY });
  p.recordOffence({ scope: "email", value: "a@example.org", createdAt: now - DAY });
  const offence = (scope: Scope, value: string, at: number): number => {
    const outcome = p.decide({ ...wish(scope, value, at), action: "throttle" });
    return outcome.kind === "created" ? outcome.decision.offence : -1;
  };
  p.forget(now);
  assert.equal(offence("ip", "192.0.2.1", now), 2, "the 11-day-old one no longer counts");
  assert.equal(offence("ip", "192.0.2.2", now), 0);
  assert.equal(offence("ip", "192.0.2.3", now), 1);
  assert.equal(offence("email", "a@example.org", now), 1);
  // Nine days later, only the offences made since (by the decisions above) remain.
  const later = now + 9 * DAY;
  p.forget(later);
  assert.equal(offence("ip", "192.0.2.1", later), 1);
  assert.equal(offence("ip", "192.0.2.3", later), 1);
  assert.equal(offence("ip", "192.0.2.2", later), 1);
});
