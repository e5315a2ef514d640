import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CountersConfigSchema, createCounters } from "./counters-config.ts";
import { MemoryCounters } from "./memory-counters.ts";
import { RedisCounters } from "./redis-counters.ts";

void describe("CountersConfigSchema", () => {
  void it("defaults to memory, the rempart: prefix and a million keys", () => {
    assert.deepEqual(CountersConfigSchema.parse({}), {
      backend: "memory",
      key_prefix: "rempart:",
      max_keys: 1_000_000,
      timeout: "250ms",
    });
  });

  void it("asks for redis_url with the redis backend, at that key", () => {
    const r = CountersConfigSchema.safeParse({ backend: "redis" });
    assert.equal(r.success, false);
    assert.deepEqual(r.error?.issues[0]?.path, ["redis_url"]);
    assert.match(r.error?.issues[0]?.message ?? "", /needs redis_url/);
  });

  void it("refuses unknown keys, bad URLs and bad durations", () => {
    for (const bad of [
      { backnd: "memory" },
      { backend: "redis", redis_url: "http://127.0.0.1:6379" },
      { timeout: "soon" },
      { max_keys: 0 },
    ]) {
      assert.equal(CountersConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });
});

void describe("createCounters", () => {
  void it("builds the configured backend without connecting", async () => {
    const memory = createCounters(CountersConfigSchema.parse({ max_keys: 10 }), 60_000);
    assert.ok(memory instanceof MemoryCounters);
    await memory.start();
    assert.deepEqual(await memory.hit(["a", "a"], 0), [1, 2]);
    const redis = createCounters(
      CountersConfigSchema.parse({ backend: "redis", redis_url: "redis://127.0.0.1:1" }),
      60_000,
    );
    assert.ok(redis instanceof RedisCounters);
    await redis.close();
  });
});
