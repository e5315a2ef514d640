import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { altchaWidget, escapeHtml, formFields, splitForm } from "./index.ts";

/** Decodes the five entities escapeHtml writes, to check that escaping round-trips. */
const unescape = (s: string): string =>
  s
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&#96;", "`")
    .replaceAll("&amp;", "&");

describe("escapeHtml", () => {
  it("leaves no markup character and round-trips any text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        const e = escapeHtml(s);
        assert.doesNotMatch(e, /[<>"'`]/);
        assert.equal(unescape(e), s);
      }),
    );
  });
});

describe("formFields", () => {
  it("renders the hidden token and an off-screen, unfocusable, never auto-filled honeypot", () => {
    const html = formFields({ token: "abc.def", honeypot: "website" });
    assert.match(html, /<input type="hidden" name="rempart_token" value="abc\.def">/);
    assert.match(html, /name="website" value="" autocomplete="off" tabindex="-1"/);
    assert.match(html, /left:-10000px/);
    assert.match(html, /aria-hidden="true"/);
  });

  it("escapes what the daemon sent", () => {
    const html = formFields({ token: '"><script>x</script>', honeypot: "a\" onfocus='y'" });
    assert.doesNotMatch(html, /<script>|onfocus='/);
  });

  it("renders nothing without a token (Rempart was unavailable)", () => {
    assert.equal(formFields({ token: "", honeypot: "" }), "");
  });
});

describe("altchaWidget", () => {
  it("is invisible and starts on load by default, without the interaction collector", () => {
    const html = altchaWidget({ challengeUrl: "/altcha/challenge?form=petition&x=1" });
    assert.match(html, /^<altcha-widget challenge="\/altcha\/challenge\?form=petition&amp;x=1"/);
    assert.match(html, / auto="onload" display="invisible" name="altcha"/);
    assert.match(html, /configuration="\{&quot;humanInteractionSignature&quot;:false\}"/);
    assert.match(html, /><\/altcha-widget>$/);
  });

  it("carries an inline challenge as escaped JSON that decodes to the same object", () => {
    const challenge = { parameters: { nonce: "</altcha-widget><script>", cost: 5 } };
    const html = altchaWidget({ challenge, challengeUrl: "/ignored", display: "standard" });
    const attr = /challenge="([^"]*)"/.exec(html)?.[1];
    assert.ok(attr !== undefined);
    assert.deepEqual(JSON.parse(unescape(attr)), challenge);
    assert.doesNotMatch(html, /<script>/);
    assert.match(html, /display="standard"/);
  });

  it("needs a challenge or its URL", () => {
    assert.throws(() => altchaWidget({}), TypeError);
  });
});

describe("splitForm", () => {
  it("takes out the token and the payload, and never passes a password on", () => {
    assert.deepEqual(
      splitForm({
        email: "a@example.org",
        password: "hunter2",
        rempart_token: "t",
        altcha: "p",
        hp: "",
      }),
      { token: "t", altcha: "p", fields: { email: "a@example.org", hp: "" } },
    );
    assert.deepEqual(splitForm({ card: "4111", n: "x" }, ["card"]), { fields: { n: "x" } });
  });
});
