import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { FormTokens, HONEYPOT_NAMES, type TokenFailure } from "./form-tokens.ts";
import { FormTokenConfigSchema, formTokenLimits } from "./token-config.ts";

const tokens = new FormTokens({ key: randomBytes(32) });
const T = Date.parse("2020-11-18T16:05:00Z");
const MIN = 3000;
const MAX = 7_200_000;
const REASONS: readonly TokenFailure[] = [
  "missing",
  "malformed",
  "bad-signature",
  "wrong-form",
  "expired",
  "too-fast",
  "honeypot",
];

void describe("FormTokens", () => {
  void it("accepts its own token after a human fill time, and says how long it took", () => {
    const { token, honeypot } = tokens.issue("petition", T);
    assert.ok(HONEYPOT_NAMES.includes(honeypot));
    const check = tokens.verify(token, "petition", { [honeypot]: "" }, T + 4200, MIN, MAX);
    assert.deepEqual(check, { ok: true, fillMs: 4200 });
    assert.deepEqual(tokens.verify(token, "petition", {}, T + MAX, MIN, MAX), {
      ok: true,
      fillMs: MAX,
    });
  });

  void it("says each reason", () => {
    const { token, honeypot } = tokens.issue("petition", T);
    const check = (t: string | undefined, form = "petition", fields = {}, now = T + 5000) =>
      tokens.verify(t, form, fields, now, MIN, MAX);
    assert.deepEqual(check(undefined), { ok: false, reason: "missing" });
    assert.deepEqual(check(""), { ok: false, reason: "missing" });
    assert.deepEqual(check("not a token"), { ok: false, reason: "malformed" });
    assert.deepEqual(check("AAAA"), { ok: false, reason: "malformed" });
    const other = new FormTokens({ key: randomBytes(32) }).issue("petition", T).token;
    assert.deepEqual(check(other), { ok: false, reason: "bad-signature" });
    assert.deepEqual(check(token, "signup"), { ok: false, reason: "wrong-form" });
    assert.deepEqual(check(token, "petition", {}, T + MAX + 1), { ok: false, reason: "expired" });
    assert.deepEqual(check(token, "petition", {}, T + MIN - 1), { ok: false, reason: "too-fast" });
    assert.deepEqual(check(token, "petition", {}, T - 1000), { ok: false, reason: "too-fast" });
    assert.deepEqual(check(token, "petition", { [honeypot]: "https://spam.example" }), {
      ok: false,
      reason: "honeypot",
    });
    // A filled honeypot is the stronger evidence: it wins over a fast fill.
    assert.deepEqual(check(token, "petition", { [honeypot]: "x" }, T + 10), {
      ok: false,
      reason: "honeypot",
    });
    assert.equal(check(token, "petition", { [honeypot]: "  " }).ok, true);
  });

  void it("varies the honeypot name and avoids the form's real fields", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(tokens.issue("petition", T).honeypot);
    assert.ok(seen.size > 5, `${seen.size} names`);
    const real = HONEYPOT_NAMES.filter((n) => n !== "fax");
    for (let i = 0; i < 20; i++) assert.equal(tokens.issue("signup", T, real).honeypot, "fax");
    // Every name taken: still a token (the operator's list is too short, not the person's fault).
    assert.ok(HONEYPOT_NAMES.includes(tokens.issue("signup", T, HONEYPOT_NAMES).honeypot));
  });

  void it("carries non-ASCII form ids and refuses absurd ones", () => {
    const { token } = tokens.issue("pétition-été", T);
    assert.equal(tokens.verify(token, "pétition-été", {}, T + 5000, MIN, MAX).ok, true);
    assert.throws(() => tokens.issue("x".repeat(256), T), RangeError);
    assert.throws(() => new FormTokens({ key: randomBytes(32), honeypotNames: ["bad name"] }));
  });

  void it("cannot be altered: every bit flip is bad-signature or malformed", () => {
    const { token } = tokens.issue("petition", T);
    const bytes = Buffer.from(token, "base64url");
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const flipped = Buffer.from(bytes);
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const check = tokens.verify(
        flipped.toString("base64url"),
        "petition",
        {},
        T + 5000,
        MIN,
        MAX,
      );
      assert.equal(check.ok, false);
      assert.ok(!check.ok && ["bad-signature", "malformed"].includes(check.reason), `bit ${bit}`);
    }
    // And on the text: each character's bits, including the unused ones of the last character.
    for (let i = 0; i < token.length; i++) {
      for (let bit = 0; bit < 7; bit++) {
        const ch = String.fromCharCode(token.charCodeAt(i) ^ (1 << bit));
        const check = tokens.verify(
          token.slice(0, i) + ch + token.slice(i + 1),
          "petition",
          {},
          T + 5000,
          MIN,
          MAX,
        );
        assert.ok(
          !check.ok && ["bad-signature", "malformed"].includes(check.reason),
          `${i}/${bit}`,
        );
      }
    }
  });

  void it("never throws on hostile input", () => {
    const { token } = tokens.issue("petition", T);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.base64String(),
          fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b).toString("base64url")),
          // Valid version byte and a plausible length, random content.
          fc
            .uint8Array({ minLength: 40, maxLength: 200 })
            .map((b) => Buffer.concat([Buffer.from([1]), b]).toString("base64url")),
          fc.nat(token.length - 1).map((i) => token.slice(0, i)),
        ),
        fc.dictionary(fc.string(), fc.string()),
        (input, fields) => {
          const check = tokens.verify(input, "petition", fields, T + 5000, MIN, MAX);
          if (!check.ok) assert.ok(REASONS.includes(check.reason));
          else assert.equal(input, token);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

void describe("FormTokenConfigSchema", () => {
  void it("defaults to 2h and 3s, in ms for verify()", () => {
    const config = FormTokenConfigSchema.parse({});
    assert.deepEqual(formTokenLimits(config), { maxAgeMs: 7_200_000, minFillMs: 3000 });
    assert.deepEqual(config.honeypot_names, [...HONEYPOT_NAMES]);
  });

  void it("refuses bad durations, bad names and unknown keys", () => {
    for (const bad of [{ max_age: "2 hours" }, { honeypot_names: ["a b"] }, { minfill: "3s" }]) {
      assert.equal(FormTokenConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});
