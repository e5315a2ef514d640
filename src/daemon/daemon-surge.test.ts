/**
 * The surge detector's learned baselines survive a restart of the daemon: committed with the
 * detection state (SQLite), restored when it opens again.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import type { Event } from "../core/index.ts";
import { ConfigSchema, type Config } from "./config.ts";
import { Daemon } from "./daemon.ts";

test("surge baselines are committed and restored when the daemon opens again", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-daemon-surge-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const parsed = ConfigSchema.parse({ data_dir: dir, surge: { interval: "10s" } });
  const config: Config = { ...parsed, sources: [], origin: "test", autodetected: false };
  const open = async (): Promise<{ daemon: Daemon; lines: string[] }> => {
    const lines: string[] = [];
    const daemon = await Daemon.open(config, { hostAddresses: [], log: (l) => lines.push(l) });
    return { daemon, lines };
  };

  const first = await open();
  const t0 = Date.now() - 10 * 60_000;
  const events: Event[] = [];
  // Five minutes of a petition signed from a few addresses a minute.
  for (let s = 0; s < 300; s += 5)
    events.push({
      id: `sig-${s}`,
      type: "form.submit",
      time: t0 + s * 1000,
      tzOffset: 0,
      service: "app",
      ip: `192.0.2.${(s % 200) + 1}`,
      fields: { form: "petition" },
    });
  await first.daemon.ingest(events);
  await first.daemon.stop();
  assert.ok(
    first.lines.some((l) => l.includes("0 detection states restored")),
    first.lines.join("\n"),
  );

  const second = await open();
  await second.daemon.stop();
  assert.ok(
    second.lines.some((l) => /and 1 surge baselines restored/.test(l)),
    second.lines.join("\n"),
  );
});
