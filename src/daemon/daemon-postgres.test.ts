/**
 * The daemon on PostgreSQL, as an operator runs it with `storage.postgres_url`: what detection
 * decides and remembers is committed and comes back after a restart. Runs when
 * REMPART_TEST_POSTGRES_URL is set, in a schema of its own, dropped after.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ManualClock, type Event } from "../core/index.ts";
import { POSTGRES_SKIP, TEST_POSTGRES_URL, testSchema } from "../storage/postgres/test-schema.ts";
import { ConfigSchema, type Config } from "./config.ts";
import { Daemon } from "./daemon.ts";

const NOW = Date.UTC(2025, 0, 31, 12);

test(
  "on PostgreSQL, detection's decisions and state are committed and restored",
  TEST_POSTGRES_URL === undefined ? { skip: POSTGRES_SKIP } : {},
  async (t) => {
    const { url } = await testSchema((fn) => t.after(fn));
    const dir = await mkdtemp(join(tmpdir(), "rempart-daemon-pg-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const parsed = ConfigSchema.parse({ data_dir: dir, storage: { postgres_url: url } });
    const config: Config = { ...parsed, sources: [], origin: "test", autodetected: false };
    const clock = new ManualClock(NOW);
    const open = () => Daemon.open(config, { clock, hostAddresses: [], log: () => undefined });

    let n = 0;
    let time = NOW;
    const failure = (ip: string, account: string, gap = 1_000): Event => ({
      id: `t:${n++}`,
      type: "auth.failure",
      time: (time += gap),
      tzOffset: 0,
      service: "postfix",
      ip,
      account,
      fields: { attempts: 1 },
    });
    const first = await open();
    // Twelve fast failures: mail-bruteforce bans. One account name carries a NUL, which
    // PostgreSQL's text refuses: the checkpoint must not fail on it.
    await first.ingest(
      Array.from({ length: 12 }, (_, i) => failure("192.0.2.66", i === 3 ? "bad\u0000name" : "x")),
    );
    // Another address guesses slowly, every 2 minutes (too slow for mail-bruteforce): ten
    // tries, under mail-slow-guessing's 18, remembered as its bucket's state.
    await first.ingest(Array.from({ length: 10 }, () => failure("192.0.2.77", "y", 120_000)));
    assert.ok(!first.activeDecisions().some((d) => d.value === "192.0.2.77"));
    const banned = first.activeDecisions().filter((d) => d.value === "192.0.2.66");
    assert.equal(banned.length, 1);
    await first.stop();

    const second = await open();
    t.after(() => second.stop());
    assert.deepEqual(
      second.activeDecisions().map((d) => d.id),
      banned.map((d) => d.id),
      "the ban was committed and comes back",
    );
    // Nine more ban it only if the ten before came back.
    await second.ingest(Array.from({ length: 9 }, () => failure("192.0.2.77", "y", 120_000)));
    assert.ok(
      second.activeDecisions().some((d) => d.value === "192.0.2.77"),
      "the bucket's state was committed and restored",
    );
  },
);
