/**
 * A decision on an AS holds every address of it wherever decisions are checked: the daemon's
 * `check`, which forward-auth, `/v1/check` and the policy service ask.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ConfigSchema, type Config } from "./config.ts";
import { Daemon } from "./daemon.ts";

test("an AS decision holds the AS's addresses in check, not the others", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-daemon-as-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const asFile = join(dir, "as.csv");
  await writeFile(asFile, "192.0.2.0,192.0.2.255,64500,Example Hosting Ltd\n");
  const parsed = ConfigSchema.parse({
    data_dir: dir,
    http: { listen: "127.0.0.1:0" },
    guard: { networks: { as: { file: asFile } }, email: { mx: { enabled: false } } },
  });
  const config: Config = { ...parsed, sources: [], origin: "test", autodetected: false };
  const daemon = await Daemon.open(config, { hostAddresses: [], log: () => undefined });
  await daemon.start();
  t.after(() => daemon.stop());
  assert.deepEqual(daemon.check({ ip: "192.0.2.7" }), []);
  const outcome = await daemon.addDecision({
    action: "ban",
    scope: "as",
    value: "AS64500",
    durationMs: 3_600_000,
    reason: "surge from a hosting network",
    author: "test",
  });
  assert.equal(outcome.kind, "created");
  assert.deepEqual(
    daemon.check({ ip: "192.0.2.7" }).map((d) => `${d.scope} ${d.value}`),
    ["as 64500"],
  );
  assert.deepEqual(daemon.check({ ip: "198.51.100.7" }), [], "another AS's address");
});
