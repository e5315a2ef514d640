/**
 * What the daemon restores from storage when it opens: the active decisions into the book, in
 * the order storage lists them, and every decision within the escalation memory as an offence.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ManualClock, type Decision } from "../core/index.ts";
import { openStorage } from "../storage/index.ts";
import { ConfigSchema, type Config } from "./config.ts";
import { Daemon } from "./daemon.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2025, 0, 31, 12);

const decision = (id: string, value: string, createdAt: number, days: number | null): Decision =>
  Object.freeze({
    id,
    action: "ban",
    scope: "ip",
    value,
    createdAt,
    expiresAt: days === null ? null : createdAt + days * DAY,
    origin: "scenario",
    scenario: "ssh-bf",
    reason: "too many failures",
    offence: 0,
    tzOffset: 0,
  });

test("open restores the active decisions and the offences within the escalation memory", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-daemon-restore-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const parsed = ConfigSchema.parse({
    data_dir: dir,
    policy: { escalation: { memory: "10d" } },
  });
  const config: Config = { ...parsed, sources: [], origin: "test", autodetected: false };

  const storage = await openStorage({
    kind: "sqlite",
    path: join(dir, parsed.storage.sqlite_file),
  });
  await storage.addDecisions([
    decision("active-old", "192.0.2.1", NOW - 2 * DAY, 5),
    decision("active-new", "192.0.2.2", NOW - DAY, 5),
    decision("permanent", "2001:db8::1", NOW - 20 * DAY, null),
    decision("expired-recent", "198.51.100.7", NOW - 3 * DAY, 1),
    decision("expired-recent-2", "198.51.100.7", NOW - 4 * DAY, 1),
    decision("expired-long-ago", "198.51.100.7", NOW - 11 * DAY, 1),
    decision("deleted", "198.51.100.8", NOW - 2 * DAY, 5),
  ]);
  await storage.deleteDecisions(["deleted"], NOW - DAY);
  await storage.close();

  const clock = new ManualClock(NOW);
  const daemon = await Daemon.open(config, { clock, hostAddresses: [], log: () => undefined });
  t.after(() => daemon.stop());
  assert.deepEqual(
    daemon.activeDecisions().map((d) => d.id),
    ["active-new", "active-old", "permanent"],
    "newest first, as storage lists them",
  );
  const offence = async (value: string, action: "ban" | "throttle" = "ban"): Promise<number> => {
    const outcome = await daemon.addDecision({
      action,
      scope: "ip",
      value,
      durationMs: DAY,
      reason: "test",
      author: "test",
    });
    assert.equal(outcome.kind, "created", value);
    return outcome.kind === "created" ? outcome.decision.offence : -1;
  };
  // Two within the 10 days, one before; a deleted decision was an offence all the same.
  assert.equal(await offence("198.51.100.7"), 2);
  assert.equal(await offence("198.51.100.8"), 1);
  assert.equal(await offence("203.0.113.9"), 0);
  // The permanent decision is 20 days old: active, but no longer an offence.
  assert.equal(await offence("2001:db8::1", "throttle"), 0);
  // The one made just now counts for the next.
  assert.equal(await offence("203.0.113.9", "throttle"), 1);
});
