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

/**
 * The built-in scenarios and those of `scenarios.dirs`. A scenario of the operator's with a
 * built-in's name replaces that built-in (how a built-in is tuned: copy its file, change it);
 * two of the operator's with one name are an error.
 */
export async function loadScenarios(
  config: Pick<Config, "scenarios"> & { readonly origin?: string },
): Promise<CompiledScenario[]> {
  const builtin = await loadScenarioDirs([BUILTIN_SCENARIO_DIR]);
  const own = await loadScenarioDirs(config.scenarios.dirs);
  const problems = [...(builtin.ok ? [] : builtin.problems), ...(own.ok ? [] : own.problems)];
  if (!builtin.ok || !own.ok) {
    throw new RempartError("SCENARIO_INVALID", problems.map(formatProblem).join("\n"), {
      hint: "see docs/scenarios.md for the scenario format",
    });
  }
  const replaced = new Set(own.scenarios.map((s) => s.name));
  const all = [...builtin.scenarios.filter((s) => !replaced.has(s.name)), ...own.scenarios];
  const disabled = new Set(config.scenarios.disable);
  const unknown = [...disabled].filter((n) => !all.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new RempartError(
      "CONFIG_INVALID",
      `${config.origin === undefined ? "" : `${config.origin}: `}scenarios.disable names unknown scenarios: ${unknown.join(", ")}`,
      {
        hint: `known: ${all.map((s) => s.name).join(", ")}`,
      },
    );
  }
  return all.filter((s) => !disabled.has(s.name));
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
  config: Pick<Config, "scenarios" | "policy"> & { readonly origin?: string },
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
