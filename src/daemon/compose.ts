/** Builds detection and decisions from a configuration: the same for replay and live mode. */
import { RempartError } from "../core/index.ts";
import { formatProblem } from "../config/load-yaml.ts";
import { DecisionBook, DecisionPolicy, type PolicyConfig } from "../decisions/index.ts";
import {
  BUILTIN_SCENARIO_DIR,
  DetectionEngine,
  loadScenarioDirs,
  type CompiledScenario,
  type EngineOptions,
} from "../detection/index.ts";
import { parseDuration } from "../core/index.ts";
import type { AsLookup } from "../guard/ports.ts";
import { DEFAULT_SURGE_CONFIG, SurgeDetector, type SurgeConfig } from "../guard/surge/index.ts";
import type { Config } from "./config.ts";
import type { Detector } from "./pipeline.ts";

export async function loadScenarios(
  config: Pick<Config, "scenarios">,
): Promise<CompiledScenario[]> {
  const r = await loadScenarioDirs([BUILTIN_SCENARIO_DIR, ...config.scenarios.dirs]);
  if (!r.ok) {
    throw new RempartError("SCENARIO_INVALID", r.problems.map(formatProblem).join("\n"), {
      hint: "see docs/scenarios.md for the scenario format",
    });
  }
  const disabled = new Set(config.scenarios.disable);
  const unknown = [...disabled].filter((n) => !r.scenarios.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new RempartError(
      "CONFIG_INVALID",
      `scenarios.disable names unknown scenarios: ${unknown.join(", ")}`,
      {
        hint: `known: ${r.scenarios.map((s) => s.name).join(", ")}`,
      },
    );
  }
  return r.scenarios.filter((s) => !disabled.has(s.name));
}

export function policyConfig(
  config: Pick<Config, "policy">,
  hostAddresses: readonly string[],
): PolicyConfig {
  const p = config.policy;
  return {
    allowNetworks: p.allow_networks,
    allowAccounts: p.allow_accounts,
    hostAddresses,
    maxRangeV4: p.max_range.ipv4,
    maxRangeV6: p.max_range.ipv6,
    escalation: {
      factor: p.escalation.factor,
      maxMs: parseDuration(p.escalation.max)!,
      memoryMs: parseDuration(p.escalation.memory)!,
    },
  };
}

export interface Detection {
  readonly engine: DetectionEngine;
  readonly policy: DecisionPolicy;
  readonly book: DecisionBook;
  /** Detectors besides the scenario engine, for the pipeline. */
  readonly detectors: readonly Detector[];
  /** The surge detector the guard reads (mode, classify), when enabled. */
  readonly surge: SurgeDetector | undefined;
}

/** The surge detector's section and the AS look-up it reads (none: no AS concentration). */
export interface SurgeSetup {
  readonly config?: SurgeConfig;
  readonly asLookup?: AsLookup;
}

export async function buildDetection(
  config: Pick<Config, "scenarios" | "policy">,
  hostAddresses: readonly string[],
  newId: () => string,
  engineOptions: EngineOptions = {},
  surgeSetup: SurgeSetup = {},
): Promise<Detection> {
  const scenarios = await loadScenarios(config);
  const book = new DecisionBook();
  const surgeConfig = surgeSetup.config ?? DEFAULT_SURGE_CONFIG;
  const surge = surgeConfig.enabled
    ? new SurgeDetector(surgeConfig, surgeSetup.asLookup)
    : undefined;
  return {
    engine: new DetectionEngine(scenarios, engineOptions),
    policy: new DecisionPolicy(policyConfig(config, hostAddresses), book, newId),
    book,
    detectors: surge ? [surge] : [],
    surge,
  };
}
