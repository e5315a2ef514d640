import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import type { Event } from "../core/index.ts";
import { compileExpression, compileFilter, pinnedTypes } from "./expression.ts";

const ev = (over: Partial<Event> = {}): Event => ({
  id: "t:1",
  type: "auth.failure",
  time: Date.UTC(2024, 8, 28, 13, 1, 7),
  tzOffset: 120,
  service: "postfix",
  ip: "203.0.113.7",
  account: "alice@example.org",
  email: "Alice@example.org".toLowerCase(),
  fields: { status: "404", attempts: 3, comment: "déso pas déso" },
  ...over,
});

const run = (src: string, e: Event = ev()): boolean => {
  const f = compileFilter(src);
  assert.ok(f.ok, f.ok ? "" : f.error.message);
  return f.value(e);
};

test("comparisons, logic and membership", () => {
  assert.equal(run('type == "auth.failure" && service in ["postfix", "dovecot"]'), true);
  assert.equal(run('type == "auth.failure" && service in ["dovecot"]'), false);
  assert.equal(run('service not in ["nginx"] and !(ip == "1.2.3.4")'), true);
  assert.equal(
    run("fields.status >= 400 && fields.status < 500"),
    true,
    "numeric text compares as a number",
  );
  assert.equal(run("fields.attempts * 2 == 6"), true);
  // A missing field is null: == null finds it, != anything else is true, an order is false.
  assert.equal(run("fields.missing == null"), true);
  assert.equal(run("fields.missing != null"), false);
  assert.equal(run("fields.attempts == null"), false);
  assert.equal(run('fields.missing != "x"'), true);
  assert.equal(run('fields.missing == "x"'), false);
  assert.equal(run("fields.missing < 5 || fields.missing >= 5"), false);
  assert.equal(run("exists(fields.missing)"), false);
  assert.equal(run('fields.missing in [null, ""]'), true);
  assert.equal(run("fields.missing not in [null]"), false);
});

test("derived fields: prefixes, domain, hour in the event's own offset", () => {
  assert.equal(run('ip24 == "203.0.113.0/24" && prefix == "203.0.113.0/24"'), true);
  assert.equal(run('domain == "example.org"'), true);
  assert.equal(run("hour == 15"), true, "13:01 UTC at +02:00 is 15h");
  assert.equal(
    run(
      'ip64 == "2001:db8:1:2::/64" && ip48 == "2001:db8:1::/48"',
      ev({ ip: "2001:db8:1:2:3::9" }),
    ),
    true,
  );
});

test("strings: matches, contains, startsWith, in_cidr", () => {
  assert.equal(run('lower(fields.comment) matches "^d[ée]so"'), true);
  assert.equal(run('account endsWith "@example.org" && account startsWith "alice"'), true);
  assert.equal(run('fields.comment contains "pas"'), true);
  assert.equal(run('ip in_cidr "203.0.113.0/25"'), true);
  assert.equal(run('ip in_cidr "203.0.113.128/25"'), false);
});

test("errors are values with a column, found at compile time", () => {
  const cases: [string, RegExp][] = [
    ["typo == 1", /unknown field "typo"/],
    ['type == "x" &&', /ends too early/],
    ["evil(1)", /unknown function "evil"/],
    ["constructor(1)", /unknown function "constructor"/],
    ["toString(ip)", /unknown function "toString"/],
    ["ip matches fields.comment", /string literal/],
    ['ip in_cidr "nope"', /CIDR/],
    ['"unterminated', /unterminated/],
    ["constructor.prototype", /unknown field/],
  ];
  for (const [src, re] of cases) {
    const r = compileExpression(src);
    assert.equal(r.ok, false, src);
    if (!r.ok) assert.match(r.error.message, re, src);
  }
});

test("pinned types let the engine index scenarios", () => {
  assert.deepEqual(pinnedTypes('type == "auth.failure" && service == "x"'), ["auth.failure"]);
  assert.deepEqual(pinnedTypes('service == "x" && type in ["a", "b"]'), ["a", "b"]);
  assert.equal(pinnedTypes('type == "a" || type == "b"'), undefined);
});

test("property: compiling arbitrary text never throws, and evaluating never throws", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), (src) => {
      const r = compileExpression(src);
      if (r.ok) r.value(ev());
    }),
    { numRuns: 3000 },
  );
});
