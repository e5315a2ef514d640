import assert from "node:assert/strict";
import { after, describe, it, test } from "node:test";
import { isRempartError } from "../../core/index.ts";
import { MemoryOnceStore } from "./once-store.ts";
import { onceStoreContract } from "./once-store-contract.ts";
import { connectRedisOnceStore, type RedisOnceStoreHandle } from "./redis-once-store.ts";

onceStoreContract("memory", () => Promise.resolve(new MemoryOnceStore()));

const url = process.env["REMPART_TEST_REDIS_URL"];
if (url === undefined || url === "") {
  void describe("once-store contract: redis", () => {
    void it("runs against a Redis server", {
      skip: "set REMPART_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379) to run the Redis suite",
    });
  });
} else {
  const handles: RedisOnceStoreHandle[] = [];
  after(async () => {
    await Promise.all(handles.map((h) => h.close()));
  });
  onceStoreContract("redis", async () => {
    const handle = await connectRedisOnceStore(url, `rempart:test:once:${process.pid}:`);
    handles.push(handle);
    return handle.store;
  });
}

void describe("MemoryOnceStore", () => {
  const T = 1_600_000_000_000;

  void it("stays within its bound, forgetting the oldest claim first", () => {
    const store = new MemoryOnceStore({ maxEntries: 3 });
    for (const k of ["a", "b", "c", "d"]) assert.equal(store.claimSync(k, T + 1000, T), true);
    assert.equal(store.size, 3);
    assert.equal(store.claimSync("a", T + 1000, T), true, "a was forgotten to make room");
    assert.equal(store.claimSync("d", T + 1000, T), false, "d is still held");
  });

  void it("sweeps expired claims as time goes by", () => {
    const store = new MemoryOnceStore();
    for (let i = 0; i < 100; i++) store.claimSync(`k${i}`, T + 1000 + i, T);
    assert.equal(store.size, 100);
    store.claimSync("later", T + 10_000, T + 1050);
    // k0…k50 expire at or before T + 1050.
    assert.equal(store.size, 100 - 51 + 1);
  });

  void it("prefers dropping expired claims to forgetting live ones when full", () => {
    const store = new MemoryOnceStore({ maxEntries: 3 });
    store.claimSync("live", T + 10_000, T);
    store.claimSync("short1", T + 100, T);
    store.claimSync("short2", T + 100, T);
    // The front sweep stops at "live"; the full sweep behind it drops the two expired ones.
    assert.equal(store.claimSync("new", T + 10_000, T + 200), true);
    assert.equal(store.claimSync("live", T + 10_000, T + 200), false);
    assert.equal(store.size, 2);
  });

  void it("holds a signature in place, and longer or wider keys beside it", () => {
    const store = new MemoryOnceStore();
    const signature = "9f".repeat(32);
    const keys = [signature, `${signature}0`, "clé-€", "x".repeat(300), signature.slice(0, 63)];
    for (const k of keys) assert.equal(store.claimSync(k, T + 1000, T), true, k);
    for (const k of keys) assert.equal(store.claimSync(k, T + 1000, T + 1), false, k);
    assert.equal(store.size, keys.length);
  });

  void it("stays cheap when full of live claims", () => {
    // Sweeping the whole map for expired claims on each claim made room for would cost
    // 50,000 entries' walk per claim here (a minute for the loop); it is done once per
    // eighth of the map, and the oldest claim is found without rescanning the front.
    const store = new MemoryOnceStore({ maxEntries: 50_000 });
    const t0 = performance.now();
    for (let i = 0; i < 150_000; i++) store.claimSync(`k${i}`, T + 60_000, T + i / 100);
    assert.equal(store.size, 50_000);
    assert.equal(store.claimSync("k99999", T + 60_000, T + 1500), true, "forgotten to make room");
    assert.equal(store.claimSync("k149999", T + 60_000, T + 1500), false, "still held");
    assert.ok(performance.now() - t0 < 3_000, `took ${performance.now() - t0} ms`);
  });
});

test("a Redis that cannot be reached at start is said, without its password", async () => {
  await assert.rejects(
    connectRedisOnceStore("redis://:s3cret@127.0.0.1:1"),
    (e: unknown) =>
      isRempartError(e) &&
      e.code === "UNAVAILABLE" &&
      e.message.startsWith(
        "guard.pow.store: cannot connect to Redis at redis://:***@127.0.0.1:1",
      ) &&
      !e.message.includes("s3cret") &&
      /guard\.pow\.store: memory/.test(e.hint ?? ""),
  );
});
