import { redactUrl, RempartError } from "../../core/index.ts";
import type { OnceStore } from "./once-store.ts";

/** The slice of a node-redis client the store uses. */
export interface RedisSetNx {
  set(
    key: string,
    value: string,
    options: { condition: "NX"; expiration: { type: "PX"; value: number } },
  ): Promise<unknown>;
}

/**
 * Claims as Redis keys (`SET key 1 NX PX ttl`), so every node sharing the Redis sees one use.
 * The time to live is `expiresAt - now` on the injected clock rather than `PXAT expiresAt`:
 * Redis expires keys on its own wall clock, and in replay the event times lie in the past,
 * where PXAT would drop the key at once and let every solution be reused.
 */
export class RedisOnceStore implements OnceStore {
  readonly #client: RedisSetNx;
  readonly #prefix: string;

  constructor(client: RedisSetNx, prefix = "rempart:pow:once:") {
    this.#client = client;
    this.#prefix = prefix;
  }

  async claim(key: string, expiresAt: number, now: number): Promise<boolean> {
    const ttl = Math.ceil(expiresAt - now);
    if (!(ttl > 0)) return false;
    const reply = await this.#client.set(this.#prefix + key, "1", {
      condition: "NX",
      expiration: { type: "PX", value: ttl },
    });
    return reply === "OK";
  }
}

/** A connected RedisOnceStore and the way to close its connection. */
export interface RedisOnceStoreHandle {
  readonly store: RedisOnceStore;
  close(): Promise<void>;
}

/** Connects to `url` (redis://…); rejects when Redis cannot be reached. */
export async function connectRedisOnceStore(
  url: string,
  prefix?: string,
): Promise<RedisOnceStoreHandle> {
  let ready = false;
  // Loaded here: node-redis costs ~30 MB to a daemon that does not use Redis.
  const { createClient } = await import("redis");
  const client = createClient({
    url,
    socket: {
      connectTimeout: 2000,
      // Fail the first connection at once (a wrong URL must not hang the start); once up, retry.
      reconnectStrategy: (retries: number, cause: Error) =>
        ready ? Math.min(50 * 2 ** retries, 2000) : cause,
    },
  });
  client.on("error", () => {
    // Errors surface on the commands themselves; without a listener they would crash the process.
  });
  try {
    await client.connect();
  } catch (e) {
    throw new RempartError(
      "UNAVAILABLE",
      `guard.pow.store: cannot connect to Redis at ${redactUrl(url)}: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
        hint: "start Redis, or set guard.pow.store: memory (a single node needs no Redis)",
      },
    );
  }
  ready = true;
  return {
    store: new RedisOnceStore(client, prefix),
    close: () => client.close(),
  };
}
