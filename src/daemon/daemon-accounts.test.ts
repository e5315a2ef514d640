/**
 * Application events read from a log file move accounts as the same events posted to the API
 * do: a real daemon (SQLite) following a JSON-lines file.
 */
import assert from "node:assert/strict";
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { ConfigSchema, type Config } from "./config.ts";
import { Daemon } from "./daemon.ts";

const line = (e: Record<string, unknown>): string => `${JSON.stringify(e)}\n`;

test("sign-up and e-mail confirmation read from an application log move the account", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-daemon-accounts-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, "app.log");
  const at = Date.now() - 60_000;
  await writeFile(
    log,
    line({
      id: "su-1",
      time: new Date(at).toISOString(),
      type: "signup",
      source: { ip: "192.0.2.10" },
      actor: { account: "ann", email: "ann@example.org" },
    }),
  );
  const parsed = ConfigSchema.parse({
    data_dir: join(dir, "data"),
    sources: [{ name: "app", type: "json", paths: [log], from: "start", poll: "20ms" }],
  });
  const config: Config = {
    ...parsed,
    sources: parsed.sources!,
    origin: "test",
    autodetected: false,
  };
  const daemon = await Daemon.open(config, { hostAddresses: [], log: () => undefined });
  await daemon.start();
  t.after(() => daemon.stop());

  const stateOf = async (): Promise<string | undefined> =>
    (await daemon.accounts.get("ann", Date.now()))?.state;
  const waitFor = async (want: string): Promise<void> => {
    let seen: string | undefined;
    for (const end = Date.now() + 5_000; Date.now() < end;) {
      seen = await stateOf();
      if (seen === want) return;
      await sleep(20);
    }
    assert.fail(`account ann: expected ${want}, still ${seen ?? "unknown"}`);
  };

  await waitFor("pending_email");
  await appendFile(
    log,
    line({
      id: "ec-1",
      time: new Date(at + 30_000).toISOString(),
      type: "email.confirmed",
      actor: { account: "ann" },
    }),
  );
  await waitFor("active");
  const history = await daemon.accounts.history("ann", 10);
  assert.deepEqual(
    history.map((h) => h.cause),
    ["email.confirmed", "signup"],
  );
});
