/**
 * GET /v1/guard/token through the daemon's API: the honeypot is named after none of the
 * fields the page lists, nor the form's identities.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { HONEYPOT_NAMES } from "../guard/token/index.ts";
import { createApiKey } from "../http/api-keys.ts";
import { createApi } from "../http/index.ts";
import { ConfigSchema, type Config } from "./config.ts";
import { Daemon } from "./daemon.ts";

test("a form token's honeypot avoids the fields the page names and the form's identities", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-daemon-token-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const parsed = ConfigSchema.parse({
    data_dir: dir,
    guard: {
      email: { mx: { enabled: false } },
      forms: { people: { identities: [["first_name", "middle_name", "last_name"]] } },
    },
  });
  const config: Config = { ...parsed, sources: [], origin: "test", autodetected: false };
  const daemon = await Daemon.open(config, { hostAddresses: [], log: () => undefined });
  t.after(() => daemon.stop());
  await daemon.start();
  const api = createApi(daemon);
  const key = await createApiKey(daemon.storage, "site", "sensor", Date.now());
  const honeypot = async (query: string): Promise<string> => {
    const r = await api.handle({
      method: "GET",
      path: "/v1/guard/token",
      query,
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(r.status, 200, String(r.body));
    return (JSON.parse(String(r.body)) as { honeypot: string }).honeypot;
  };
  // All but two names are the page's: the honeypot can only be one of those two.
  const taken = HONEYPOT_NAMES.filter(
    (n) => n !== "fax" && n !== "nickname" && n !== "middle_name",
  );
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++)
    seen.add(await honeypot(`form=people&fields=${encodeURIComponent(taken.join(", "))}`));
  assert.deepEqual([...seen].sort(), ["fax", "nickname"], "middle_name is an identity field");
});
