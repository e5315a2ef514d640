/** The behaviour every OnceStore must show; run against memory and Redis. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import type { OnceStore } from "./once-store.ts";

export function onceStoreContract(name: string, open: () => Promise<OnceStore>): void {
  const key = (): string => randomBytes(16).toString("hex");
  const T = 1_600_000_000_000;

  void describe(`once-store contract: ${name}`, () => {
    void it("answers true to the first claim and false to the next ones", async () => {
      const store = await open();
      const k = key();
      assert.equal(await store.claim(k, T + 60_000, T), true);
      assert.equal(await store.claim(k, T + 60_000, T + 1), false);
      assert.equal(await store.claim(k, T + 60_000, T + 59_999), false);
    });

    void it("keeps keys apart", async () => {
      const store = await open();
      const [a, b] = [key(), key()];
      assert.equal(await store.claim(a, T + 60_000, T), true);
      assert.equal(await store.claim(b, T + 60_000, T), true);
      assert.equal(await store.claim(b, T + 60_000, T), false);
    });

    void it("refuses a claim that has already expired", async () => {
      const store = await open();
      const k = key();
      assert.equal(await store.claim(k, T, T), false);
      assert.equal(await store.claim(k, T - 1, T), false);
      assert.equal(await store.claim(k, T + 60_000, T), true);
    });

    void it("forgets a claim once it has expired", async () => {
      const store = await open();
      const k = key();
      assert.equal(await store.claim(k, T + 40, T), true);
      // Both clocks move on: the injected one (memory) and the wall clock (Redis's own TTL).
      await sleep(80);
      assert.equal(await store.claim(k, T + 60_000, T + 80), true);
    });

    void it("grants exactly one of many concurrent claims of one key", async () => {
      const store = await open();
      const k = key();
      const answers = await Promise.all(
        Array.from({ length: 16 }, () => store.claim(k, T + 60_000, T)),
      );
      assert.equal(answers.filter(Boolean).length, 1);
    });
  });
}
