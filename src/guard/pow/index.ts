export {
  ALTCHA_ALGORITHMS,
  AltchaPow,
  clampLevel,
  MAX_POW_LEVEL,
  POW_DEFAULTS,
  POW_LEVEL_FACTOR,
  type AltchaAlgorithm,
  type AltchaCheck,
  type AltchaPowOptions,
  type PowFailure,
} from "./altcha-pow.ts";
export {
  ChallengePasses,
  cookieValues,
  PASS_COOKIE,
  passSubject,
  type IssuedPass,
} from "./challenge-pass.ts";
export { encodeAltchaPayload, solveAltcha, type SolvedPayload } from "./altcha-solve.ts";
export {
  deriveGuardKeys,
  loadOrCreateSecret,
  parseSecret,
  type GuardKeys,
} from "./guard-secret.ts";
export { MemoryOnceStore, type MemoryOnceStoreOptions, type OnceStore } from "./once-store.ts";
export {
  createAltchaPow,
  createChallengePasses,
  loadGuardSecret,
  openOnceStore,
  PowConfigSchema,
  type OnceStoreHandle,
  type PowConfig,
  type PowConfigInput,
} from "./pow-config.ts";
export {
  connectRedisOnceStore,
  RedisOnceStore,
  type RedisOnceStoreHandle,
  type RedisSetNx,
} from "./redis-once-store.ts";
