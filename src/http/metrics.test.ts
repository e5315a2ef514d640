import assert from "node:assert/strict";
import { test } from "node:test";
import type { RuntimeCounters } from "../daemon/runtime.ts";
import { createMetrics } from "./metrics.ts";

const base: RuntimeCounters = {
  startedAt: 0,
  events: 0,
  eventsByType: {},
  alerts: 0,
  decisionsCreated: 0,
  decisionsRefused: 0,
  activeDecisions: 0,
  parseFailures: 0,
  linesRead: 0,
  detectionKeys: {},
  enforcers: {},
  sources: [],
};

test("surges show in /metrics: the targets tracked and those under attack now", async () => {
  let counters: RuntimeCounters = {
    ...base,
    surge: { targets: 3, addresses: 40, underAttack: ["route:/search", "form:petition"] },
  };
  const metrics = createMetrics(() => counters);
  const text = await metrics.registry.metrics();
  assert.match(text, /\nrempart_surge_targets 3\n/);
  assert.match(text, /\nrempart_surge_under_attack\{target="route:\/search"\} 1\n/);
  assert.match(text, /\nrempart_surge_under_attack\{target="form:petition"\} 1\n/);
  // Once the attack ends, its line goes.
  counters = { ...base, surge: { targets: 3, addresses: 40, underAttack: [] } };
  assert.doesNotMatch(await metrics.registry.metrics(), /rempart_surge_under_attack\{/);
});
