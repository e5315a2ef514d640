import assert from "node:assert/strict";
import { test } from "node:test";
import type { Event } from "../core/index.ts";
import type { QueuedMessage } from "./postfix-queue.ts";
import { QueueWatch } from "./queue-watch.ts";

const msg = (queue: string, sender: string, n: number): QueuedMessage[] =>
  Array.from({ length: n }, (_, i) => ({
    queue,
    id: `${queue}${sender}${i}`,
    sender,
    recipients: ["x@example.com"],
    size: 100,
    arrival: 0,
  }));

test("sizes per queue and per sender, growth against the recent level, events for big senders", async () => {
  let queue: QueuedMessage[] = msg("active", "a@club1.example", 3);
  const events: Event[] = [];
  let t = 0;
  const watch = new QueueWatch({
    read: () => Promise.resolve(queue),
    everyMs: 60_000,
    now: () => (t += 60_000),
    ingest: (e) => events.push(e),
    log: () => undefined,
    senderThreshold: 100,
  });
  for (let i = 0; i < 5; i++) await watch.look();
  queue = [
    ...msg("deferred", "victim@club1.example", 900),
    ...msg("hold", "victim@club1.example", 40),
    ...msg("active", "a@club1.example", 3),
  ];
  const s = await watch.look();
  assert.equal(s.total, 943);
  assert.deepEqual(s.byQueue, { deferred: 900, hold: 40, active: 3 });
  assert.deepEqual(s.senders[0], { sender: "victim@club1.example", count: 940 });
  const last = events.filter((e) => e.type === "mail.queue").at(-1)!;
  assert.equal(last.fields.usual, 3);
  assert.ok(Number(last.fields.growth) > 300);
  assert.deepEqual(
    events.filter((e) => e.type === "mail.queue.sender").map((e) => [e.email, e.fields.count]),
    [["victim@club1.example", 940]],
  );
});
