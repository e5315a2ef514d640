import assert from "node:assert/strict";
import { test } from "node:test";
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import type { Decision, Scope } from "../core/index.ts";
import { bigIntToIp, normalizeIp, parseCidr, rangeContains } from "../net/index.ts";
import { DecisionBook } from "./decision-book.ts";

const decision = (id: string, scope: Scope, value: string, expiresAt: number | null): Decision =>
  Object.freeze({
    id,
    action: "ban",
    scope,
    value,
    createdAt: 0,
    expiresAt,
    origin: "manual",
    scenario: "test",
    reason: "test",
    offence: 0,
    tzOffset: 0,
  });

test("match: an address finds its own decisions and every range holding it, most specific first", () => {
  const book = new DecisionBook();
  book.add(decision("a", "ip", "192.0.2.7", null));
  book.add(decision("r24", "range", "192.0.2.0/24", null));
  book.add(decision("r16", "range", "192.0.0.0/16", 50));
  book.add(decision("r16b", "range", "192.0.9.9/16", null)); // host bits: the same /16
  book.add(decision("v6", "range", "2001:db8::/32", null));
  book.add(decision("acct", "account", "alice", null));
  const ids = (ds: readonly Decision[]): string[] => ds.map((d) => d.id);
  assert.deepEqual(ids(book.match({ ip: "192.0.2.7" }, 0)), ["a", "r24", "r16", "r16b"]);
  assert.deepEqual(ids(book.match({ ip: "192.0.2.7" }, 50)), ["a", "r24", "r16b"], "expired");
  assert.deepEqual(ids(book.match({ ip: "::ffff:192.0.2.7" }, 0)), ["a", "r24", "r16", "r16b"]);
  assert.deepEqual(ids(book.match({ ip: "2001:db8::1", account: "alice" }, 0)), ["v6", "acct"]);
  assert.deepEqual(ids(book.match({ ip: "198.51.100.1" }, 0)), []);
  book.remove("r16");
  book.remove("r24");
  assert.deepEqual(ids(book.match({ ip: "192.0.2.7" }, 0)), ["a", "r16b"]);
  book.remove("r16b");
  assert.deepEqual(ids(book.match({ ip: "192.0.2.200" }, 0)), []);
  // A value that is not an address is still found by exactly that text.
  book.add(decision("odd", "ip", "unknown", null));
  assert.deepEqual(ids(book.match({ ip: "unknown" }, 0)), ["odd"]);
  assert.equal(book.size, 4);
});

test("match: an address still finds its own decision after the range added before it goes", () => {
  // Caught mid-rewrite by the DNSBL's reference test: a /24, then an address in it, the /24
  // removed, the address matched (it crashed on an emptied slot).
  const book = new DecisionBook();
  book.add(decision("r", "range", "192.0.2.0/24", null));
  book.add(decision("a", "ip", "192.0.2.1", null));
  book.remove("r");
  assert.deepEqual(
    book.match({ ip: "192.0.2.1" }, 0).map((d) => d.id),
    ["a"],
  );
  assert.deepEqual(book.match({ ip: "192.0.2.2" }, 0), []);
});

// The reference: every decision, filtered the slow way.
const reference = (ds: Iterable<Decision>, ip: string, now: number): string[] => {
  const out: string[] = [];
  for (const d of ds) {
    if (d.expiresAt !== null && d.expiresAt <= now) continue;
    const r = d.scope === "ip" || d.scope === "range" ? parseCidr(d.value) : undefined;
    if (r && (d.scope === "range" || r.bits === (r.family === 4 ? 32 : 128))) {
      if (rangeContains(r, normalizeIp(ip)!)) out.push(d.id);
    }
  }
  return out.sort();
};

const v4 = fc
  .tuple(fc.constantFrom(0xc0000200, 0x0a000000), fc.nat(0x3ff))
  .map(([base, low]) => bigIntToIp(BigInt((base + low) >>> 0), 4));
const v6 = fc
  .tuple(fc.constantFrom(0x20010db8n, 0x2a0104f8n), fc.nat(0x3ff))
  .map(([base, low]) => bigIntToIp((base << 96n) | (BigInt(low) << 64n) | BigInt(low), 6));
const entry = fc.oneof(
  fc.record({ scope: fc.constant<Scope>("ip"), value: fc.oneof(v4, v6) }),
  fc.record({
    scope: fc.constant<Scope>("range"),
    value: fc.oneof(
      fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, b]) => `${a}/${b}`),
      fc.tuple(v6, fc.integer({ min: 0, max: 128 })).map(([a, b]) => `${a}/${b}`),
    ),
  }),
);

test("match: the same decisions as a naive scan, through adds, removes and expiry", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(entry, fc.option(fc.integer({ min: 1, max: 20 })), fc.boolean()), {
        maxLength: 80,
      }),
      fc.array(fc.oneof(v4, v6), { minLength: 1, maxLength: 20 }),
      fc.integer({ min: 0, max: 20 }),
      (entries, queries, now) => {
        const book = new DecisionBook();
        entries.forEach(([e, expiresAt], i) =>
          book.add(decision(`d${i}`, e.scope, e.value, expiresAt)),
        );
        entries.forEach(([, , drop], i) => drop && book.remove(`d${i}`));
        for (const q of [...queries, ...entries.map(([e]) => e.value.split("/")[0]!)]) {
          const got = book.match({ ip: q }, now).map((d) => d.id);
          assert.deepEqual([...got].sort(), reference(book.all(), q, now), q);
          assert.equal(new Set(got).size, got.length, "no duplicates");
        }
      },
    ),
    { numRuns: 300 },
  );
});

test("on: exactly the decisions on that scope and text, however the text is indexed", () => {
  // Texts of one prefix written differently, texts that are no address, and other scopes.
  const subject = fc.oneof(
    fc.record({
      scope: fc.constantFrom<Scope>("ip", "range"),
      value: fc.constantFrom(
        "192.0.2.7",
        "::ffff:192.0.2.7",
        "192.0.2.7/32",
        "192.0.2.0/24",
        "192.0.2.9/24",
        "2001:db8::1",
        "2001:DB8::1",
        "2001:db8::/32",
        "2001:0db8::/32",
        "unknown",
        "192.0.2.0/33",
      ),
    }),
    fc.record({
      scope: fc.constantFrom<Scope>("account", "email", "domain"),
      value: fc.constantFrom("alice", "192.0.2.7", "a@example.org", "example.org"),
    }),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(subject, fc.option(fc.integer({ min: 1, max: 20 })), fc.boolean()), {
        maxLength: 60,
      }),
      fc.integer({ min: 0, max: 20 }),
      (entries, now) => {
        const book = new DecisionBook();
        entries.forEach(([s, expiresAt], i) =>
          book.add(decision(`d${i}`, s.scope, s.value, expiresAt)),
        );
        entries.forEach(([, , drop], i) => drop && book.remove(`d${i}`));
        for (const [s] of entries) {
          const expected = [...book.all()]
            .filter((d) => d.scope === s.scope && d.value === s.value)
            .filter((d) => d.expiresAt === null || d.expiresAt > now)
            .map((d) => d.id);
          assert.deepEqual(
            book.on(s.scope, s.value, now).map((d) => d.id),
            expected,
            `${s.scope} ${s.value}`,
          );
        }
        // Removing everything leaves nothing behind in any index.
        entries.forEach((_, i) => book.remove(`d${i}`));
        assert.equal(book.size, 0);
        for (const [s] of entries) assert.deepEqual(book.on(s.scope, s.value, 0), []);
        assert.deepEqual(book.match({ ip: "192.0.2.7", account: "alice" }, 0), []);
      },
    ),
    { numRuns: 300 },
  );
});

test("heldByAnother: another active decision of the same action on exactly that subject", () => {
  const book = new DecisionBook();
  const a = decision("a", "range", "192.0.2.0/24", null);
  book.add(a);
  assert.equal(book.heldByAnother(a, 0), false, "only itself");
  book.add(decision("wider", "range", "192.0.0.0/16", null));
  book.add({ ...decision("other-action", "range", "192.0.2.0/24", null), action: "challenge" });
  book.add(decision("expired", "range", "192.0.2.0/24", 10));
  assert.equal(book.heldByAnother(a, 20), false, "a wider range, another action, an expired one");
  assert.equal(book.heldByAnother(a, 5), true, "the one that has not expired yet");
  book.add(decision("b", "range", "192.0.2.0/24", 100));
  assert.equal(book.heldByAnother(a, 20), true);
  const acc = decision("acc", "account", "victim@club1.example", null);
  book.add(acc);
  book.add(decision("acc2", "account", "victim@club1.example", 100));
  assert.equal(book.heldByAnother(acc, 20), true, "any scope");
});

test("ids: UUIDs and other texts are found, removed and given back exactly, through growth", () => {
  const book = new DecisionBook();
  const ids = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `d${i}` : randomUUID()));
  ids.forEach((id, i) =>
    book.add(decision(id, "ip", `198.51.${(i >>> 8) & 255}.${i & 255}`, null)),
  );
  book.add(decision(ids[5]!, "ip", "203.0.113.1", null)); // the same id again: ignored
  assert.equal(book.size, ids.length);
  for (const id of ids) assert.equal(book.get(id)?.id, id);
  assert.equal(book.get(randomUUID()), undefined);
  assert.equal(book.get(ids[1]!.toUpperCase()), undefined, "ids are exact text");
  // Remove every other one: the rest stay reachable (the id table shifts runs back).
  for (const [i, id] of ids.entries()) if (i % 2 === 0) assert.equal(book.remove(id)?.id, id);
  for (const [i, id] of ids.entries()) assert.equal(book.get(id)?.id, i % 2 === 0 ? undefined : id);
  assert.deepEqual(
    [...book.all()].map((d) => d.id).sort(),
    ids.filter((_, i) => i % 2 === 1).sort(),
  );
});

test("a decision comes back with every field as it was added, whatever its form", () => {
  const book = new DecisionBook();
  const given: Decision[] = [
    { ...decision(randomUUID(), "ip", "192.0.2.7", 5), createdAt: 1_700_000_000_123 },
    { ...decision("x", "ip", "192.0.2.07", null), reason: "leading zero: kept as text" },
    { ...decision(randomUUID(), "ip", "2001:db8::1", 7), tzOffset: -300, offence: 2 },
    { ...decision(randomUUID(), "range", "192.0.2.0/24", 9), origin: "import" },
    { ...decision(randomUUID(), "account", "alice", 9), action: "suspend", scenario: "s" },
    { ...decision(randomUUID(), "email", "192.0.2.9", 9), action: "verify" },
  ];
  for (const d of given) book.add(d);
  for (const d of given) {
    assert.deepEqual(book.get(d.id), d);
    assert.deepEqual(book.remove(d.id), d);
  }
  assert.equal(book.size, 0);
});

test("offences marked in the book count on their subject, and are handed over when they leave", () => {
  const book = new DecisionBook();
  const a = { ...decision(randomUUID(), "ip", "192.0.2.7", 50), createdAt: 10 };
  const b = { ...decision("b", "ip", "192.0.2.7", 60), createdAt: 20 };
  const c = { ...decision(randomUUID(), "account", "alice", 60), createdAt: 30 };
  for (const d of [a, b, c]) book.add(d);
  const left: string[] = [];
  const leaving = (scope: Scope, value: string, at: number): void => {
    left.push(`${scope} ${value} ${at}`);
  };
  assert.equal(book.markOffence(a.id, leaving), true);
  assert.equal(book.markOffence(c.id, leaving), true);
  assert.equal(book.markOffence(randomUUID(), leaving), false);
  assert.equal(book.offences("ip", "192.0.2.7", 0), 1, "b is not marked");
  assert.equal(book.offences("ip", "192.0.2.7", 10), 0, "created after `since` only");
  assert.equal(book.offences("range", "192.0.2.7", 0), 0);
  assert.equal(book.offences("account", "alice", 0), 1);
  book.remove(b.id);
  assert.deepEqual(left, []);
  assert.deepEqual(
    book.expire(55).map((d) => d.id),
    [a.id],
  );
  book.remove(c.id);
  assert.deepEqual(left, ["ip 192.0.2.7 10", "account alice 30"]);
  assert.equal(book.offences("ip", "192.0.2.7", 0), 0);
});

test("look-ups spread over many decisions do not evict the one that keeps being hit", () => {
  const book = new DecisionBook();
  const hot = decision(randomUUID(), "ip", "198.51.100.7", null);
  book.add(hot);
  const others = Array.from({ length: 20_000 }, (_, i) =>
    decision(randomUUID(), "ip", `10.${i >> 8}.${i & 255}.1`, null),
  );
  for (const d of others) book.add(d);
  book.match({ ip: hot.value }, 0);
  const kept = book.match({ ip: hot.value }, 0)[0]!; // hit again: kept from here on
  assert.deepEqual(kept, hot);
  // A scan: each once. Kept as they came, they would take every place in the cache.
  for (const d of others) assert.equal(book.match({ ip: d.value }, 0)[0]!.id, d.id);
  assert.equal(book.match({ ip: hot.value }, 0)[0], kept, "the hot decision is still cached");
  // Another decision hit again is kept too, and the answer is the same decision either way.
  const first = book.match({ ip: others[5]!.value }, 0)[0]!;
  const again = book.match({ ip: others[5]!.value }, 0)[0]!;
  assert.equal(book.match({ ip: others[5]!.value }, 0)[0], again);
  assert.deepEqual(first, others[5]);
  assert.deepEqual(again, others[5]);
});
