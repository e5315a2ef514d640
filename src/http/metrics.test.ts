import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
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

interface DashboardPanel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly uid: string };
  readonly targets?: readonly { readonly expr: string }[];
}

test("the Grafana dashboard (docs/grafana/rempart.json) graphs only metrics /metrics declares", async () => {
  const dashboard = JSON.parse(
    await readFile(new URL("../../docs/grafana/rempart.json", import.meta.url), "utf8"),
  ) as { readonly panels: readonly DashboardPanel[] };
  const declared = new Set(
    [...(await createMetrics(() => base).registry.metrics()).matchAll(/^# TYPE (\S+) /gm)].map(
      (m) => m[1]!,
    ),
  );
  const ids = new Set<number>();
  let queries = 0;
  for (const p of dashboard.panels) {
    assert.ok(!ids.has(p.id), `panel id ${p.id} used twice`);
    ids.add(p.id);
    if (p.type === "row") continue;
    assert.equal(p.datasource?.uid, "${DS_PROMETHEUS}", `${p.title}: the imported data source`);
    assert.ok((p.targets?.length ?? 0) > 0, `${p.title}: no query`);
    for (const t of p.targets ?? []) {
      const names = t.expr.match(/\brempart_[a-z0-9_]+/g) ?? [];
      assert.ok(names.length > 0, `${p.title}: ${t.expr} reads no metric of Rempart's`);
      for (const name of names)
        assert.ok(declared.has(name), `${p.title}: ${name} is not in /metrics`);
      queries++;
    }
  }
  assert.ok(queries >= 20, `${queries} queries`);
});
