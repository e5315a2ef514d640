/**
 * The guard's `limits` counters section: which backend holds the sliding-window counts, and
 * how. Checked without I/O; `createCounters` builds the backend (still without I/O: call
 * `start` to connect).
 */
import { z } from "zod";
import { duration } from "../../config/schemas.ts";
import { parseDuration } from "../../core/index.ts";
import type { Counters } from "../ports.ts";
import { MemoryCounters } from "./memory-counters.ts";
import { RedisCounters } from "./redis-counters.ts";

export const CountersConfigSchema = z
  .strictObject({
    /** `memory` (one node, nothing to install) or `redis` (several nodes share the counts). */
    backend: z.enum(["memory", "redis"]).default("memory"),
    redis_url: z
      .string()
      .regex(/^rediss?:\/\/\S+$/, "expected a redis:// or rediss:// URL")
      .optional(),
    key_prefix: z.string().min(1).max(100).default("rempart:"),
    /** Keys held in memory (hit and distinct each); the least recently used go first. */
    max_keys: z.number().int().min(1).max(100_000_000).default(1_000_000),
    /** How long an assessment may wait for Redis before it goes on without the counts. */
    timeout: duration.default("250ms"),
  })
  .refine((c) => c.backend !== "redis" || c.redis_url !== undefined, {
    message: 'backend "redis" needs redis_url, such as redis://127.0.0.1:6379',
    path: ["redis_url"],
  });

export type CountersConfigInput = z.input<typeof CountersConfigSchema>;
export type CountersConfig = z.output<typeof CountersConfigSchema>;

/** Counters the daemon starts and stops. */
export interface CountersService extends Counters {
  /** Connects (Redis); rejects with UNAVAILABLE when it cannot, while retries go on. */
  start(): Promise<void>;
}

export interface CreateCountersOptions {
  /** Slots the window is cut into (default 20): counts are exact to windowMs / slots. */
  readonly slots?: number;
  /** Told of Redis connection errors. */
  readonly onError?: (error: Error) => void;
}

export function createCounters(
  config: CountersConfig,
  windowMs: number,
  options: CreateCountersOptions = {},
): CountersService {
  const slots = options.slots ?? 20;
  if (config.backend === "memory") {
    return new MemoryCounters({ windowMs, slots, maxKeys: config.max_keys });
  }
  return new RedisCounters({
    url: config.redis_url!,
    keyPrefix: config.key_prefix,
    windowMs,
    slots,
    timeoutMs: parseDuration(config.timeout)!,
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
}
