/**
 * Seed 000 (Iroco): login attempts on real accounts every 5-10 minutes from patient guessers,
 * among ordinary users who mistype, and a phone that keeps retrying an old password. Replayed
 * through the real CLI: the guessers are banned within about 20 tries each, nobody else is.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MailLog, prng } from "../support/mail-log.ts";
import { replayText } from "../support/replay.ts";

const T0 = Date.UTC(2024, 8, 28, 0, 0, 0);
const MIN = 60_000;

function incident(): {
  log: MailLog;
  slow: string[];
  fast: string;
  users: string[];
  triesBefore: Map<string, number[]>;
} {
  const rnd = prng(2024);
  const log = new MailLog();
  const accounts = Array.from({ length: 40 }, (_, i) => `member${i}@iroco.example`);
  const users: string[] = [];
  // Ordinary members: IMAP every 10-30 minutes from home for two days; some mistype first.
  for (const [i, account] of accounts.entries()) {
    const ip = `203.0.113.${10 + i}`;
    users.push(ip);
    for (let t = T0 + rnd() * 30 * MIN; t < T0 + 2 * 1440 * MIN; t += (10 + rnd() * 20) * MIN) {
      if (rnd() < 0.03)
        for (let k = 0; k < 1 + Math.floor(rnd() * 3); k++)
          log.dovecotFailure(t - (k + 1) * 5000, account, ip);
      log.dovecotLogin(t, account, ip);
    }
  }
  // A phone retrying an old password every 5 minutes from the same home address.
  for (let t = T0; t < T0 + 2 * 1440 * MIN; t += 5 * MIN)
    log.dovecotFailure(t + 1000, accounts[3]!, "203.0.113.13");
  // Patient guessers: one try every 5-10 minutes each on real accounts, via SMTP AUTH.
  const slow = [
    "192.0.2.66",
    "192.0.2.67",
    "198.51.100.80",
    "198.51.100.81",
    "2001:db8:bad::1",
    "2001:db8:bad::2",
  ];
  const triesBefore = new Map<string, number[]>();
  for (const [j, ip] of slow.entries()) {
    const times: number[] = [];
    for (let t = T0 + j * 7 * MIN; t < T0 + 14 * 60 * MIN; t += (5 + rnd() * 5) * MIN) {
      const account = accounts[Math.floor(rnd() * accounts.length)]!;
      log.saslFailure(t, ip, j % 2 === 0 ? account : undefined);
      times.push(t);
    }
    triesBefore.set(ip, times);
  }
  // A fast guesser: 60 tries in two minutes.
  const fast = "198.51.100.99";
  for (let k = 0; k < 60; k++) log.saslFailure(T0 + 600 * MIN + k * 2000, fast, accounts[k % 40]);
  return { log, slow, fast, users, triesBefore };
}

test("seed 000: low-and-slow and fast guessers are banned, members are not", async () => {
  const { log, slow, fast, users, triesBefore } = incident();
  const { lines, stderr } = await replayText(log.toString());
  const decisions = lines.filter((l) => l.kind === "decision");
  const banned = new Map<string, (typeof decisions)[number]>();
  for (const d of decisions) if (!banned.has(d.value)) banned.set(d.value, d);

  for (const ip of slow) {
    const d = banned.get(ip);
    assert.ok(d, `slow guesser ${ip} must be banned`);
    assert.equal(d.scenario, "mail-slow-guessing");
    assert.equal(d.action, "ban");
    const at = Date.parse(d.at);
    const tries = triesBefore.get(ip)!.filter((t) => t <= at).length;
    assert.ok(tries <= 22, `${ip} banned after ${tries} tries`);
  }
  assert.equal(banned.get(fast)?.scenario, "mail-bruteforce");
  for (const ip of users)
    assert.equal(banned.get(ip), undefined, `member at ${ip} must not be banned`);
  assert.match(stderr, /auth\.failure/);
  assert.match(stderr, /0 parse failures/);
});

test("replay counts the decisions the policy refused: a guesser on the LAN is told, not banned", async () => {
  // Private addresses are allowlisted: the alert stands, the ban is refused, and said so.
  const lines = Array.from(
    { length: 12 },
    (_, i) =>
      `Sep 28 13:01:${String(10 + i).padStart(2, "0")} mx postfix/smtpd[1234]: warning: unknown[10.0.0.5]: SASL LOGIN authentication failed: UGFzc3dvcmQ6`,
  );
  const { lines: out, stderr } = await replayText(`${lines.join("\n")}\n`);
  assert.ok(out.some((l) => l.kind === "alert" && l.value === "10.0.0.5"));
  assert.ok(!out.some((l) => l.kind === "decision"));
  assert.match(stderr, /0 decisions \(1 more refused by the policy: allowlisted or private/);
});
