import assert from "node:assert/strict";
import { test } from "node:test";
import { heldFor, parseQueue } from "./postfix-queue.ts";

// As `postqueue -j` prints it (Postfix 3.7), one object a line.
const SAMPLE = [
  '{"queue_name": "hold", "queue_id": "4Xyz1a2B3cD", "arrival_time": 1710165616, "message_size": 2310, "forced_expire": false, "sender": "Victim@club1.example", "recipients": [{"address": "cible1@example.com"}]}',
  '{"queue_name": "deferred", "queue_id": "4Xyz1a2B3cE", "arrival_time": 1710165617, "message_size": 1200, "forced_expire": false, "sender": "victim@club1.example", "recipients": [{"address": "x@example.com", "delay_reason": "connect to x: Connection timed out"}]}',
  '{"queue_name": "hold", "queue_id": "4Xyz1a2B3cF", "arrival_time": 1710165618, "message_size": 900, "forced_expire": false, "sender": "other@club1.example", "recipients": [{"address": "y@example.com"}, {"address": "z@example.com"}]}',
  "postqueue: warning: not a message",
  "",
].join("\n");

test("postqueue -j is read message by message; held messages are found by sender", () => {
  const q = parseQueue(SAMPLE);
  assert.equal(q.length, 3);
  assert.deepEqual(q[2]!.recipients, ["y@example.com", "z@example.com"]);
  assert.equal(q[0]!.arrival, 1710165616000);
  assert.deepEqual(
    heldFor(q, ["victim@club1.example"]).map((m) => m.id),
    ["4Xyz1a2B3cD"],
    "deferred ones are not held",
  );
});
