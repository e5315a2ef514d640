/** The `surge` configuration section: what a surge is, and what the under-attack mode does. */
import { z } from "zod";
import { duration, positiveDuration } from "../../config/schemas.ts";
import { DEFAULT_STATIC_EXTENSIONS, ROUTE_PATTERN } from "./route.ts";

const share = z.number().min(0).max(1);
const action = z.enum(["challenge", "ban", "throttle"]);

export const SurgeConfigSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** The rate's interval, and how often the baseline learns. */
  interval: positiveDuration.default("1m"),
  /** Intervals of history before a target's baseline is trusted. */
  warmup: z.number().int().min(1).default(30),
  /** Weight of the newest interval in the baseline (EWMA). */
  alpha: z.number().gt(0).max(1).default(0.05),
  /** A surge: an interval above `factor` × the baseline … */
  factor: z.number().min(1).default(5),
  /** … and above this many hits (the floor that keeps quiet routes quiet). */
  min_rate: z.number().int().min(1).default(120),
  /** A target with less history than `warmup` surges at this many hits in one interval. */
  new_target_rate: z.number().int().min(1).default(1000),
  /** The mode ends once the rate stays below `end_factor` × the baseline for `cooldown`. */
  end_factor: z.number().min(1).default(2),
  cooldown: duration.default("10m"),
  /** How often, while under attack, the concentration is measured again. */
  evaluate_every: positiveDuration.default("10s"),
  /** Share of the surge's hits from concentrated networks above which the surge is concentrated. */
  concentrated_cover: share.default(0.5),
  /** An address first seen this long before the surge began still counts as first-seen. */
  first_seen_grace: duration.default("10m"),
  /** How long an address stays known after its last hit. */
  known_for: duration.default("7d"),
  /** Most addresses remembered (known and recent), least recently active forgotten first. */
  max_addresses: z.number().int().min(100).default(100_000),
  /** Most targets (forms and routes); further routes are counted together as `route:(other)`. */
  max_targets: z.number().int().min(2).default(1000),
  /** Route patterns (`/petition/:slug`, `/api/*`), tried before the default normalisation. */
  routes: z
    .array(
      z
        .string()
        .regex(
          ROUTE_PATTERN,
          "expected a path pattern such as /petition/:slug or /api/* (a * only as the last segment)",
        ),
    )
    .default([]),
  static_extensions: z
    .array(z.string().regex(/^[a-z0-9]{1,10}$/i))
    .default([...DEFAULT_STATIC_EXTENSIONS]),
  /** Decisions on a /24 (IPv4) or /48 (IPv6) that carries the surge. */
  range: z
    .strictObject({
      enabled: z.boolean().default(true),
      min_hits: z.number().int().min(1).default(60),
      min_addresses: z.number().int().min(2).default(8),
      min_first_seen: share.default(0.8),
      action: action.default("challenge"),
      duration: duration.default("1h"),
    })
    .prefault({}),
  /** Decisions on a whole AS: only one real users barely came from before the surge. */
  as: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** The AS's share of the surge's hits, at least. */
      min_share: share.default(0.1),
      /** The AS's share of the target's traffic before the surge, at most. */
      max_baseline_share: share.default(0.01),
      /** Hits of baseline the target must have learned before an AS may be judged on it. */
      min_baseline_hits: z.number().min(0).default(500),
      min_addresses: z.number().int().min(2).default(20),
      min_first_seen: share.default(0.8),
      /** How fast the per-AS baseline forgets (half-life). */
      baseline_memory: duration.default("1d"),
      action: action.default("challenge"),
      duration: duration.default("1h"),
    })
    .prefault({}),
  /** Decisions on single addresses whose behaviour during the surge marks them. */
  address: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Hits on a route under attack, at least … */
      min_hits: z.number().int().min(1).default(5),
      /** … with at most this many static assets fetched … */
      max_assets: z.number().int().min(0).default(0),
      /** … and at least this share of its pages on routes under attack. */
      min_surge_share: share.default(0.8),
      /** Submissions of a form under attack, at least (forms have no assets to look at). */
      min_form_hits: z.number().int().min(1).default(3),
      /** Counts are kept over this window of the address's activity. */
      window: duration.default("30m"),
      action: action.default("challenge"),
      duration: duration.default("1h"),
    })
    .prefault({}),
});

export type SurgeConfig = z.infer<typeof SurgeConfigSchema>;

/** The defaults, for callers that have no configuration section. */
export const DEFAULT_SURGE_CONFIG: SurgeConfig = Object.freeze(SurgeConfigSchema.parse({}));
