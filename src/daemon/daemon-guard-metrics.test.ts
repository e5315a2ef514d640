/**
 * The guard's verdicts in /metrics, through the daemon's API: what an operator graphs to see
 * a flood of fake submissions being refused (rempart_guard_assessments_total).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createApiKey } from "../http/api-keys.ts";
import { createApi } from "../http/index.ts";
import { ConfigSchema, type Config } from "./config.ts";
import { Daemon } from "./daemon.ts";

test("each assessment is counted in /metrics under its verdict", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-guard-metrics-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const parsed = ConfigSchema.parse({
    data_dir: dir,
    guard: { email: { mx: { enabled: false } } },
  });
  const config: Config = { ...parsed, sources: [], origin: "test", autodetected: false };
  const daemon = await Daemon.open(config, { hostAddresses: [], log: () => undefined });
  t.after(() => daemon.stop());
  await daemon.start();
  const api = createApi(daemon);
  const key = await createApiKey(daemon.storage, "site", "sensor", Date.now());
  const banned = await daemon.addDecision({
    action: "ban",
    scope: "ip",
    value: "203.0.113.66",
    durationMs: 3_600_000,
    reason: "test",
    author: "test",
  });
  assert.equal(banned.kind, "created");
  const verdicts: string[] = [];
  for (const ip of ["203.0.113.66", "203.0.113.66", "198.51.100.7"]) {
    const r = await api.handle({
      method: "POST",
      path: "/v1/guard/assess",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: Buffer.from(JSON.stringify({ form: "petition", ip, fields: { name: "Ada" } })),
    });
    assert.equal(r.status, 200, String(r.body));
    verdicts.push((JSON.parse(String(r.body)) as { verdict: string }).verdict);
  }
  assert.deepEqual(verdicts.slice(0, 2), ["deny", "deny"], "a banned address is denied");
  const m = await api.handle({ method: "GET", path: "/metrics" });
  const text = String(m.body);
  assert.match(text, /^rempart_guard_assessments_total\{verdict="deny"\} 2$/m);
  const counted = [
    ...text.matchAll(/^rempart_guard_assessments_total\{verdict="(\w+)"\} (\d+)$/gm),
  ];
  assert.equal(
    counted.reduce((n, c) => n + Number(c[2]), 0),
    3,
    "every assessment once, under one verdict",
  );
  assert.equal(counted.find((c) => c[1] === verdicts[2])?.[2] !== undefined, true);
});
