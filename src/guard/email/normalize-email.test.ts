import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { normalizeEmail, type EmailProblem } from "./normalize-email.ts";

const canonical = (a: string): string | undefined => {
  const r = normalizeEmail(a);
  return r.ok ? r.value.canonical : undefined;
};

describe("normalizeEmail", () => {
  const SAME: readonly (readonly string[])[] = [
    ["john.smith@gmail.com", "JohnSmith@gmail.com", "j.o.h.n.s.m.i.t.h+petition@googlemail.com"],
    ["alice@proton.me", "a.l-i_ce@protonmail.com", "alice+x@pm.me", "Alice@protonmail.ch"],
    ["bob@icloud.com", "bob+news@me.com", "BOB@mac.com"],
    ["carol@outlook.com", "carol+spam@outlook.com", "Carol@Outlook.COM."],
    ["dave@yahoo.fr", "dave-petition@yahoo.fr"],
    ["erin@fastmail.com", "anything@erin.fastmail.com", "erin+tag@fastmail.com"],
    ["frank@example.org", "frank+1@example.org", "FRANK@EXAMPLE.ORG"],
    ["gaelle@bücher.de", "gaelle@xn--bcher-kva.de", "Gaelle@BÜCHER.de"],
  ];
  for (const group of SAME) {
    it(`reaches one mailbox for ${group[0]!}`, () => {
      const first = canonical(group[0]!);
      assert.ok(first !== undefined);
      for (const a of group) assert.equal(canonical(a), first, a);
    });
  }

  const APART: readonly (readonly [string, string])[] = [
    ["john.smith@example.org", "johnsmith@example.org"], // only Gmail and Proton ignore dots
    ["john@gmail.com", "john@outlook.com"],
    ["outlook-user@hotmail.com", "outlook-user@outlook.com"], // separate namespaces
    ["a-b@example.org", "a@example.org"], // only Yahoo tags with "-"
    ["john@yahoo.co.jp", "john-x@yahoo.co.jp"], // Yahoo Japan is another company
  ];
  for (const [a, b] of APART) {
    it(`keeps ${a} and ${b} apart`, () => {
      assert.notEqual(canonical(a), canonical(b));
    });
  }

  it("keeps the address as given, with the domain in lower-case ASCII", () => {
    const r = normalizeEmail("  J.Doe+x@Bücher.DE. ");
    assert.deepEqual(r, {
      ok: true,
      value: {
        address: "J.Doe+x@xn--bcher-kva.de",
        local: "J.Doe+x",
        domain: "xn--bcher-kva.de",
        canonical: "j.doe@xn--bcher-kva.de",
      },
    });
  });

  it("keeps a leading + (it is the name, not a tag) and non-ASCII local parts", () => {
    assert.equal(canonical("+33@example.org"), "+33@example.org");
    assert.equal(canonical("Élodie@exemple.fr"), "élodie@exemple.fr");
  });

  const BAD: readonly (readonly [string, EmailProblem])[] = [
    ["", "empty"],
    ["   ", "empty"],
    ["john.example.org", "no-at"],
    ["@example.org", "bad-local"],
    ["a..b@example.org", "bad-local"],
    [".a@example.org", "bad-local"],
    ["a b@example.org", "bad-local"],
    ["a\u0000b@example.org", "bad-local"],
    [`${"a".repeat(65)}@example.org`, "bad-local"],
    ['"john doe"@example.org', "quoted-local"],
    ["a@[192.0.2.1]", "address-literal"],
    ["a@", "bad-domain"],
    ["a@localhost", "bad-domain"],
    ["a@192.0.2.1", "bad-domain"],
    ["a@-x.org", "bad-domain"],
    ["a@x_y.org", "bad-domain"],
    ["a@exa mple.org", "bad-domain"],
    [`a@${"x".repeat(64)}.org`, "bad-domain"],
    [`a@${"abcdefghi.".repeat(25)}org`, "too-long"],
  ];
  for (const [input, problem] of BAD) {
    it(`refuses ${JSON.stringify(input.slice(0, 30))}: ${problem}`, () => {
      assert.deepEqual(normalizeEmail(input), { ok: false, error: problem });
    });
  }

  it("never throws, and its canonical form is a fixed point", () => {
    const local = fc.stringMatching(/^[a-zA-Z0-9._+-]{1,20}$/);
    const host = fc.constantFrom(
      "gmail.com",
      "googlemail.com",
      "pm.me",
      "yahoo.com",
      "me.com",
      "x.fastmail.com",
      "example.org",
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.tuple(local, host).map(([l, h]) => `${l}@${h}`),
        ),
        (a) => {
          const r = normalizeEmail(a);
          if (!r.ok) return;
          const again = normalizeEmail(r.value.canonical);
          assert.ok(again.ok, r.value.canonical);
          assert.equal(again.value.canonical, r.value.canonical);
          assert.equal(r.value.canonical, r.value.canonical.toLowerCase());
        },
      ),
      { numRuns: 3000 },
    );
  });
});
