/**
 * A `kill -9` during ingestion, then a restart: no decision lost, none doubled, no line read
 * twice or skipped. The real daemon tails a real file; its decisions after the crash and the
 * restart must be exactly those of an uninterrupted replay of the same file.
 */
import assert from "node:assert/strict";
import { mkdtemp, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { MailLog, prng } from "../support/mail-log.ts";
import { startDaemon, writeDaemonConfig, type RunningDaemon } from "../support/daemon.ts";
import { replayText } from "../support/replay.ts";

const T0 = Date.UTC(2024, 8, 28, 0, 0, 0);
const MIN = 60_000;

function bigIncident(): string {
  const rnd = prng(99);
  const log = new MailLog();
  for (let i = 0; i < 300; i++) {
    const account = `user${i}@example.org`;
    const ip = `203.0.113.${i % 250}`;
    for (let t = T0 + rnd() * 20 * MIN; t < T0 + 1440 * MIN; t += (8 + rnd() * 20) * MIN) {
      if (rnd() < 0.4) log.dovecotLogin(t, account, ip);
      else log.submission(t, account, ip, [`a${i}@example.net`, `b${i}@example.net`]);
    }
  }
  // Attackers all along the file, so decisions fall before and after any crash point.
  for (let a = 0; a < 60; a++) {
    const ip = `198.51.100.${a}`;
    const start = T0 + a * 23 * MIN;
    if (a % 3 === 0)
      for (let k = 0; k < 15; k++) log.saslFailure(start + k * 3000, ip, `user${k}@example.org`);
    else for (let k = 0; k < 30; k++) log.saslFailure(start + k * 6 * MIN, ip);
  }
  return log.toString();
}

function offset(db: string): number {
  try {
    const d = new DatabaseSync(db, { readOnly: true });
    try {
      const row = d.prepare("select coalesce(max(offset), 0) as o from source_positions").get() as
        { o: number } | undefined;
      return row?.o ?? 0;
    } finally {
      d.close();
    }
  } catch {
    return 0; // not created yet
  }
}

/** Waits for `cond`, failing at once if the daemon has died meanwhile. */
async function until(
  what: string,
  cond: () => boolean,
  timeoutMs: number,
  daemon: RunningDaemon,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (daemon.child.exitCode !== null)
      throw new Error(`the daemon exited while waiting for ${what}\n${daemon.stderr()}`);
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${daemon.stderr()}`);
    await sleep(5);
  }
}

test(
  "kill -9 during ingestion, restart: the decisions equal an uninterrupted replay",
  { timeout: 180_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-crash-"));
    const log = join(dir, "mail.log");
    const text = bigIncident();
    await writeFile(log, text);
    const size = (await stat(log)).size;
    const config = await writeDaemonConfig(dir, [
      "sources:",
      "  - name: mail",
      "    type: syslog",
      `    paths: [${log}]`,
      "    from: start",
      "    year: 2024",
      "    timezone: UTC",
    ]);
    const db = join(dir, "data", "rempart.db");

    const first = startDaemon(config);
    await until("the first checkpoint", () => offset(db) > 0, 60_000, first);
    first.child.kill("SIGKILL");
    await first.exited;
    const crashedAt = offset(db);
    assert.ok(
      crashedAt > 0 && crashedAt < size,
      `killed mid-file (at ${crashedAt} of ${size} bytes)`,
    );

    const second = startDaemon(config);
    await until("the whole file", () => offset(db) === size, 120_000, second);
    second.child.kill("SIGTERM");
    assert.equal(await second.exited, 0, second.stderr());

    const d = new DatabaseSync(db, { readOnly: true });
    const stored = d
      .prepare(
        "select scenario, scope, value, created_at, expires_at from decisions order by created_at, value",
      )
      .all() as {
      scenario: string;
      scope: string;
      value: string;
      created_at: number;
      expires_at: number;
    }[];
    d.close();
    const live = stored
      .map(
        (r) =>
          `${r.created_at} ${r.scenario} ${r.scope} ${r.value} ${(r.expires_at - r.created_at) / 1000}`,
      )
      .sort();

    const { lines } = await replayText(text);
    const expected = lines
      .filter((l) => l.kind === "decision")
      .map((l) => `${Date.parse(l.at)} ${l.scenario} ${l.scope} ${l.value} ${l.duration_s ?? ""}`)
      .sort();
    assert.ok(expected.length >= 40, `the fixture makes decisions (${expected.length})`);
    assert.deepEqual(live, expected);
  },
);
