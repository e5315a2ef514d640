import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ChallengePage, pickLanguage, sitePath, withReturn } from "./challenge-page.ts";

const text = (body: string | Uint8Array | undefined): string => Buffer.from(body ?? "").toString();

describe("the challenge page", () => {
  it("speaks the visitor's preferred language of English and French, English otherwise", () => {
    assert.equal(pickLanguage(undefined), "en");
    assert.equal(pickLanguage(""), "en");
    assert.equal(pickLanguage("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7"), "fr");
    assert.equal(pickLanguage("en-US,en;q=0.9,fr;q=0.8"), "en");
    assert.equal(pickLanguage("de-DE,de;q=0.9,fr;q=0.5"), "fr", "French before a fallback");
    assert.equal(pickLanguage("de,it"), "en");
    assert.equal(pickLanguage("fr;q=0, en;q=0.1"), "en", "q=0 is a refusal");
    assert.equal(pickLanguage("FR-ca"), "fr");
  });

  it("fills in every text of each language, and loads the widget's French strings in French", () => {
    const page = new ChallengePage();
    const fr = text(page.page("fr").body);
    const en = text(page.page("en").body);
    assert.doesNotMatch(fr + en, /\{\{/);
    assert.match(fr, /<html lang="fr">/);
    assert.match(
      fr,
      /<script type="module" src="altcha-fr\.js"><\/script>\s*<script type="module" src="altcha\.js">/,
    );
    assert.match(fr, /language="fr-fr"/);
    assert.match(fr, /<h1>Un instant…<\/h1>\s*<p>Ce site reçoit/);
    assert.match(en, /<h1>One moment…<\/h1>\s*<p>This site is receiving/);
    assert.match(en, /<html lang="en">/);
    assert.doesNotMatch(en, /altcha-fr\.js/);
    assert.equal(page.page("fr").headers.vary, "Accept-Language");
    assert.match(text(page.script("widget-fr").body), /i18n\.set\("fr-fr"/);
  });

  it("goes back only to a path on the site", () => {
    for (const ok of ["/", "/a/b?c=d&e=%20f", "/articles/42#x"]) assert.equal(sitePath(ok), ok);
    for (const bad of ["//evil.example", "/\\evil.example", "https://x/", "a", "/a b", "/é", "/\n"])
      assert.equal(sitePath(bad), undefined, JSON.stringify(bad));
    assert.equal(withReturn("/.rempart/", "/a?b=1"), "/.rempart/?return=%2Fa%3Fb%3D1");
    assert.equal(withReturn("/c?x=1", "/a"), "/c?x=1&return=%2Fa");
    assert.equal(withReturn("/c", undefined), "/c");
  });
});
