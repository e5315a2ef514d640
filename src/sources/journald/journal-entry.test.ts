import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { parseJournalEntry } from "./journal-entry.ts";

// Written by journalctl 252 (`journalctl -o json`) from a journal made with
// systemd-journal-remote: a Postfix entry, a Dovecot entry, an entry whose MESSAGE is not
// valid UTF-8 (an array of bytes), and one appended later.
const captured = (
  await readFile(new URL("fixtures/journalctl-json.jsonl", import.meta.url), "utf8")
)
  .split("\n")
  .filter((line) => line !== "");

const parse = (line: string) => {
  const result = parseJournalEntry(line);
  assert.ok(result.ok, JSON.stringify(result));
  return result.value;
};

describe("parseJournalEntry", () => {
  it("reads journalctl's JSON into syslog records", () => {
    const [postfix, dovecot, binary, later] = captured.map(parse);
    assert.deepEqual(
      { ...postfix, tzOffset: 0 },
      {
        time: 1727521267000,
        tzOffset: 0,
        host: "mx1",
        program: "postfix/smtpd",
        pid: 1234,
        message: "connect from unknown[203.0.113.7]",
        cursor:
          "s=d4ba61cdd7a1420d9ffffbbca810ab07;i=1;b=0123456789abcdef0123456789abcdef;m=3e8;t=6232be37622c0;x=ba51d7d0c7486d85",
        unit: "postfix@-.service",
      },
    );
    assert.equal(postfix!.tzOffset, -new Date(1727521267000).getTimezoneOffset());
    assert.equal(dovecot!.program, "dovecot");
    assert.equal(dovecot!.pid, 777);
    assert.equal(binary!.message, "bad \uFFFD byte");
    assert.equal(binary!.program, "sshd");
    assert.equal(binary!.unit, undefined);
    assert.equal(later!.message, "later entry");
    assert.equal(later!.time, 1727521300000);
  });

  it("copes with null, repeated and missing fields", () => {
    const base = {
      __CURSOR: "s=1;i=9",
      __REALTIME_TIMESTAMP: "1727521267123456",
      _HOSTNAME: "mx1",
    };
    // Larger than 4096 bytes without --all: journalctl writes null.
    const tooLarge = parse(JSON.stringify({ ...base, MESSAGE: null, SYSLOG_IDENTIFIER: "x" }));
    assert.equal(tooLarge.message, "");
    assert.equal(tooLarge.time, 1727521267123);
    const repeated = parse(
      JSON.stringify({ ...base, MESSAGE: ["first", [104, 105]], SYSLOG_IDENTIFIER: ["a", "b"] }),
    );
    assert.equal(repeated.message, "first");
    assert.equal(repeated.program, "a");
    // A service writing to stdout: no syslog fields, only trusted ones.
    const stdout = parse(JSON.stringify({ ...base, MESSAGE: "hello", _COMM: "myapp", _PID: "9" }));
    assert.equal(stdout.program, "myapp");
    assert.equal(stdout.pid, 9);
    const bytes = parse(JSON.stringify({ ...base, MESSAGE: [104, 195, 169] }));
    assert.equal(bytes.message, "hé");
  });

  it("refuses what is not a journal entry, without throwing", () => {
    for (const [line, code] of [
      ["not json", "journal.json"],
      ["[1,2]", "journal.json"],
      ["null", "journal.json"],
      ['{"__REALTIME_TIMESTAMP":"1"}', "journal.cursor"],
      ['{"__CURSOR":"c","__REALTIME_TIMESTAMP":"soon"}', "journal.time"],
      ['{"__CURSOR":"c"}', "journal.time"],
    ] as const) {
      const result = parseJournalEntry(line);
      assert.ok(!result.ok, line);
      assert.equal(result.error.code, code, line);
    }
  });
});
