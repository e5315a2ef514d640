/**
 * Two `rempart start` processes on one PostgreSQL, as two MX of one provider run them
 * (docs/running.md, "Several nodes"): a ban made through one node's API is answered by the
 * other's `/v1/check` within a moment and lifted there when the first lifts it; a third daemon
 * started under a name already running is refused with what to change.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  POSTGRES_SKIP,
  TEST_POSTGRES_URL,
  testSchema,
} from "../../src/storage/postgres/test-schema.ts";
import {
  apiCaller,
  createKey,
  startDaemon,
  writeDaemonConfig,
  type RunningDaemon,
} from "../support/daemon.ts";

test(
  "two daemons on one PostgreSQL answer each other's decisions; a name already running is refused",
  TEST_POSTGRES_URL === undefined ? { skip: POSTGRES_SKIP } : { timeout: 90_000 },
  async (t) => {
    const { url } = await testSchema((fn) => t.after(fn));
    const dir = await mkdtemp(join(tmpdir(), "rempart-two-nodes-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const configOf = async (node: string): Promise<string> => {
      const home = join(dir, node);
      await mkdir(home);
      const file = await writeDaemonConfig(home, [
        `node_name: ${node}`,
        "storage:",
        `  postgres_url: "${url}"`,
        "sources: []",
      ]);
      return file;
    };
    const mx1 = await configOf("mx1");
    const mx2 = await configOf("mx2");
    // One key, in the shared database, for both nodes' APIs.
    const key = await createKey(mx1);
    const started: RunningDaemon[] = [];
    t.after(async () => {
      for (const d of started) await d.stop();
    });
    const start = async (config: string): Promise<string> => {
      const d = startDaemon(config);
      started.push(d);
      return d.url();
    };
    const [api1, api2] = [await start(mx1), await start(mx2)];
    const call1 = apiCaller(api1, key);
    const verdictOn = async (api: string): Promise<unknown> =>
      (await apiCaller(api, key)("GET", "/v1/check?ip=198.51.100.23")).verdict;
    const until = async (what: string, holds: () => Promise<boolean>): Promise<number> => {
      const t0 = Date.now();
      while (!(await holds())) {
        assert.ok(Date.now() - t0 < 10_000, `not within 10 s: ${what}`);
        await sleep(10);
      }
      return Date.now() - t0;
    };

    assert.match(
      started[0]!.stderr(),
      /sharing: PostgreSQL as node mx1; decisions live with the other nodes on it/,
    );
    assert.equal(await verdictOn(api2), "allow");
    const made = await call1("POST", "/v1/decisions", {
      action: "ban",
      scope: "ip",
      value: "198.51.100.23",
      duration: "4h",
      reason: "e2e: guessing passwords on mx1",
    });
    const seen = await until(
      "mx2 answers mx1's ban",
      async () => (await verdictOn(api2)) === "ban",
    );
    t.diagnostic(`mx2 answered mx1's ban ${seen} ms after mx1 made it`);

    const id = (made.decision as { id: string }).id;
    await call1("DELETE", `/v1/decisions/${id}`);
    await until("mx2 lifts it", async () => (await verdictOn(api2)) === "allow");

    // A copy of mx1's configuration started elsewhere: refused, saying why.
    const copy = startDaemon(mx1);
    const code = await copy.exited;
    assert.notEqual(code, 0);
    assert.match(copy.stderr(), /another Rempart runs as node "mx1" on this database/);
    assert.match(copy.stderr(), /give each node its own node_name/);
  },
);
