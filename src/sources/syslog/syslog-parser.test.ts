import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { SyslogRecord } from "../../core/ports.ts";
import { fixtureLines } from "../test-support.ts";
import { createMessageDispatcher, SyslogFramer, SyslogParserPlugin } from "./index.ts";

const paris = { year: 2024, timeZone: "Europe/Paris" } as const;
const at = (iso: string): number => Date.parse(iso);

describe("syslog framing", () => {
  it("reads journalctl -o short-iso's offset without a colon, as RFC 3339's with one", () => {
    const framer = new SyslogFramer(paris);
    const line = (stamp: string) =>
      framer.frame(`${stamp} mx postfix/smtpd[1234]: connect from unknown[192.0.2.1]`);
    const basic = line("2024-09-28T13:01:07+0200");
    assert.deepEqual(basic, line("2024-09-28T13:01:07+02:00"));
    assert.equal(basic?.time, at("2024-09-28T13:01:07+02:00"));
    assert.equal(basic?.tzOffset, 120);
    assert.equal(line("2024-09-28T13:01:07-0530")?.tzOffset, -330);
    assert.equal(line("2024-09-28T13:01:07+02"), null, "an offset of hours only is no offset");
  });

  it("frames every fixture variant", () => {
    const framer = new SyslogFramer(paris);
    const got = fixtureLines(new URL("./fixtures/framing.log", import.meta.url)).map((l) =>
      framer.frame(l),
    );
    const rec = (r: SyslogRecord): SyslogRecord => r;
    assert.deepEqual(got, [
      rec({
        time: at("2024-09-28T13:01:07+02:00"),
        tzOffset: 120,
        host: "mx",
        program: "postfix/smtpd",
        pid: 1234,
        message: "connect from unknown[192.0.2.1]",
      }),
      rec({
        time: at("2024-09-08T03:04:05+02:00"),
        tzOffset: 120,
        host: "mx",
        program: "dovecot",
        message: "imap-login: Login: user=<a>, rip=192.0.2.1",
      }),
      rec({
        time: at("2024-09-28T13:01:07+02:00"),
        tzOffset: 120,
        host: "mx",
        program: "postfix/qmgr",
        pid: 812,
        message: "3F1A2B4C5D: removed",
      }),
      rec({
        time: at("2024-09-28T13:01:07.123+02:00"),
        tzOffset: 120,
        host: "mx",
        program: "postfix/smtpd",
        pid: 1234,
        message: "connect from unknown[192.0.2.1]",
      }),
      rec({
        time: at("2024-09-28T11:01:07Z"),
        tzOffset: 0,
        host: "mx",
        program: "kernel",
        message: "[12345.678] eth0: link up",
      }),
      rec({
        time: at("2024-09-28T13:01:07.003Z"),
        tzOffset: 0,
        host: "mx.example.org",
        program: "postfix/smtpd",
        pid: 1234,
        message: "connect from unknown[192.0.2.1]",
      }),
      rec({
        time: at("2024-09-28T13:01:07.003-07:00"),
        tzOffset: -420,
        host: "",
        program: "",
        message: "BOM'd message",
      }),
      rec({
        time: at("2024-09-28T13:01:07Z"),
        tzOffset: 0,
        host: "mx",
        program: "app",
        message: "",
      }),
      rec({
        time: at("2024-09-28T13:01:07+02:00"),
        tzOffset: 120,
        host: "",
        program: "postfix/smtpd",
        pid: 1234,
        message: "no host on this one",
      }),
      rec({
        time: at("2024-09-28T13:01:07+02:00"),
        tzOffset: 120,
        host: "mx",
        program: "",
        message: "last message repeated 3 times",
      }),
    ]);
  });

  it("uses the zone's offset on each side of a DST change", () => {
    const framer = new SyslogFramer(paris);
    assert.equal(framer.frame("Oct 27 01:30:00 h p: m")?.time, at("2024-10-27T01:30:00+02:00"));
    assert.equal(framer.frame("Oct 27 04:30:00 h p: m")?.time, at("2024-10-27T04:30:00+01:00"));
    assert.equal(framer.frame("Oct 27 04:30:00 h p: m")?.tzOffset, 60);
    const ny = new SyslogFramer({ year: 2024, timeZone: "America/New_York" });
    assert.equal(ny.frame("Jan  5 10:00:00 h p: m")?.time, at("2024-01-05T10:00:00-05:00"));
  });

  it("infers the year from now, and moves it on when December turns to January", () => {
    const now = () => at("2025-01-03T12:00:00Z");
    const framer = new SyslogFramer({ timeZone: "UTC", now });
    // A December line read in early January is from last year.
    assert.equal(framer.frame("Dec 31 23:59:59 h p: m")?.time, at("2024-12-31T23:59:59Z"));
    assert.equal(framer.frame("Jan  1 00:00:01 h p: m")?.time, at("2025-01-01T00:00:01Z"));
    // A late line from the old year does not throw the stream back for good.
    assert.equal(framer.frame("Dec 31 23:59:58 h p: m")?.time, at("2024-12-31T23:59:58Z"));
    assert.equal(framer.frame("Jan  1 00:00:02 h p: m")?.time, at("2025-01-01T00:00:02Z"));
    const fixed = new SyslogFramer({ year: 2023, timeZone: "UTC" });
    assert.equal(fixed.frame("Dec 31 23:59:59 h p: m")?.time, at("2023-12-31T23:59:59Z"));
    assert.equal(fixed.frame("Jan  1 00:00:00 h p: m")?.time, at("2024-01-01T00:00:00Z"));
    const sameYear = new SyslogFramer({ timeZone: "UTC", now: () => at("2024-09-28T00:00:00Z") });
    assert.equal(sameYear.frame("Oct  1 00:00:00 h p: m")?.time, at("2024-10-01T00:00:00Z"));
  });

  it("refuses lines without a syslog header, with a reason", () => {
    const parser = SyslogParserPlugin.create(paris);
    for (const line of ["", "hello", "Sep 31 13:01:07 h p: m", "<999>Sep 28 13:01:07 h p: m"]) {
      const r = parser.parse(line, { source: "s", offset: 7 });
      assert.equal(r.ok, false, line);
      if (!r.ok) assert.equal(r.error.offset, 7);
    }
  });

  it("ignores programs nobody reads", () => {
    const parser = SyslogParserPlugin.create(paris);
    const r = parser.parse("Sep 28 13:01:07 mx sshd[1]: Failed password for root", {
      source: "s",
      offset: 0,
    });
    assert.deepEqual(r, { ok: true, value: [] });
  });

  it("dispatches records framed elsewhere (journald)", () => {
    const d = createMessageDispatcher();
    const r = d.dispatch(
      {
        time: 1,
        tzOffset: 0,
        host: "mx",
        program: "postfix/smtpd",
        message: "warning: unknown[192.0.2.9]: SASL LOGIN authentication failed: x",
      },
      { source: "journal", offset: 5 },
    );
    assert.ok(r.ok);
    assert.equal(r.value[0]?.id, "journal:5");
    assert.equal(r.value[0]?.ip, "192.0.2.9");
  });

  it("sniffs syslog lines", () => {
    assert.ok(SyslogParserPlugin.sniff("Sep  8 13:01:07 mx postfix/smtpd[1]: x"));
    assert.ok(SyslogParserPlugin.sniff("<34>1 2024-09-28T13:01:07Z mx a - - - x"));
    assert.ok(SyslogParserPlugin.sniff("2024-09-28T13:01:07+02:00 mx a: x"));
    assert.ok(!SyslogParserPlugin.sniff('192.0.2.1 - - [28/Sep/2024:13:01:07 +0200] "GET /"'));
    assert.ok(!SyslogParserPlugin.sniff('{"id":"x"}'));
  });

  it("never throws on arbitrary lines", () => {
    const parser = SyslogParserPlugin.create(paris);
    const head = fc.constantFrom(
      "",
      "<34>",
      "<34>1 ",
      "Sep 28 13:01:07 ",
      "Sep  8 13:01:07.5 ",
      "2024-09-28T13:01:07.1+02:00 ",
      "2024-02-30T13:01:07Z ",
      '<1>1 2024-09-28T13:01:07Z h a p m [x y="',
    );
    const rest = fc.array(
      fc.oneof(
        fc.string(),
        fc.constantFrom("mx ", "postfix/smtpd[", "]: ", "dovecot: ", "[", "\\"),
      ),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.tuple(head, rest).map(([h, r]) => h + r.join("")),
        ),
        (line) => {
          const r = parser.parse(line, { source: "s", offset: 0 });
          assert.equal(typeof r.ok, "boolean");
        },
      ),
      { numRuns: 5000 },
    );
  });
});
