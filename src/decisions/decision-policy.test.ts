import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_DECISION_MS, type Decision, type Scope } from "../core/index.ts";
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

test("one incident, one offence: wishes while the subject is held do not escalate", () => {
  const { book, policy: p } = policy();
  const decide = (at: number, scenario: string): Decision => {
    const outcome = p.decide({ ...wish("account", "lettre@club1.example", at), scenario });
    assert.equal(outcome.kind, "created", `${scenario} at ${at}`);
    if (outcome.kind !== "created") throw new Error("not created");
    for (const old of outcome.replaces) book.remove(old.id);
    book.add(outcome.decision);
    return outcome.decision;
  };
  // One burst fires two scenarios, each again in the next interval (seed 003's newsletter on
  // its first day, straddling an hour): four wishes within minutes, one incident.
  const burst = [0, 1, 2, 3].map((k) => decide(k * 60_000, k % 2 === 0 ? "volume" : "recipients"));
  for (const d of burst) {
    assert.equal(d.offence, 0, d.reason);
    assert.equal(d.expiresAt! - d.createdAt, HOUR, d.reason);
  }
  assert.equal(book.size, 1, "each replaces the one before");
  // After the incident has ended, the next one is a second offence.
  const later = decide(3 * 60_000 + 2 * HOUR, "volume");
  assert.equal(later.offence, 1);
  assert.equal(later.expiresAt! - later.createdAt, 2 * HOUR);
});

test("one incident, one offence: decisions restored at start count the same way", () => {
  const { book, policy: p } = policy();
  const restored: Decision = Object.freeze({
    id: "restored",
    action: "ban",
    scope: "ip",
    value: "192.0.2.7",
    createdAt: 0,
    expiresAt: HOUR,
    origin: "scenario",
    scenario: "test",
    reason: "test",
    offence: 0,
    tzOffset: 0,
  });
  book.add(restored);
  p.recordOffence(restored);
  assert.equal(book.isOffence("restored"), true);
  const next = p.decide(wish("ip", "192.0.2.7", 10 * 60_000));
  assert.equal(next.kind, "created");
  if (next.kind !== "created") return;
  assert.equal(next.decision.offence, 0, "the restored decision is this incident");
  assert.equal(book.isOffence("restored"), false, "replaced, it no longer counts");
});

test("no decision lasts past 100 years, whatever asked for it: longer is no expiry", () => {
  const { policy: p } = policy();
  const at = Date.UTC(2026, 0, 1);
  const outcome = p.decide({
    ...wish("ip", "192.0.2.9", at),
    origin: "import",
    durationMs: 99_999_999 * DAY,
  });
  assert.equal(outcome.kind, "created");
  if (outcome.kind !== "created") return;
  assert.equal(outcome.decision.expiresAt, at + MAX_DECISION_MS);
  assert.equal(new Date(outcome.decision.expiresAt).getUTCFullYear(), 2125);
});

test("a list's decisions are its own: no other wish merges into or replaces them", () => {
  const { book, policy: p } = policy();
  const apply = (w: DecisionWish) => {
    const o = p.decide(w);
    if (o.kind === "created") {
      for (const old of o.replaces) book.remove(old.id);
      book.add(o.decision);
    }
    return o;
  };
  const listed = (list: string, at: number, durationMs: number): DecisionWish => ({
    ...wish("ip", "198.51.100.7", at),
    origin: "import",
    scenario: list,
    durationMs,
  });
  const drop = apply(listed("drop", 0, DAY));
  assert.equal(drop.kind, "created");
  // A second list with a longer entry on the same address: each list keeps its own decision.
  const tor = apply(listed("tor", 1_000, 2 * DAY));
  assert.equal(tor.kind, "created");
  assert.deepEqual(tor.kind === "created" && tor.replaces, []);
  // The same list again merges into its own decision, or renews it by replacing it.
  assert.equal(apply(listed("drop", 2_000, HOUR)).kind, "merged");
  const renewed = apply(listed("drop", 3_000, DAY));
  assert.equal(renewed.kind, "created");
  assert.deepEqual(
    renewed.kind === "created" && renewed.replaces.map((d) => d.id),
    drop.kind === "created" ? [drop.decision.id] : [],
  );
  // A detection's longer wish does not replace them, nor does a shorter one merge into them.
  const longer = apply({ ...wish("ip", "198.51.100.7", 4_000), durationMs: 3 * DAY });
  assert.equal(longer.kind, "created");
  assert.deepEqual(longer.kind === "created" && longer.replaces, []);
  assert.equal(
    book
      .on("ip", "198.51.100.7", 5_000)
      .map((d) => `${d.origin} ${d.scenario}`)
      .sort()
      .join(", "),
    "import drop, import tor, scenario test",
  );
  // Being on a list is no offence: the detection's decision was its first.
  assert.equal(longer.kind === "created" && longer.decision.offence, 0);
  const other = apply({ ...wish("ip", "198.51.100.8", 0), origin: "import", scenario: "drop" });
  assert.equal(other.kind === "created" && other.decision.offence, 0);
  book.remove(other.kind === "created" ? other.decision.id : "");
  p.recordOffence({ scope: "ip", value: "198.51.100.9", createdAt: 0, origin: "import" });
  const after = apply(wish("ip", "198.51.100.8", 6 * HOUR));
  const fresh = apply(wish("ip", "198.51.100.9", 6 * HOUR));
  assert.equal(after.kind === "created" && after.decision.offence, 0);
  assert.equal(fresh.kind === "created" && fresh.decision.offence, 0);
});
