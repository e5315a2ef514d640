import { createHash } from "node:crypto";
import { formatDuration, RempartError } from "../../core/index.ts";
import type { Counters } from "../ports.ts";
import { COUNT_SCRIPT, DISTINCT_SCRIPT, HIT_SCRIPT } from "./redis-scripts.ts";
import { windowShape, type WindowShapeOptions } from "./window-shape.ts";

export interface RedisCountersOptions extends WindowShapeOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  readonly url: string;
  /**
   * Put before every key (default `rempart:`), then the window's shape (`1h/20:`), so that
   * several uses and several windows share one database.
   */
  readonly keyPrefix?: string;
  /** How long a call may wait for Redis before it rejects (default 250 ms). */
  readonly timeoutMs?: number;
  /** Told of the client's connection errors (it reconnects by itself). */
  readonly onError?: (error: Error) => void;
}

/** The slice of a node-redis client the counters use. */
interface RedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<unknown>;
  destroy(): unknown;
  sendCommand(args: readonly string[], options?: { timeout?: number }): Promise<unknown>;
  on(event: string, listener: (error: Error) => void): unknown;
  off(event: string, listener: (error: Error) => void): unknown;
}

const sha1 = (text: string): string => createHash("sha1").update(text).digest("hex");
const HIT_SHA = sha1(HIT_SCRIPT);
const DISTINCT_SHA = sha1(DISTINCT_SCRIPT);
const COUNT_SHA = sha1(COUNT_SCRIPT);

/** The URL without its credentials, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "(unparsable URL)";
  }
}

/**
 * The same counters in Redis, so that several Rempart nodes share them. One round trip per
 * call (EVALSHA of a script that handles every key; EVAL once if Redis lost the script).
 * Counts: one hash per key, one field per slot. Distinct members: a sorted set per key up to
 * the bound, then one HyperLogLog per slot. Layout in redis-scripts.ts and docs/guard-limits.md.
 *
 * Lifecycle: constructing does no I/O; `start` connects (and rejects when the first attempt
 * fails, while the client keeps reconnecting in the background). A call made while Redis is
 * unreachable or slow rejects with an UNAVAILABLE error instead of waiting: the guard fails
 * open on it. Standalone Redis ≥ 6.2 (ZADD GT); not Redis Cluster (the scripts derive keys).
 */
export class RedisCounters implements Counters {
  /** Made at the first `start`: node-redis is loaded only by a daemon that uses Redis. */
  #client: Promise<RedisClient> | undefined;
  readonly #url: string;
  readonly #onError: (error: Error) => void;
  readonly #where: string;
  readonly #prefix: string;
  readonly #slots: number;
  readonly #slotMs: number;
  readonly #ttl: string;
  readonly #timeout: number;
  readonly #bound: string;
  #started = false;

  constructor(options: RedisCountersOptions) {
    const { windowMs, slots } = options;
    const shape = windowShape(options);
    this.#where = redactUrl(options.url);
    // The window's shape is part of every key: counters over other windows never mix.
    this.#prefix = `${options.keyPrefix ?? "rempart:"}${formatDuration(windowMs)}/${slots}:`;
    this.#slots = slots;
    this.#slotMs = shape.slotMs;
    this.#ttl = String(Math.ceil(windowMs + this.#slotMs));
    this.#timeout = options.timeoutMs ?? 250;
    this.#bound = String(shape.exactBound);
    this.#url = options.url;
    this.#onError = options.onError ?? (() => undefined);
  }

  /** Connects; rejects with UNAVAILABLE when the first attempt fails (retries go on). */
  async start(): Promise<void> {
    if (!this.#started) {
      this.#started = true;
      this.#client = this.#connect();
    }
    const client = await this.#client!;
    if (client.isReady) return;
    return new Promise((resolve, reject) => {
      const ready = (): void => {
        off();
        resolve();
      };
      const failed = (error: Error): void => {
        off();
        reject(this.#unavailable(error));
      };
      const off = (): void => {
        client.off("ready", ready);
        client.off("error", failed);
      };
      client.on("ready", ready);
      client.on("error", failed);
    });
  }

  hit(keys: readonly string[], now: number): Promise<readonly number[]> {
    return this.#counts(keys, now, HIT_SHA, HIT_SCRIPT);
  }

  count(keys: readonly string[], now: number): Promise<readonly number[]> {
    return this.#counts(keys, now, COUNT_SHA, COUNT_SCRIPT);
  }

  async #counts(
    keys: readonly string[],
    now: number,
    sha: string,
    script: string,
  ): Promise<readonly number[]> {
    if (keys.length === 0) return [];
    const args = new Array<string>(keys.length + 6);
    args[0] = "EVALSHA";
    args[1] = sha;
    args[2] = String(keys.length);
    for (let i = 0; i < keys.length; i++) args[3 + i] = `${this.#prefix}c:${keys[i]!}`;
    args[3 + keys.length] = String(Math.floor(now / this.#slotMs));
    args[4 + keys.length] = String(this.#slots);
    args[5 + keys.length] = this.#ttl;
    return this.#run(args, script, keys.length);
  }

  async distinct(keys: readonly string[], member: string, now: number): Promise<readonly number[]> {
    if (keys.length === 0) return [];
    const args = new Array<string>(keys.length + 11);
    args[0] = "EVALSHA";
    args[1] = DISTINCT_SHA;
    args[2] = String(keys.length);
    for (let i = 0; i < keys.length; i++) args[3 + i] = `${this.#prefix}d:${keys[i]!}`;
    const n = 3 + keys.length;
    args[n] = String(Math.floor(now / this.#slotMs));
    args[n + 1] = String(this.#slots);
    args[n + 2] = this.#ttl;
    args[n + 3] = this.#bound;
    args[n + 4] = member;
    args[n + 5] = this.#prefix;
    args[n + 6] = String(this.#slotMs);
    args[n + 7] = String(now);
    return this.#run(args, DISTINCT_SCRIPT, keys.length);
  }

  /** Quits cleanly when connected; drops the connection attempts otherwise. */
  async close(): Promise<void> {
    const client = await this.#client;
    if (client === undefined || !client.isOpen) return;
    if (client.isReady) await client.close();
    else client.destroy();
  }

  async #run(args: string[], script: string, count: number): Promise<readonly number[]> {
    if (!this.#started) await this.start();
    const client = await this.#client!;
    const options = { timeout: this.#timeout };
    let reply: unknown;
    try {
      try {
        reply = await client.sendCommand(args, options);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
        // Redis restarted or was flushed: EVAL sends the script and caches it again.
        args[0] = "EVAL";
        args[1] = script;
        reply = await client.sendCommand(args, options);
      }
    } catch (error) {
      throw this.#unavailable(error);
    }
    if (!Array.isArray(reply) || reply.length !== count || !reply.every(Number.isInteger))
      throw new RempartError("INTERNAL", "counters: Redis answered an unexpected reply");
    return reply as number[];
  }

  async #connect(): Promise<RedisClient> {
    const { createClient } = await import("redis");
    const client: RedisClient = createClient({
      url: this.#url,
      // Fail now rather than queue behind a dead connection: the guard must not wait.
      disableOfflineQueue: true,
      socket: { connectTimeout: Math.max(1000, this.#timeout) },
    });
    // Without a listener, a connection error would be thrown as an uncaught exception.
    client.on("error", this.#onError);
    client.connect().catch(() => undefined);
    return client;
  }

  #unavailable(error: unknown): RempartError {
    const why = error instanceof Error ? error.message : String(error);
    return new RempartError(
      "UNAVAILABLE",
      `counters: Redis at ${this.#where} did not answer (${why || "no reason given"})`,
      { cause: error, hint: "check that Redis runs and that redis_url is right" },
    );
  }
}
