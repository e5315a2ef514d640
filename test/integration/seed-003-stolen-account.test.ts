/**
 * Seed 003 (CLUB1): a member's stolen password used to send about one message a second through
 * Postfix from dozens of client addresses. The spine's account-many-networks scenario holds the
 * account within minutes; members who submit from home and from their phone are left alone.
 * (Per-account baselines of volume are the Mail issue's; this is what the spine alone catches.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MailLog, prng } from "../support/mail-log.ts";
import { replayText } from "../support/replay.ts";

const T0 = Date.UTC(2024, 2, 11, 6, 0, 0);
const MIN = 60_000;

test("seed 003: the stolen account is held; members are not", async () => {
  const rnd = prng(3);
  const log = new MailLog("club1");
  const members = Array.from({ length: 30 }, (_, i) => `m${i}@club1.example`);
  for (const [i, m] of members.entries()) {
    for (let k = 0; k < 8; k++) {
      const fromPhone = rnd() < 0.3;
      const ip = fromPhone ? `2001:db8:4${i.toString(16)}::${k + 1}` : `203.0.113.${20 + i}`;
      log.submission(T0 + rnd() * 12 * 60 * MIN, m, ip, [`friend${k}@example.net`]);
    }
  }
  const stolen = "victim@club1.example";
  const bots = Array.from({ length: 40 }, (_, i) => `198.18.${i}.${7 + i}`);
  const start = T0 + 120 * MIN;
  for (let s = 0; s < 3600; s++)
    log.submission(start + s * 1000, stolen, bots[s % bots.length]!, [`target${s}@example.com`]);

  const { lines } = await replayText(log.toString());
  const decisions = lines.filter((l) => l.kind === "decision");
  const held = decisions.filter((d) => d.value === stolen);
  assert.equal(held[0]?.action, "hold");
  assert.equal(held[0]?.scope, "account");
  assert.ok(
    Date.parse(held[0].at) - start < 60_000,
    `held ${(Date.parse(held[0].at) - start) / 1000}s after the first spam`,
  );
  for (const m of members)
    assert.equal(
      decisions.find((d) => d.value === m),
      undefined,
      `${m} must not be held`,
    );
  assert.ok(
    lines.some(
      (l) => l.kind === "alert" && l.scenario === "account-many-networks" && l.value === stolen,
    ),
  );
});
