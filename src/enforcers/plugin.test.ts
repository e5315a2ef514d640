import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { ManualClock, type Decision, type DecisionChange, type Enforcer } from "../core/index.ts";
import { DecisionBook, DecisionFeed } from "../decisions/index.ts";
import { pushEnforcer } from "./plugin.ts";

const d = (id: string, value: string): Decision =>
  Object.freeze({
    id,
    action: "ban",
    scope: "ip",
    value,
    createdAt: 0,
    expiresAt: null,
    origin: "manual",
    scenario: "t",
    reason: "t",
    offence: 0,
    tzOffset: 0,
  });

/** An enforcement point in memory: the set it would hold, and the calls it got. */
class SetEnforcer implements Enforcer {
  readonly id = "set";
  readonly held = new Set<string>();
  readonly calls: string[] = [];
  failNext = false;
  resync(active: Iterable<Decision>): Promise<void> {
    const list = [...active]; // an iterable read once, as the port says
    this.calls.push(`resync ${list.length}`);
    this.held.clear();
    for (const x of list) this.held.add(x.value);
    return Promise.resolve();
  }
  apply(changes: readonly DecisionChange[]): Promise<void> {
    this.calls.push(`apply ${changes.length}`);
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error("set is busy"));
    }
    for (const c of changes) {
      if (c.kind === "added") this.held.add(c.decision.value);
      else this.held.delete(c.decision.value);
    }
    return Promise.resolve();
  }
  stop(): Promise<void> {
    this.calls.push("stop");
    return Promise.resolve();
  }
}

test("resync at start, deltas in batches, a resync after a failed batch", async () => {
  const book = new DecisionBook();
  const feed = new DecisionFeed();
  const logs: string[] = [];
  book.add(d("a", "192.0.2.1"));
  const enforcer = new SetEnforcer();
  const service = pushEnforcer(
    enforcer,
    { book, feed, clock: new ManualClock(0), log: (l) => logs.push(l) },
    "a set",
    { batchMs: 5, retryMs: 5 },
  );
  await service.start();
  assert.deepEqual([...enforcer.held], ["192.0.2.1"]);

  const b = d("b", "192.0.2.2");
  book.add(b);
  feed.push("added", b, 1);
  const c = d("c", "192.0.2.3");
  book.add(c);
  feed.push("added", c, 1);
  await sleep(40);
  assert.deepEqual(enforcer.calls, ["resync 1", "apply 2"], "two changes in one batch");

  enforcer.failNext = true;
  book.remove("a");
  feed.push("removed", d("a", "192.0.2.1"), 2);
  await sleep(60);
  assert.match(logs.join("\n"), /set is busy; resync/);
  assert.deepEqual(
    [...enforcer.held].sort(),
    ["192.0.2.2", "192.0.2.3"],
    "the resync repaired the set",
  );
  await service.stop();
  assert.equal(enforcer.calls.at(-1), "stop");
});
