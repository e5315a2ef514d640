import assert from "node:assert/strict";
import { test } from "node:test";
import {
  CoverageCounter,
  generateBotnetLog,
  SMALL,
  type DecisionRecord,
} from "../support/botnet-log.ts";
import { replayText } from "../support/replay.ts";

test("a spread botnet under per-IP limits meets decisions, real visitors do not (small log)", async () => {
  const chunks: string[] = [];
  const truth = generateBotnetLog(SMALL, (c) => chunks.push(c));
  const text = chunks.join("");
  const { lines } = await replayText(text, ["--type", "nginx"]);
  const decisions = lines.filter((l) => l.kind === "decision") as unknown as DecisionRecord[];
  assert.ok(decisions.every((d) => (d as { scenario?: string }).scenario === "surge"));

  const counter = new CoverageCounter(truth, decisions, 5);
  counter.add(text);
  const c = counter.result();
  assert.ok(c.botHits > 30_000, `${c.botHits} botnet hits counted`);
  assert.ok(
    c.botCovered >= 0.9 * c.botHits,
    `${c.botCovered} of ${c.botHits} botnet hits under a decision`,
  );
  assert.ok(
    c.visitorCovered <= 0.01 * c.visitorHits,
    `${c.visitorCovered} of ${c.visitorHits} real visitors' hits under a decision`,
  );
  assert.ok(c.firstDecisionS < 180, `first decision after ${c.firstDecisionS} s`);
  // The range the generator packed with bots is decided on as a whole.
  assert.ok((c.decisions.range ?? 0) >= 1, JSON.stringify(c.decisions));

  const surges = lines.filter((l) => l.kind === "alert" && l.scope === "form");
  assert.deepEqual([...new Set(surges.map((l) => l.value))].sort(), [
    "route:/petitions",
    "route:/search",
  ]);
});
