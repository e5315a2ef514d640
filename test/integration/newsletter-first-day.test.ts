/**
 * The mail e2e's newsletter, replayed through the real CLI at the time of day that made it fail
 * (CI at 00:58 UTC, a session at 22:57 UTC): its first morning, with no history yet, straddles
 * an hour. That burst is held (an account with no history sending 400 messages looks stolen),
 * but as one incident: the two scenarios firing again in the next interval used to count as
 * four offences, 1 d → 2 d → 4 d → 8 d, and the 8-day hold was still on a week later.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MailLog } from "../support/mail-log.ts";
import { replayText } from "../support/replay.ts";

const NEWSLETTER = "lettre@club1.example";

for (const at of ["2024-03-08T22:57:30Z", "2024-03-08T22:59:30Z", "2024-03-08T12:30:00Z"]) {
  test(`a newsletter's first burst at ${at.slice(11, 19)} is one incident, over within a day`, async () => {
    const now = Date.parse(at);
    const log = new MailLog("club1");
    for (let day = 7; day >= 1; day--)
      for (let k = 0; k < 400; k++)
        log.submission(now - day * 86_400_000 + k * 600, NEWSLETTER, "198.51.100.10", [
          `abonne${k}@example.org`,
        ]);
    const { lines } = await replayText(log.toString());
    const holds = lines.filter((l) => l.kind === "decision" && l.value === NEWSLETTER);
    assert.ok(holds.length > 0, "the first burst, with no history, is held");
    for (const h of holds) {
      assert.ok(Date.parse(h.at) < now - 6 * 86_400_000, `only the first morning: ${h.at}`);
      assert.equal(h.duration_s, 86_400, `${h.scenario} at ${h.at}: one incident, no escalation`);
    }
  });
}
