/**
 * Sliding-window counters for the guard's limits on several keys at once (address, /24, /64,
 * AS, e-mail domain, fingerprint, form): in memory by default, in Redis to share them.
 */
export {
  CountersConfigSchema,
  createCounters,
  type CountersConfig,
  type CountersConfigInput,
  type CountersService,
  type CreateCountersOptions,
} from "./counters-config.ts";
export {
  MemoryCounters,
  type MemoryCountersOptions,
  type MemoryCountersStats,
} from "./memory-counters.ts";
export { RedisCounters, type RedisCountersOptions } from "./redis-counters.ts";
