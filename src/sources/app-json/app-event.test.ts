import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { fixtureLines, parseAll } from "../test-support.ts";
import { JsonParserPlugin, parseAppEvent } from "./index.ts";

describe("application events", () => {
  it("reads the fixture events", () => {
    const lines = fixtureLines(new URL("./fixtures/events.jsonl", import.meta.url));
    const got = parseAll(JsonParserPlugin.create({}), "app.log", lines);
    assert.deepEqual(got[0], [
      {
        id: "sig-000123",
        type: "form.submit",
        time: Date.parse("2020-11-18T16:05:00.200Z"),
        tzOffset: 60,
        service: "app",
        ip: "203.0.113.7",
        account: "jeff",
        email: "jeff@example.org",
        fields: {
          form: "petition/noel-sans-amazon",
          "fields.first_name": "Jeff",
          "fields.last_name": "Bezos",
          "fields.comment": "Joyeux Noël",
          "client.user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
          "client.fill_ms": 1840,
          "client.token": "tok",
          "client.pow": "abc",
        },
      },
    ]);
    assert.deepEqual(got[1], [
      {
        id: "signup-9",
        type: "signup",
        time: Date.parse("2024-09-28T11:01:07.123Z"),
        tzOffset: 0,
        service: "forum",
        ip: "2001:db8::7",
        fields: {
          "source.port": 51234,
          tags: '["a","b"]',
          "meta.deep": '{"x":1}',
          consent: true,
          note: null,
        },
      },
    ]);
    const pay = got[2]![0]!;
    assert.equal(pay.time, Date.parse("2024-09-28T16:31:07Z"));
    assert.equal(pay.tzOffset, -210);
    assert.equal(Object.getPrototypeOf(pay.fields), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(pay.fields, "__proto__")?.value, "kept");
    assert.equal(pay.fields["amount"], 12.5);
    assert.ok(Object.isFrozen(pay));
  });

  it("says which member is wrong and why", () => {
    const base = { id: "x", time: "2024-09-28T13:01:07Z", type: "signup" };
    const cases: [unknown, RegExp][] = [
      [[], /the event must be a JSON object/],
      [{ ...base, id: 3 }, /id must be a non-empty string/],
      [{ ...base, id: "a".repeat(201) }, /id must be at most 200/],
      [{ ...base, type: "Signup" }, /type must match/],
      [{ ...base, type: undefined }, /type must match/],
      [{ ...base, time: "2024-09-28T13:01:07" }, /time must be ISO 8601 with an offset/],
      [{ ...base, time: "2024-02-30T13:01:07Z" }, /time must be ISO 8601/],
      [{ ...base, time: 1727528467 }, /time must be an ISO 8601 string/],
      [{ ...base, source: { ip: "999.1.1.1" } }, /source\.ip is not an IP address/],
      [{ ...base, source: "1.2.3.4" }, /source must be an object/],
      [{ ...base, actor: { email: 5 } }, /actor\.email must be a string/],
      [{ ...base, service: 7 }, /service must match/],
    ];
    for (const [value, message] of cases) {
      const r = parseAppEvent(value, "events[2]");
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.match(r.error.message, message);
        assert.match(r.error.message, /^events\[2\]: /);
        assert.equal(r.error.code, "INPUT_INVALID");
      }
    }
  });

  it("refuses lines that are not JSON", () => {
    const r = JsonParserPlugin.create({}).parse("{nope", { source: "app.log", offset: 9 });
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error.message, /^app\.log:9: not JSON/);
  });

  it("sniffs JSON event lines", () => {
    assert.ok(JsonParserPlugin.sniff('{"id":"a","type":"signup"}'));
    assert.ok(!JsonParserPlugin.sniff('Sep 28 13:01:07 mx a: {"type":1}'));
  });

  it("never throws on arbitrary values and lines", () => {
    const parser = JsonParserPlugin.create({});
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (v) => {
        assert.equal(typeof parseAppEvent(v, "x").ok, "boolean");
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (line) => {
        assert.equal(typeof parser.parse(line, { source: "s", offset: 0 }).ok, "boolean");
      }),
      { numRuns: 3000 },
    );
  });
});
