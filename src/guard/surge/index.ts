export { DEFAULT_STATIC_EXTENSIONS, RouteNormalizer, type RouteOf } from "./route.ts";
export { DEFAULT_SURGE_CONFIG, SurgeConfigSchema, type SurgeConfig } from "./surge-config.ts";
export {
  networkOf,
  SURGE_NAME,
  SurgeDetector,
  type ConcentratedNetwork,
  type SurgeClass,
  type SurgeFinding,
  type SurgeMode,
  type SurgeTarget,
} from "./surge-detector.ts";
