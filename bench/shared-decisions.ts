// Not a test: two daemons on one PostgreSQL (storage.share_decisions, docs/running.md "Several
// nodes"). Measures (1) how long a decision made on node A takes to be enforced by node B, and
// (2) how long B takes to catch up after its listening connection is cut, with N active
// decisions in the table (the comparison reads them all).
//   REMPART_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test node bench/shared-decisions.ts [N]
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import type { Decision } from "../src/core/index.ts";
import { ConfigSchema, type Config } from "../src/daemon/config.ts";
import { Daemon } from "../src/daemon/daemon.ts";
import { openStorage } from "../src/storage/index.ts";

const url = process.env["REMPART_TEST_POSTGRES_URL"];
if (url === undefined) throw new Error("set REMPART_TEST_POSTGRES_URL");
const N = Number(process.argv[2] ?? 1_000_000);
const schema = `rempart_bench_${randomBytes(4).toString("hex")}`;
const admin = new pg.Client({ connectionString: url });
await admin.connect();
await admin.query(`create schema ${schema}`);
const u = new URL(url);
u.searchParams.set("options", `-c search_path=${schema}`);
const dirs: string[] = [];
const open = async (): Promise<Daemon> => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-bench-shared-"));
  dirs.push(dir);
  const parsed = ConfigSchema.parse({ data_dir: dir, storage: { postgres_url: u.toString() } });
  const config: Config = { ...parsed, sources: [], origin: "bench", autodetected: false };
  const d = await Daemon.open(config, { hostAddresses: [], log: () => undefined });
  await d.start();
  return d;
};
const pct = (xs: number[], p: number): number =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

try {
  const a = await open();
  const b = await open();
  // (1) Latency, one decision at a time, on a nearly empty table.
  const arrived = new Map<string, number>();
  b.onDecision((d, kind) => {
    if (kind === "new") arrived.set(d.value, performance.now());
  });
  const lat: number[] = [];
  for (let i = 0; i < 300; i++) {
    const ip = `198.51.100.${i % 250}`;
    const value = i < 250 ? ip : `203.0.113.${i - 250}`;
    const t0 = performance.now();
    await a.addDecision({
      action: "ban",
      scope: "ip",
      value,
      durationMs: 3_600_000,
      reason: "bench",
      author: "bench",
    });
    while (!arrived.has(value)) await sleep(0);
    lat.push(arrived.get(value)! - t0);
  }
  console.log(
    `A decides → B enforces (300, sequential, incl. A's commit): p50 ${pct(lat, 0.5).toFixed(1)} ms, p99 ${pct(lat, 0.99).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms`,
  );

  // One daemon per process, as nodes run: A's part is done, and a second book of N decisions
  // in this process would measure its collector, not the comparison.
  await a.stop();
  // (2) N decisions in the table, written as a list import would, in one go per 50,000.
  const writer = await openStorage({ kind: "postgres", url: u.toString() });
  const now = Date.now();
  let t = performance.now();
  for (let i = 0; i < N; i += 50_000) {
    const batch: Decision[] = [];
    for (let k = i; k < Math.min(N, i + 50_000); k++)
      batch.push({
        id: randomUUID(),
        action: "ban",
        scope: "ip",
        value: `2001:db8:${(k >>> 16).toString(16)}::${(k & 0xffff).toString(16)}`,
        createdAt: now,
        expiresAt: now + 86_400_000,
        origin: "import",
        scenario: "bulk",
        reason: "bench",
        offence: 0,
        tzOffset: 0,
      });
    await writer.addDecisions(batch);
  }
  console.log(`wrote ${N} decisions in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  // As autovacuum does after such a write (within a minute, by default): the planner's view.
  await admin.query(`analyze ${schema}.decisions`);
  const bulk = (d: Daemon): number => d.counters().activeDecisions;
  t = performance.now();
  while (bulk(b) < N + 300) await sleep(20);
  console.log(
    `B applied them live (notified, read by id): ${((performance.now() - t) / 1000).toFixed(1)} s after the last write`,
  );
  // (3) Cut B's listening connection; write one decision while it is down; time the catch-up.
  await admin.query(
    `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'rempart listen rempart_decisions:${schema}'`,
  );
  t = performance.now();
  await writer.addDecisions([
    {
      id: randomUUID(),
      action: "ban",
      scope: "ip",
      value: "192.0.2.99",
      createdAt: now,
      expiresAt: now + 3_600_000,
      origin: "manual",
      scenario: "bench",
      reason: "bench",
      offence: 0,
      tzOffset: 0,
    },
  ]);
  const rss0 = process.memoryUsage().rss;
  while (b.check({ ip: "192.0.2.99" }).length === 0) await sleep(10);
  console.log(
    `B caught up after the cut (0.5 s reconnect + comparing ${N + 301} active decisions): ${((performance.now() - t) / 1000).toFixed(1)} s; B's RSS ${(rss0 / 1e6).toFixed(0)} → ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`,
  );
  await writer.close();
  await b.stop();
} finally {
  await admin.query(`drop schema if exists ${schema} cascade`);
  await admin.end();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
}
