import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixtureLines } from "./test-support.ts";
import { PARSER_PLUGINS, parserPlugin, sniffFormat } from "./index.ts";

const sample = (path: string): string[] => fixtureLines(new URL(path, import.meta.url));

describe("parser registry", () => {
  it("finds plugins by id and alias", () => {
    assert.deepEqual(
      PARSER_PLUGINS.map((p) => p.id),
      ["syslog", "nginx", "apache", "json"],
    );
    assert.equal(parserPlugin("postfix")?.id, "syslog");
    assert.equal(parserPlugin("dovecot")?.id, "syslog");
    assert.equal(parserPlugin("apache")?.id, "apache");
    assert.equal(parserPlugin("toString"), undefined);
    assert.equal(parserPlugin("constructor"), undefined);
  });

  it("guesses a file's format by majority", () => {
    assert.equal(sniffFormat(sample("./postfix/fixtures/postfix.log")), "syslog");
    assert.equal(sniffFormat(sample("./dovecot/fixtures/dovecot.log")), "syslog");
    assert.equal(sniffFormat(sample("./http-access/fixtures/combined.log")), "nginx");
    assert.equal(sniffFormat(sample("./app-json/fixtures/events.jsonl")), "json");
    const mixed = [...sample("./app-json/fixtures/events.jsonl"), "Sep 28 13:01:07 mx a: b"];
    assert.equal(sniffFormat(mixed), "json");
    assert.equal(sniffFormat(["hello", "world"]), undefined);
    assert.equal(sniffFormat([]), undefined);
  });
});
