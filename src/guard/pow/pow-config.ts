/**
 * The `guard.pow` section: where the guard's secret lives, how long a challenge lasts, how much
 * work level 0 asks, and where used solutions are remembered. Checked without I/O; the secret
 * and the store are opened by the functions below when the daemon starts.
 */
import { join } from "node:path";
import { z } from "zod";
import { duration } from "../../config/schemas.ts";
import { parseDuration } from "../../core/index.ts";
import { ALTCHA_ALGORITHMS, AltchaPow, POW_DEFAULTS } from "./altcha-pow.ts";
import { ChallengePasses } from "./challenge-pass.ts";
import { deriveGuardKeys, loadOrCreateSecret, parseSecret } from "./guard-secret.ts";
import { MemoryOnceStore, type OnceStore } from "./once-store.ts";
import { connectRedisOnceStore } from "./redis-once-store.ts";

export const PowConfigSchema = z
  .strictObject({
    /** The guard's secret (32 bytes, hex); default `<data_dir>/guard.key`, created if missing. */
    secret_file: z.string().min(1).optional(),
    /** Or the secret itself (64 hex characters, or any text of at least 32 bytes). */
    secret: z.string().min(32).optional(),
    expires: duration
      .refine((s) => parseDuration(s)! >= 10_000 && parseDuration(s)! <= 86_400_000, {
        message: "expected between 10s and 1d",
      })
      .default("10m"),
    /** How long the pass the challenge page issues lets its visitor through (forward-auth). */
    pass_duration: duration
      .refine((s) => parseDuration(s)! >= 60_000 && parseDuration(s)! <= 30 * 86_400_000, {
        message: "expected between 1m and 30d",
      })
      .default("1h"),
    algorithm: z.enum(ALTCHA_ALGORITHMS).default(POW_DEFAULTS.algorithm),
    cost: z.number().int().min(1).max(100_000).default(POW_DEFAULTS.cost),
    /** Level 0's largest counter; each level multiplies it by 4. */
    counter: z.number().int().min(2).max(10_000_000).default(POW_DEFAULTS.counter),
    /** `redis` shares used solutions between nodes (uses the guard's Redis URL). */
    store: z.enum(["memory", "redis"]).default("memory"),
    memory_entries: z.number().int().min(1000).max(50_000_000).default(200_000),
  })
  .refine((c) => c.secret === undefined || c.secret_file === undefined, {
    message: "set secret_file or secret, not both",
    path: ["secret"],
  });

export type PowConfigInput = z.input<typeof PowConfigSchema>;
export type PowConfig = z.output<typeof PowConfigSchema>;

/** The guard's secret: `secret`, else `secret_file`, else `<dataDir>/guard.key` (created). */
export async function loadGuardSecret(config: PowConfig, dataDir: string): Promise<Buffer> {
  if (config.secret !== undefined) return parseSecret(config.secret, "guard.pow.secret");
  return loadOrCreateSecret(config.secret_file ?? join(dataDir, "guard.key"));
}

/** An open once-store and the way to close it (a no-op in memory). */
export interface OnceStoreHandle {
  readonly store: OnceStore;
  close(): Promise<void>;
}

export async function openOnceStore(
  config: PowConfig,
  redisUrl: string | undefined,
): Promise<OnceStoreHandle> {
  if (config.store === "memory") {
    return {
      store: new MemoryOnceStore({ maxEntries: config.memory_entries }),
      close: () => Promise.resolve(),
    };
  }
  if (redisUrl === undefined) {
    throw new Error("guard.pow.store is redis but no Redis URL is configured");
  }
  return connectRedisOnceStore(redisUrl);
}

/** The challenge page's passes, signed with the guard's secret. */
export function createChallengePasses(config: PowConfig, secret: Uint8Array): ChallengePasses {
  return new ChallengePasses(deriveGuardKeys(secret).pass, parseDuration(config.pass_duration)!);
}

export function createAltchaPow(
  config: PowConfig,
  secret: Uint8Array,
  store: OnceStore,
): AltchaPow {
  return new AltchaPow({
    keys: deriveGuardKeys(secret),
    store,
    expiresMs: parseDuration(config.expires)!,
    algorithm: config.algorithm,
    cost: config.cost,
    counter: config.counter,
  });
}
