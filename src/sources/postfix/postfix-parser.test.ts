import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SyslogParserPlugin } from "../syslog/index.ts";
import { expectEvent, fixtureLines, parseAll, type Expected } from "../test-support.ts";
import { PostfixParser } from "./postfix-parser.ts";

const lines = fixtureLines(new URL("./fixtures/postfix.log", import.meta.url));
const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";

/** "Sep 28 13:01:07" in 2024, Europe/Paris summer time: an independent reading of the stamp. */
function timeOf(line: string): number {
  const month = String(MONTHS.indexOf(line.slice(0, 3)) / 3 + 1).padStart(2, "0");
  const day = line.slice(4, 6).trim().padStart(2, "0");
  return Date.parse(`2024-${month}-${day}T${line.slice(7, 15)}+02:00`);
}

const P = "postfix/smtpd";
const S = "postfix/submission/smtpd";
const PS = "postfix/postscreen";
const alice = { ip: "203.0.113.50", account: "alice@example.org" } as const;
const bob = { ip: "2001:db8::25", account: "bob" } as const;
const disc = (reason: string, after: string | null, failed: number, commands: string | null) => ({
  program: P,
  reason,
  after,
  auth_failed: failed,
  commands,
});
const rej = (
  stage: string,
  code: number | null,
  dsn: string | null,
  reason: string,
  recipient: string | null,
  helo: string | null,
  program = P,
) => ({ stage, code, dsn, reason, recipient, helo, program });

const EXPECTED: Record<number, Expected> = {
  1: {
    type: "auth.failure",
    ip: "198.51.100.7",
    fields: { program: P, mechanism: "LOGIN", reason: "authentication failure" },
  },
  2: {
    type: "auth.failure",
    ip: "198.51.100.7",
    fields: { program: P, mechanism: "LOGIN", reason: "UGFzc3dvcmQ6" },
  },
  3: {
    type: "auth.failure",
    ip: "2001:db8::7",
    account: "admin@example.org",
    fields: { program: S, mechanism: "PLAIN", reason: "" },
  },
  4: {
    type: "auth.failure",
    ip: "198.51.100.8",
    fields: {
      program: "postfix/smtps/smtpd",
      mechanism: "LOGIN",
      reason: "Invalid authentication mechanism",
    },
  },
  6: { type: "smtp.disconnect", ip: "198.51.100.7", fields: disc("lost", "AUTH", 0, null) },
  7: { type: "smtp.disconnect", ip: "198.51.100.7", fields: disc("disconnect", null, 3, "1/4") },
  8: {
    type: "auth.success",
    ...alice,
    fields: { queue_id: "3F1A2B4C5D", mechanism: "PLAIN", program: S },
  },
  10: {
    type: "mail.submitted",
    ...alice,
    email: "alice@example.org",
    fields: { queue_id: "3F1A2B4C5D", size: 2417, nrcpt: 2, sender: "alice@example.org" },
  },
  11: {
    type: "mail.delivery",
    ...alice,
    fields: {
      queue_id: "3F1A2B4C5D",
      recipient: "bob@example.com",
      status: "sent",
      dsn: "2.0.0",
      relay: "mx.example.com[192.0.2.25]:25",
    },
  },
  12: {
    type: "mail.delivery",
    ...alice,
    fields: {
      queue_id: "3F1A2B4C5D",
      recipient: "carol@example.net",
      status: "deferred",
      dsn: "4.4.1",
      relay: "none",
    },
  },
  16: {
    type: "auth.success",
    ...bob,
    fields: { queue_id: "4WF1ZK0Vf0z9sV", mechanism: "LOGIN", program: "postfix-out/smtpd" },
  },
  17: {
    type: "mail.submitted",
    ...bob,
    email: "bob@example.org",
    fields: { queue_id: "4WF1ZK0Vf0z9sV", size: 900, nrcpt: 1, sender: "bob@example.org" },
  },
  18: {
    type: "mail.delivery",
    ...bob,
    fields: {
      queue_id: "4WF1ZK0Vf0z9sV",
      recipient: "dave@example.org",
      status: "bounced",
      dsn: "5.1.1",
      relay: "mail.example.org[private/dovecot-lmtp]",
    },
  },
  21: {
    type: "mail.delivery",
    fields: {
      queue_id: "7B2C3D4E5F",
      recipient: "root@mx.example.org",
      status: "sent",
      dsn: "2.0.0",
      relay: "local",
    },
  },
  22: {
    type: "mail.rejected",
    ip: "198.51.100.20",
    email: "spammer@example.com",
    fields: rej("RCPT", 554, "5.7.1", "Relay access denied", "spam@example.org", "ylmf-pc"),
  },
  23: {
    type: "mail.rejected",
    ip: "192.0.2.34",
    email: "badactor@example.com",
    fields: rej(
      "RCPT",
      450,
      "4.7.1",
      "Client host rejected: cannot find your hostname, [192.0.2.34]",
      "goodguy@example.org",
      "badserver.example.com",
    ),
  },
  24: {
    type: "mail.rejected",
    ip: "198.51.100.21",
    fields: rej(
      "EHLO",
      504,
      "5.5.2",
      "Helo command rejected: need fully-qualified hostname",
      null,
      "User",
    ),
  },
  25: {
    type: "mail.rejected",
    ip: "198.51.100.22",
    fields: rej(
      "VRFY",
      550,
      "5.1.1",
      "Recipient address rejected: User unknown in local recipient table",
      null,
      null,
    ),
  },
  26: {
    type: "mail.rejected",
    ip: "198.51.100.23",
    email: "a@b.example",
    fields: rej(
      "RCPT",
      554,
      "5.7.1",
      "Service unavailable; Client host [198.51.100.23] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/198.51.100.23",
      "c@example.org",
      "x",
    ),
  },
  27: {
    type: "mail.rejected",
    ip: "198.51.100.24",
    email: "x@spam.example",
    fields: {
      ...rej(
        "END-OF-MESSAGE",
        null,
        "5.7.1",
        "Spam message rejected",
        "y@example.org",
        "spam.example",
        "postfix/cleanup",
      ),
      queue_id: "8C3D4E5F60",
    },
  },
  30: {
    type: "mail.rejected",
    ip: "198.51.100.30",
    fields: { stage: "postscreen", reason: "pregreet", program: PS },
  },
  31: {
    type: "mail.rejected",
    ip: "198.51.100.30",
    fields: { stage: "postscreen", reason: "dnsbl", program: PS, rank: 3 },
  },
  32: {
    type: "mail.rejected",
    ip: "198.51.100.31",
    fields: { stage: "postscreen", reason: "pipelining", program: PS },
  },
  33: {
    type: "mail.rejected",
    ip: "2001:db8::31",
    fields: { stage: "postscreen", reason: "hangup", program: PS },
  },
  34: {
    type: "mail.rejected",
    ip: "198.51.100.30",
    email: "a@b.example",
    fields: {
      ...rej("postscreen", 550, "5.7.1", "dnsbl", "c@example.org", "x", PS),
      list: "zen.spamhaus.org",
    },
  },
  36: { type: "smtp.disconnect", ip: "198.51.100.40", fields: disc("timeout", "DATA", 0, null) },
  37: { type: "smtp.disconnect", ip: "192.0.2.80", fields: disc("disconnect", null, 0, "6") },
};

describe("postfix parser", () => {
  it("reads every fixture line into exactly the expected events", () => {
    const parser = SyslogParserPlugin.create({ year: 2024, timeZone: "Europe/Paris" });
    const got = parseAll(parser, "mail.log", lines);
    assert.equal(lines.length, 40);
    got.forEach((events, i) => {
      const n = i + 1;
      const want = EXPECTED[n];
      const line = lines[i]!;
      const expected = want ? [expectEvent("mail.log", n, "postfix", timeOf(line), 120, want)] : [];
      assert.deepEqual(events, expected, `line ${n}: ${line}`);
    });
  });

  it("accepts every Postfix program tag and no other", () => {
    const p = new PostfixParser();
    for (const tag of [
      "postfix",
      "postfix/smtpd",
      "postfix/submission/smtpd",
      "postfix-foo/qmgr",
    ]) {
      assert.ok(p.accepts(tag), tag);
    }
    for (const tag of ["postfixadmin", "dovecot", "sshd", ""]) assert.ok(!p.accepts(tag), tag);
  });

  it("reads a login without case, as Dovecot compares it", () => {
    const p = new PostfixParser();
    const r = p.parse(
      {
        time: 0,
        tzOffset: 0,
        host: "mx",
        program: "postfix/submission/smtpd",
        message:
          "4F2C31A2B3: client=unknown[198.18.3.7], sasl_method=PLAIN, sasl_username=Victim@Club1.example",
      },
      { source: "s", offset: 0 },
    );
    assert.ok(r.ok);
    assert.equal(r.ok && r.value[0]?.account, "victim@club1.example");
  });

  it("bounds its join table by size and by event age", () => {
    const p = new PostfixParser({ maxQueueEntries: 100, maxQueueAgeMs: 60_000 });
    const record = (i: number, time: number) => ({
      time,
      tzOffset: 0,
      host: "mx",
      program: "postfix/smtpd",
      message: `Q${String(i).padStart(9, "0")}: client=x[192.0.2.1], sasl_method=PLAIN, sasl_username=u`,
    });
    for (let i = 0; i < 1000; i++) p.parse(record(i, 1000), { source: "s", offset: i });
    assert.equal(p.queueSize, 100);
    p.parse(record(5000, 1000 + 61_000), { source: "s", offset: 5000 });
    assert.equal(p.queueSize, 1);
  });

  it("never throws on arbitrary messages", () => {
    const p = new PostfixParser();
    const pieces = fc.constantFrom(
      "NOQUEUE: ",
      "reject: ",
      "RCPT from ",
      "unknown[",
      "1.2.3.4",
      "]",
      ":",
      ": ",
      "; from=<",
      ">",
      " to=<",
      " helo=<",
      "warning: ",
      "SASL ",
      "authentication failed",
      ", sasl_username=",
      "3F1A2B4C5D: ",
      "client=",
      "from=<",
      ", size=",
      ", nrcpt=",
      " (queue active)",
      "to=<",
      ", relay=",
      ", dsn=",
      ", status=",
      "sent",
      "disconnect from ",
      " auth=",
      "/",
      "lost connection after ",
      "PREGREET ",
      "DNSBL rank ",
      "[",
      "removed",
    );
    const message = fc.oneof(
      fc.string(),
      fc.array(fc.oneof(pieces, fc.string()), { maxLength: 12 }).map((a) => a.join("")),
    );
    const program = fc.constantFrom(
      "postfix/smtpd",
      "postfix/postscreen",
      "postfix/qmgr",
      "postfix",
    );
    fc.assert(
      fc.property(message, program, (m, prog) => {
        const r = p.parse(
          { time: 0, tzOffset: 0, host: "h", program: prog, message: m },
          { source: "s", offset: 0 },
        );
        assert.equal(typeof r.ok, "boolean");
      }),
      { numRuns: 5000 },
    );
  });
});
