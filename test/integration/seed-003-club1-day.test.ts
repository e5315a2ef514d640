/**
 * The Mail issue's target, replayed through the real CLI: on a CLUB1-like day the stolen
 * account is contained after at most 20 of its messages, and no real account (the newsletter
 * included) is held or suspended that day.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { club1Day } from "../support/club1-day.ts";
import { replayText } from "../support/replay.ts";

for (const bots of [40, 1]) {
  test(
    `CLUB1-like day, spam from ${bots} address(es): the stolen account is held within 20 messages, nobody else`,
    { timeout: 120_000 },
    async () => {
      const day = club1Day({ botAddresses: bots });
      const { lines } = await replayText(day.text);
      const decisions = lines.filter(
        (l) => l.kind === "decision" && (l.action === "hold" || l.action === "suspend"),
      );
      const first = decisions.find((d) => d.value === day.stolen);
      assert.ok(first, "the stolen account must be held");
      const sent = day.spamTimes.filter((t) => t <= Date.parse(first.at)).length;
      assert.ok(sent <= 20, `held after ${sent} spam messages (${first.scenario})`);
      const others = decisions.filter(
        (d) => d.value !== day.stolen && Date.parse(d.at) >= day.incidentDay,
      );
      assert.deepEqual(
        others.map((d) => `${d.scenario} ${d.value} ${d.at}`),
        [],
        "no real account held on the incident day",
      );
    },
  );
}
