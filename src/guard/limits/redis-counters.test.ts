import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { createClient } from "redis";
import { isRempartError } from "../../core/index.ts";
import { countersContract } from "./counters-contract.ts";
import { RedisCounters } from "./redis-counters.ts";

const url = process.env["REMPART_TEST_REDIS_URL"];

/** Whether Redis answers at `url` within a second. */
async function reachable(url: string): Promise<boolean> {
  const client = createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: false } });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.ping();
    await client.close();
    return true;
  } catch {
    client.destroy();
    return false;
  }
}

/** Deletes every key under `prefix`. */
async function dropPrefix(url: string, prefix: string): Promise<void> {
  const client = createClient({ url });
  client.on("error", () => undefined);
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
      if (keys.length > 0) await client.del(keys);
    }
  } finally {
    await client.close();
  }
}

const skip =
  url === undefined || url === ""
    ? "set REMPART_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run the Redis counters suite"
    : (await reachable(url))
      ? undefined
      : `no Redis answers at REMPART_TEST_REDIS_URL (${url}): start one to run this suite`;

if (skip !== undefined || url === undefined) {
  void describe("counters contract: redis", () => {
    void it("runs against a Redis server", {
      skip: skip ?? "set REMPART_TEST_REDIS_URL to run the Redis counters suite",
    });
  });
} else {
  // One key prefix per test, deleted after it: parallel runs and crashed runs never collide.
  countersContract(
    "redis",
    () => {
      const prefix = `rempart-test:${randomBytes(6).toString("hex")}:`;
      return Promise.resolve({
        open: async (shape) => {
          const c = new RedisCounters({ url, keyPrefix: prefix, ...shape });
          await c.start();
          return c;
        },
        destroy: () => dropPrefix(url, prefix),
      });
    },
    { shared: true },
  );

  void describe("RedisCounters", () => {
    const prefix = `rempart-test:${randomBytes(6).toString("hex")}:`;

    void it("keeps counters over different windows apart under one prefix", async () => {
      const short = new RedisCounters({ url, keyPrefix: prefix, windowMs: 60_000, slots: 20 });
      const long = new RedisCounters({ url, keyPrefix: prefix, windowMs: 86_400_000, slots: 24 });
      try {
        const t = 1_700_000_000_000;
        await short.hit(["ip:192.0.2.1"], t);
        assert.deepEqual(await long.hit(["ip:192.0.2.1"], t + 120_000), [1]);
        assert.deepEqual(await short.count(["ip:192.0.2.1"], t + 120_000), [0]);
        assert.deepEqual(await long.count(["ip:192.0.2.1"], t + 120_000), [1]);
      } finally {
        await Promise.all([short.close(), long.close()]);
        await dropPrefix(url, prefix);
      }
    });

    void it("keeps one hash per counter key and one set per distinct key, under the prefix", async () => {
      const c = new RedisCounters({ url, keyPrefix: prefix, windowMs: 60_000, slots: 20 });
      const client = createClient({ url });
      client.on("error", () => undefined);
      await client.connect();
      try {
        await c.hit(["ip:192.0.2.1", "as:64500"], 1_700_000_000_000);
        await c.distinct(["fp:a"], "192.0.2.1", 1_700_000_000_000);
        const keys = (await client.keys(`${prefix}*`)).sort();
        const ns = `${prefix}1m/20:`;
        assert.deepEqual(keys, [`${ns}c:as:64500`, `${ns}c:ip:192.0.2.1`, `${ns}d:fp:a`]);
        const ttl = await client.pTTL(`${ns}c:as:64500`);
        assert.ok(ttl > 60_000 && ttl <= 63_000, `TTL ${ttl} is not window + one slot`);
      } finally {
        await c.close();
        await client.close();
        await dropPrefix(url, prefix);
      }
    });
  });
}

void describe("RedisCounters without Redis", () => {
  void it("rejects a call with UNAVAILABLE and no password in the message", async () => {
    const c = new RedisCounters({
      url: "redis://rempart:s3cret@127.0.0.1:1",
      windowMs: 60_000,
      slots: 20,
    });
    try {
      await assert.rejects(c.start(), (e: unknown) => {
        assert.ok(isRempartError(e));
        assert.equal(e.code, "UNAVAILABLE");
        assert.match(e.message, /127\.0\.0\.1:1/);
        assert.doesNotMatch(e.message, /s3cret/);
        return true;
      });
      // Still unreachable, still retrying: the call fails at once instead of queueing.
      const started = performance.now();
      await assert.rejects(c.hit(["ip:192.0.2.1"], 0), (e: unknown) => {
        assert.ok(isRempartError(e) && e.code === "UNAVAILABLE");
        return true;
      });
      assert.ok(performance.now() - started < 100);
    } finally {
      await c.close();
    }
  });
});
