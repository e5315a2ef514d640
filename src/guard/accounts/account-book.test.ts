import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import pg from "pg";
import type { Decision, Event, Storage } from "../../core/index.ts";
import { openStorage } from "../../storage/index.ts";
import { AccountBook, type AccountInput } from "./account-book.ts";
import type { MachineOptions } from "./account-machine.ts";

const DAY = 86_400_000;
const T0 = Date.parse("2024-03-01T10:00:00Z");
const MACHINE: MachineOptions = {
  requirePayment: true,
  pendingEmailExpiryMs: 7 * DAY,
  verifyLimit: 3,
};

function event(account: string, id: string, type: string, time: number, fields = {}): Event {
  return { id, type, time, tzOffset: 0, service: "app", account, fields };
}

const book = (storage: Storage): AccountBook =>
  new AccountBook({ storage, machine: MACHINE, newId: randomUUID, now: () => T0 });

/** A payer's life as the application and GoCardless report it, one minute apart. */
const LIFE = [
  "signup",
  "email.confirmed",
  "mandate.created",
  "payment.created",
  "payment.submitted",
  "payment.confirmed",
  "payment.paid_out",
] as const;
/** Seed 001's fake bank account: the first payment fails, then is charged back. */
const FAKE = [
  "signup",
  "email.confirmed",
  "mandate.created",
  "payment.submitted",
  "payment.failed",
  "payment.charged_back",
] as const;
const ANY = [
  ...LIFE,
  ...FAKE,
  "payment.failed",
  "mandate.cancelled",
  "account.closed",
  "decision.ban",
  "decision.suspend",
  "verdict.verify",
  "verdict.deny",
  "login",
] as const;

const story = (types: readonly string[], spacing: number): { type: string; time: number }[] =>
  types.map((type, i) => ({ type, time: T0 + i * spacing }));

/** A decision on the account, as the detection pipeline would hand it over. */
function decision(account: string, id: string, action: "ban" | "suspend", time: number): Decision {
  return {
    id,
    action,
    scope: "account",
    value: account,
    createdAt: time,
    expiresAt: null,
    origin: "scenario",
    scenario: "signup-abuse",
    reason: "test",
    offence: 0,
    tzOffset: 0,
  };
}

/** Each step as what carries it: an event, a decision, or a verdict on a form post. */
function input(account: string, type: string, time: number, n: number): AccountInput {
  const id = `e${n}`;
  if (type === "decision.ban" || type === "decision.suspend")
    return {
      kind: "decision",
      decision: decision(account, id, type === "decision.ban" ? "ban" : "suspend", time),
    };
  if (type === "verdict.verify" || type === "verdict.deny")
    return {
      kind: "verdict",
      id,
      account,
      time,
      verdict: type === "verdict.deny" ? "deny" : "verify",
      submission: "form.submit",
    };
  return { kind: "event", event: event(account, id, type, time) };
}

async function play(
  b: AccountBook,
  account: string,
  steps: readonly { type: string; time: number; n: number }[],
): Promise<void> {
  for (const s of steps) await b.apply(input(account, s.type, s.time, s.n));
}

function bookContract(name: string, open: () => Promise<Storage>, runs: number): void {
  void describe(`account book on ${name}`, () => {
    let storage: Storage;
    before(async () => {
      storage = await open();
    });
    after(() => storage.close());

    it("walks a payer to active, recording every transition with its cause", async () => {
      const b = book(storage);
      const steps = story(LIFE, 60_000).map((s, n) => ({ ...s, n }));
      await play(b, "alice", steps);
      const view = await b.get("alice", T0 + DAY);
      assert.equal(view?.state, "active");
      assert.equal(view?.since, T0 + 5 * 60_000);
      const history = await b.history("alice", 100);
      assert.deepEqual(
        history.map((h) => [h.seq, h.event, h.from, h.to, h.outcome]),
        [
          [7, "e6", "active", "active", "ignored"],
          [6, "e5", "pending_payment", "active", "applied"],
          [5, "e4", "pending_payment", "pending_payment", "ignored"],
          [4, "e3", "pending_payment", "pending_payment", "ignored"],
          [3, "e2", "email_verified", "pending_payment", "applied"],
          [2, "e1", "pending_email", "email_verified", "applied"],
          [1, "e0", "unknown", "pending_email", "applied"],
        ],
      );
      assert.match(history[0]!.reason, /no transition from active on payment\.confirmed/);
      assert.equal(history[1]!.cause, "payment.confirmed");
      assert.equal(history[1]!.by, "app");
      assert.equal(history[1]!.at, T0 + 5 * 60_000);
    });

    it("does not re-apply a redelivered event", async () => {
      const b = book(storage);
      const signup = event("bob", "s1", "signup", T0);
      assert.equal((await b.apply({ kind: "event", event: signup })).kind, "transition");
      const again = await b.apply({ kind: "event", event: signup });
      assert.equal(again.kind, "ignored");
      assert.equal(again.kind === "ignored" && again.reason, "duplicate");
      // Also when it looks late (after a later event), and also through a second book.
      await b.apply({ kind: "event", event: event("bob", "c1", "email.confirmed", T0 + 5) });
      const late = await book(storage).apply({ kind: "event", event: signup });
      assert.equal(late.kind === "ignored" && late.reason, "duplicate");
      assert.equal((await b.history("bob", 10)).length, 2);
    });

    it("records an id used before by another event, and applies nothing of it", async () => {
      const b = book(storage);
      // Later than the other tests' accounts: the expiry sweep below must not see it.
      const T = T0 + 30 * DAY;
      await b.apply({ kind: "event", event: event("uma", "dup1", "signup", T) });
      // In order (a later time) and late (an earlier one): neither passes for the sign-up.
      for (const time of [T + 60_000, T - 60_000]) {
        const reused = await b.apply({
          kind: "event",
          event: event("uma", "dup1", "email.confirmed", time),
        });
        assert.equal(reused.kind === "ignored" && reused.reason, "duplicate");
        assert.match(reused.kind === "ignored" ? reused.message : "", /applied before, to signup/);
      }
      assert.equal((await b.get("uma", T + 120_000))?.state, "pending_email");
      const history = await b.history("uma", 10);
      assert.deepEqual(
        history.map((h) => [h.event, h.cause, h.outcome]),
        [
          ["dup1", "email.confirmed", "ignored"],
          ["dup1", "email.confirmed", "ignored"],
          ["dup1", "signup", "applied"],
        ],
      );
      assert.match(history[0]!.reason, /each event needs an id of its own/);
    });

    it("takes a cause of the same time as the last, after it in their order, as in order", async () => {
      const b = book(storage);
      await b.apply({ kind: "event", event: event("quinn", "q1", "signup", T0) });
      const r = await b.apply({
        kind: "event",
        event: event("quinn", "q2", "email.confirmed", T0),
      });
      assert.equal(r.kind, "transition");
      const [h] = await b.history("quinn", 1);
      assert.deepEqual(
        [h?.from, h?.to, h?.reason],
        ["pending_email", "email_verified", "e-mail confirmed"],
      );
    });

    it("never moves back on an earlier status arriving late", async () => {
      const b = book(storage);
      const t = (m: number) => T0 + m * 60_000;
      await play(b, "carol", [
        { type: "signup", time: t(0), n: 1 },
        { type: "email.confirmed", time: t(1), n: 2 },
        { type: "payment.confirmed", time: t(3), n: 3 },
      ]);
      const late = await b.apply({
        kind: "event",
        event: event("carol", "e4", "payment.submitted", t(2)),
      });
      assert.equal(late.kind === "ignored" && late.reason, "stale");
      assert.equal((await b.get("carol", t(10)))?.state, "active");
      // A late cause that does matter is placed where it belongs.
      const ban = await b.apply({
        kind: "decision",
        decision: decision("carol", "d5", "ban", t(2)),
      });
      assert.equal(ban.kind === "transition" && ban.to, "banned");
    });

    it("reaches the same state whatever the delivery order, redeliveries included", async () => {
      let run = 0;
      const script = fc.oneof(
        fc.constant([...LIFE]),
        fc.constant([...FAKE]),
        fc.array(fc.constantFrom(...ANY), { minLength: 1, maxLength: 10 }),
      );
      await fc.assert(
        fc.asyncProperty(
          script,
          // Spacing 0 makes every time equal: ties must be broken the same way too.
          fc.constantFrom(0, 1, 60_000, 2 * DAY),
          fc.infiniteStream(fc.nat()),
          async (types, spacing, randomness) => {
            const steps = story(types, spacing).map((s, n) => ({ ...s, n }));
            const shuffled = [...steps];
            for (let i = shuffled.length - 1; i > 0; i--) {
              const j = randomness.next().value! % (i + 1);
              [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
            }
            // A redelivery of a random step, somewhere.
            shuffled.splice(randomness.next().value! % shuffled.length, 0, shuffled[0]!);
            run++;
            const [ordered, mixed] = [`ordered-${run}`, `mixed-${run}`];
            const b = book(storage);
            await play(b, ordered, steps);
            await play(b, mixed, shuffled);
            const end = T0 + 30 * DAY;
            const [x, y] = [await b.get(ordered, end), await b.get(mixed, end)];
            assert.deepEqual({ ...y, id: ordered }, { ...x, id: ordered });
          },
        ),
        { numRuns: runs },
      );
    });

    it("keeps every cause when two nodes write the same account at once", async () => {
      const [one, two] = [book(storage), book(storage)];
      const steps = story(LIFE, 1_000).map((s, n) => ({ ...s, n }));
      await Promise.all([
        play(
          one,
          "dave",
          steps.filter((s) => s.n % 2 === 0),
        ),
        play(
          two,
          "dave",
          steps.filter((s) => s.n % 2 === 1),
        ),
      ]);
      assert.equal((await one.get("dave", T0 + DAY))?.state, "active");
      assert.equal((await storage.accountCauses("dave")).length, LIFE.length);
      const seqs = (await one.history("dave", 100)).map((h) => h.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => b - a),
      );
      assert.equal(new Set(seqs).size, seqs.length);
    });

    it("expires an unconfirmed account lazily or by the sweep, recording why", async () => {
      const b = book(storage);
      await b.apply({ kind: "event", event: event("erin", "s", "signup", T0) });
      await b.apply({ kind: "event", event: event("fred", "s", "signup", T0 + DAY) });
      assert.equal((await b.get("erin", T0 + 7 * DAY - 1))?.state, "pending_email");
      assert.equal(await b.sweep(T0 + 7 * DAY), 1);
      assert.equal((await b.get("erin", T0 + 7 * DAY))?.since, T0 + 7 * DAY);
      assert.equal((await b.get("fred", T0 + 9 * DAY))?.state, "expired");
      const [last] = await b.history("erin", 1);
      assert.deepEqual([last?.cause, last?.to, last?.by], ["time.expired", "expired", "clock"]);
      // A confirmation sent before the deadline but delivered after it still counts.
      await b.apply({ kind: "event", event: event("erin", "c", "email.confirmed", T0 + DAY) });
      assert.equal((await b.get("erin", T0 + 8 * DAY))?.state, "email_verified");
    });

    it("applies verdicts, decisions and operator actions, refusing what has no rule", async () => {
      const b = book(storage);
      const verdict = (id: string, v: "deny" | "verify" | "allow"): AccountInput => ({
        kind: "verdict",
        id,
        account: "gina",
        time: T0 + Number(id.slice(1)),
        verdict: v,
        submission: id === "v0" ? "signup" : "form.submit",
      });
      assert.equal((await b.apply(verdict("v0", "verify")))?.kind, "transition");
      assert.equal((await b.get("gina", T0))?.paymentRequired, true);
      const allow = await b.apply(verdict("v1", "allow"));
      assert.equal(allow.kind === "ignored" && allow.reason, "irrelevant");
      const deny = await b.apply(verdict("v2", "deny"));
      assert.equal(deny.kind === "transition" && deny.to, "under_review");
      const restore = await b.apply({
        kind: "operator",
        account: "gina",
        action: "restore",
        time: T0 + 10,
        by: "ops",
        reason: "false positive",
      });
      assert.equal(restore.kind === "transition" && restore.to, "pending_email");
      const again = await b.apply({
        kind: "operator",
        account: "gina",
        action: "restore",
        time: T0 + 11,
        by: "ops",
        reason: "twice",
      });
      assert.equal(again.kind === "ignored" && again.reason, "refused");
      const [refused] = await b.history("gina", 1);
      assert.deepEqual([refused?.outcome, refused?.by], ["ignored", "ops"]);
      const ban = await b.apply({
        kind: "decision",
        decision: decision("gina", "d1", "ban", T0 + 20),
      });
      assert.equal(ban.kind === "transition" && ban.to, "banned");
      const ipBan = await b.apply({
        kind: "decision",
        decision: { ...decision("gina", "d2", "ban", T0 + 21), scope: "ip" },
      });
      assert.equal(ipBan.kind === "ignored" && ipBan.reason, "irrelevant");
      assert.equal(await b.get("nobody", T0), undefined);
    });
  });
}

bookContract("sqlite", () => openStorage({ kind: "sqlite", path: ":memory:" }), 60);

const url = process.env["REMPART_TEST_POSTGRES_URL"];
if (url === undefined || url === "") {
  void describe("account book on postgres", () => {
    void it("runs against a PostgreSQL server", {
      skip: "set REMPART_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test)",
    });
  });
} else {
  const schema = `rempart_test_${randomBytes(6).toString("hex")}`;
  bookContract(
    "postgres",
    async () => {
      const s = await openStorage({ kind: "postgres", url, schema });
      return {
        ...s,
        ...bind(s),
        close: async () => {
          await s.close();
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          try {
            await client.query(`drop schema if exists ${schema} cascade`);
          } finally {
            await client.end();
          }
        },
      };
    },
    25,
  );
}

/** The storage's methods bound to it, so that one can be replaced in a spread copy. */
function bind(s: Storage): Storage {
  const proto = Object.getPrototypeOf(s) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of Object.getOwnPropertyNames(proto))
    if (k !== "constructor" && typeof proto[k] === "function")
      out[k] = (proto[k] as (...a: unknown[]) => unknown).bind(s);
  return out as unknown as Storage;
}
