import assert from "node:assert/strict";
import { test } from "node:test";
import type { Decision } from "../core/index.ts";
import { DecisionFeed } from "./decision-feed.ts";

const d = (id: string): Decision =>
  Object.freeze({
    id,
    action: "ban",
    scope: "ip",
    value: "192.0.2.1",
    createdAt: 0,
    expiresAt: 1,
    origin: "manual",
    scenario: "t",
    reason: "t",
    offence: 0,
    tzOffset: 0,
  });

test("changes since a cursor, in order; a cursor out of the ring must start over", () => {
  const feed = new DecisionFeed(3);
  assert.deepEqual(feed.since(0), []);
  for (const id of ["a", "b", "c", "d"]) feed.push("added", d(id), 0);
  assert.equal(feed.head, 4);
  assert.equal(feed.tail, 2);
  assert.deepEqual(
    feed.since(2)?.map((c) => c.decision.id),
    ["c", "d"],
  );
  assert.deepEqual(
    feed.since(1)?.map((c) => c.decision.id),
    ["b", "c", "d"],
  );
  assert.equal(feed.since(0), undefined, "change 1 fell out of the ring");
  assert.deepEqual(feed.since(4), []);
});

test("subscribers see every change as it happens", () => {
  const feed = new DecisionFeed();
  const seen: string[] = [];
  const off = feed.subscribe((c) => seen.push(`${c.kind}:${c.decision.id}`));
  feed.push("added", d("x"), 0);
  feed.push("removed", d("x"), 1);
  off();
  feed.push("added", d("y"), 2);
  assert.deepEqual(seen, ["added:x", "removed:x"]);
});
