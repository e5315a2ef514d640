import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SyslogParserPlugin } from "../syslog/index.ts";
import { expectEvent, fixtureLines, parseAll, type Expected } from "../test-support.ts";
import { DovecotParser } from "./dovecot-parser.ts";

const lines = fixtureLines(new URL("./fixtures/dovecot.log", import.meta.url));
const timeOf = (line: string): number => Date.parse(`2024-09-28T${line.slice(7, 15)}+02:00`);

const fail = (
  ip: string,
  account: string | undefined,
  protocol: string,
  method: string | null,
  attempts: number,
): Expected => ({
  type: "auth.failure",
  ip,
  ...(account === undefined ? {} : { account }),
  fields: { protocol, method, attempts },
});
const detail = (ip: string, account: string, driver: string, reason: string): Expected => ({
  type: "auth.failure.detail",
  ip,
  account,
  fields: { driver, reason },
});

const EXPECTED: Record<number, Expected> = {
  1: {
    type: "auth.success",
    ip: "203.0.113.50",
    account: "alice@example.org",
    fields: { protocol: "imap", method: "PLAIN" },
  },
  2: fail("198.51.100.7", undefined, "pop3", "PLAIN", 3),
  3: fail("2001:db8::7", "admin", "imap", "PLAIN", 1),
  4: fail("198.51.100.8", "bob", "imap", "LOGIN", 1),
  5: fail("198.51.100.9", "carol@example.org", "submission", null, 2),
  7: fail("198.51.100.11", "username.bob", "imap", "PLAIN", 2),
  8: fail("198.51.100.12", "info", "pop3", "PLAIN", 1),
  // A user name forging ", rip=": the real rip= is the last one.
  9: fail("198.51.100.13", "x>, rip=6.6.6.6, lip=1.1.1.1", "imap", "PLAIN", 1),
  10: detail("198.51.100.7", "admin", "passwd-file", "unknown user"),
  11: detail("198.51.100.8", "bob", "sql", "Password mismatch"),
  12: detail(
    "198.51.100.14",
    "username",
    "pam",
    "pam_authenticate() failed: Authentication failure (password mismatch?)",
  ),
  13: detail("198.51.100.15", "informix", "pam_unix", "authentication failure"),
  // ruser forging rhost=: the real rhost is the last one.
  14: detail("198.51.100.16", "rhost=1.2.3.4", "pam_unix", "authentication failure"),
  15: detail("198.51.100.17", "root", "pam_unix", "authentication failure"),
  16: detail("198.51.100.9", "carol@example.org", "ldap", "User not found"),
  19: {
    type: "auth.success",
    ip: "192.0.2.200",
    account: "dave",
    fields: { protocol: "imap", method: "SCRAM-SHA-256" },
  },
  20: detail(
    "198.51.100.19",
    "account@example.org",
    "pam",
    "pam_authenticate() failed: User not known to the underlying authentication module: 2 Time(s)",
  ),
  21: fail("198.51.100.20", "eve", "managesieve", "PLAIN", 1),
};

describe("dovecot parser", () => {
  it("reads every fixture line into exactly the expected events", () => {
    const parser = SyslogParserPlugin.create({ year: 2024, timeZone: "Europe/Paris" });
    const got = parseAll(parser, "mail.log", lines);
    assert.equal(lines.length, 22);
    got.forEach((events, i) => {
      const n = i + 1;
      const want = EXPECTED[n];
      const line = lines[i]!;
      const expected = want ? [expectEvent("mail.log", n, "dovecot", timeOf(line), 120, want)] : [];
      assert.deepEqual(events, expected, `line ${n}: ${line}`);
    });
  });

  it("never throws on arbitrary messages", () => {
    const p = new DovecotParser();
    const pieces = fc.constantFrom(
      "imap-login: ",
      "auth-worker(12): ",
      "auth: ",
      "Info: ",
      "Login: ",
      "(auth failed, ",
      "1",
      " attempts",
      "): ",
      "user=<",
      ">, ",
      "method=",
      "rip=",
      "1.2.3.4",
      ",",
      "passwd-file(",
      ",<",
      ")<",
      ">: ",
      "unknown user",
      "pam_unix(dovecot:auth): authentication failure;",
      " ruser=",
      " rhost=",
      "  user=",
    );
    const message = fc.oneof(
      fc.string(),
      fc.array(fc.oneof(pieces, fc.string()), { maxLength: 12 }).map((a) => a.join("")),
    );
    const program = fc.constantFrom("dovecot", "dovecot/imap-login", "auth", "dovecot-auth");
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
