/**
 * Scenarios are data: a YAML document per scenario, checked against this schema and compiled
 * once (filters, keys, durations) when loaded.
 */
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import {
  ACTIONS,
  parseDuration,
  SCOPES,
  type Action,
  type Event,
  type Scope,
} from "../core/index.ts";
import { loadYamlFile, parseYaml, type Problem } from "../config/load-yaml.ts";
import type { BucketSpec } from "./buckets.ts";
import { compileExpression, compileFilter, pinnedTypes } from "./expression.ts";
import { accessor, type Accessor } from "./fields.ts";

const duration = z.string().refine((s) => parseDuration(s) !== undefined, {
  message: 'a duration such as "30s", "10m", "4h", "7d"',
});

const keySpec = z.union([z.string(), z.array(z.string()).min(1).max(4)]);

export const ScenarioSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9._/-]{0,99}$/, "lower-case letters, digits, . _ / -"),
    description: z.string(),
    kind: z.enum(["leaky", "window", "distinct", "rate", "ratio", "hours"]),
    filter: z.string().min(1),
    key: keySpec,
    weight: z.string().optional(),
    capacity: z.number().positive().optional(),
    leak: duration.optional(),
    threshold: z.number().int().min(1).max(100_000).optional(),
    window: duration.optional(),
    distinct: z.string().optional(),
    interval: duration.optional(),
    factor: z.number().positive().optional(),
    min: z.number().positive().optional(),
    warmup: z.number().int().min(0).optional(),
    new_key_cap: z.number().positive().optional(),
    peak_factor: z.number().positive().optional(),
    memory: duration.optional(),
    numerator: z.string().min(1).optional(),
    ratio: z.number().positive().max(1).optional(),
    blackhole: duration.optional(),
    persist: z.boolean().optional(),
    enabled: z.boolean().optional(),
    forgive: z
      .strictObject({
        filter: z.string().min(1),
        key: keySpec.optional(),
        for: duration,
      })
      .optional(),
    decision: z
      .strictObject({
        action: z.enum(ACTIONS as [Action, ...Action[]]),
        scope: z.enum(SCOPES as [Scope, ...Scope[]]).optional(),
        value: z.string().optional(),
        duration,
      })
      .optional(),
  })
  .superRefine((s, ctx) => {
    const need = (field: string, present: unknown): void => {
      if (present === undefined)
        ctx.addIssue({
          code: "custom",
          path: [field],
          message: `a ${s.kind} scenario needs "${field}"`,
        });
    };
    const required: Record<typeof s.kind, (keyof typeof s)[]> = {
      leaky: ["capacity", "leak"],
      window: ["threshold", "window"],
      distinct: ["threshold", "window", "distinct"],
      rate: ["interval"],
      ratio: ["window", "numerator", "ratio"],
      hours: [],
    };
    for (const field of required[s.kind]) need(field, s[field]);
  });

export type ScenarioDefinition = z.infer<typeof ScenarioSchema>;

/** The scope a key field names, for the decision it leads to. */
const SCOPE_OF_FIELD: Readonly<Record<string, Scope>> = {
  ip: "ip",
  ip24: "range",
  ip64: "range",
  ip48: "range",
  prefix: "range",
  wide_prefix: "range",
  account: "account",
  email: "email",
  domain: "domain",
  "fields.form": "form",
  "fields.fingerprint": "fingerprint",
};

export interface CompiledScenario {
  readonly name: string;
  readonly description: string;
  readonly spec: BucketSpec;
  /** Event types the filter can match, or undefined for any. */
  readonly types: readonly string[] | undefined;
  readonly filter: (e: Event) => boolean;
  readonly key: (e: Event) => string | undefined;
  readonly keyNames: readonly string[];
  readonly weight: ((e: Event) => number) | undefined;
  readonly distinct: Accessor | undefined;
  /** Ratio scenarios: whether an event counts toward the share that fires. */
  readonly numerator: ((e: Event) => boolean) | undefined;
  readonly blackholeMs: number;
  readonly persist: boolean;
  readonly forgive:
    | {
        readonly types: readonly string[] | undefined;
        readonly filter: (e: Event) => boolean;
        /** Keys from most to least specific; the event is checked on the most specific it has. */
        readonly levels: readonly ((e: Event) => string | undefined)[];
        readonly forMs: number;
      }
    | undefined;
  /** What the scenario's alerts are about: the decision's scope, or the key's. */
  readonly scope: Scope;
  readonly decision:
    | {
        readonly action: Action;
        readonly scope: Scope;
        readonly value: Accessor;
        readonly durationMs: number;
      }
    | undefined;
  /** The YAML it came from, for `explain`. */
  readonly source: string;
}

function keyFunction(
  names: readonly string[],
  where: string,
  problems: string[],
): (e: Event) => string | undefined {
  const parts: Accessor[] = [];
  for (const n of names) {
    const a = accessor(n);
    if (!a) problems.push(`${where}: unknown key field "${n}"`);
    else parts.push(a);
  }
  if (parts.length === 1) {
    const a = parts[0]!;
    return (e) => {
      const v = a(e);
      return v === undefined || v === null || v === "" ? undefined : String(v);
    };
  }
  return (e) => {
    let out = "";
    for (let i = 0; i < parts.length; i++) {
      const v = parts[i]!(e);
      if (v === undefined || v === null || v === "") return undefined;
      out = i === 0 ? String(v) : `${out}|${String(v)}`;
    }
    return out;
  };
}

/** Compiles a checked definition; returns the problems instead when an expression is wrong. */
export function compileScenario(
  def: ScenarioDefinition,
  source: string,
): { ok: true; value: CompiledScenario } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const filter = compileFilter(def.filter);
  if (!filter.ok)
    problems.push(`filter: ${filter.error.message} (column ${filter.error.column + 1})`);
  const keyNames = typeof def.key === "string" ? [def.key] : def.key;
  const key = keyFunction(keyNames, "key", problems);

  let weight: ((e: Event) => number) | undefined;
  if (def.weight !== undefined) {
    const w = compileExpression(def.weight);
    if (!w.ok) problems.push(`weight: ${w.error.message} (column ${w.error.column + 1})`);
    else {
      const f = w.value;
      weight = (e) => {
        const v = Number(f(e));
        return Number.isFinite(v) && v > 0 ? v : 1;
      };
    }
  }
  let distinct: Accessor | undefined;
  if (def.distinct !== undefined) {
    distinct = accessor(def.distinct);
    if (!distinct) problems.push(`distinct: unknown field "${def.distinct}"`);
  }

  let numerator: ((e: Event) => boolean) | undefined;
  if (def.numerator !== undefined) {
    const f = compileFilter(def.numerator);
    if (!f.ok) problems.push(`numerator: ${f.error.message} (column ${f.error.column + 1})`);
    else numerator = f.value;
  }

  let forgive: CompiledScenario["forgive"];
  if (def.forgive) {
    const f = compileFilter(def.forgive.filter);
    if (!f.ok) problems.push(`forgive.filter: ${f.error.message} (column ${f.error.column + 1})`);
    const names =
      def.forgive.key === undefined
        ? keyNames
        : typeof def.forgive.key === "string"
          ? [def.forgive.key]
          : def.forgive.key;
    const levels = names.map((_, i) =>
      keyFunction(names.slice(0, names.length - i), "forgive.key", problems),
    );
    if (f.ok)
      forgive = {
        types: pinnedTypes(def.forgive.filter),
        filter: f.value,
        levels,
        forMs: parseDuration(def.forgive.for)!,
      };
  }

  let decision: CompiledScenario["decision"];
  if (def.decision) {
    const valueName = def.decision.value ?? (keyNames.length === 1 ? keyNames[0]! : undefined);
    const scope =
      def.decision.scope ?? (valueName === undefined ? undefined : SCOPE_OF_FIELD[valueName]);
    const value = valueName === undefined ? undefined : accessor(valueName);
    if (valueName === undefined)
      problems.push(
        "decision.value: name the field whose value the decision is about (the key has several parts)",
      );
    else if (!value) problems.push(`decision.value: unknown field "${valueName}"`);
    if (scope === undefined)
      problems.push(
        `decision.scope: give the scope; it cannot be derived from "${valueName ?? "?"}"`,
      );
    if (value && scope)
      decision = {
        action: def.decision.action,
        scope,
        value,
        durationMs: parseDuration(def.decision.duration)!,
      };
  }

  const ms = (d: string | undefined): number => (d === undefined ? 0 : parseDuration(d)!);
  let spec: BucketSpec;
  switch (def.kind) {
    case "leaky":
      spec = { kind: "leaky", capacity: def.capacity!, leakMs: ms(def.leak) };
      break;
    case "window":
      spec = { kind: "window", threshold: def.threshold!, windowMs: ms(def.window) };
      break;
    case "distinct":
      spec = { kind: "distinct", threshold: def.threshold!, windowMs: ms(def.window) };
      break;
    case "rate":
      spec = {
        kind: "rate",
        intervalMs: ms(def.interval),
        factor: def.factor ?? 4,
        min: def.min ?? 10,
        warmup: def.warmup ?? 24,
        newKeyCap: def.new_key_cap,
        alpha: 0.1,
        peakFactor: def.peak_factor,
        memoryMs:
          def.memory === undefined
            ? ms(def.interval) * ((def.warmup ?? 24) * 4 + 1)
            : ms(def.memory),
      };
      break;
    case "ratio":
      spec = {
        kind: "ratio",
        ratio: def.ratio!,
        min: def.min ?? 20,
        windowMs: ms(def.window),
      };
      break;
    case "hours":
      spec = {
        kind: "hours",
        min: def.min ?? 10,
        warmup: def.warmup ?? 7,
        memoryMs: def.memory === undefined ? 30 * 86_400_000 : ms(def.memory),
      };
      break;
  }
  if (problems.length > 0 || !filter.ok) return { ok: false, problems };
  return {
    ok: true,
    value: Object.freeze({
      name: def.name,
      description: def.description,
      spec,
      types: pinnedTypes(def.filter),
      filter: filter.value,
      key,
      keyNames,
      weight,
      distinct,
      numerator,
      blackholeMs:
        def.blackhole === undefined
          ? decision
            ? Math.min(decision.durationMs, 60_000)
            : 60_000
          : ms(def.blackhole),
      persist:
        def.persist ??
        (spec.kind === "rate" ||
          spec.kind === "hours" ||
          ms(def.leak) >= 600_000 ||
          ms(def.window) >= 3_600_000),
      forgive,
      scope:
        decision?.scope ??
        (keyNames.length === 1 ? SCOPE_OF_FIELD[keyNames[0]!] : undefined) ??
        "fingerprint",
      decision,
      source,
    }),
  };
}

export type ScenarioLoad =
  { ok: true; scenarios: CompiledScenario[] } | { ok: false; problems: readonly Problem[] };

function compileAll(
  loaded: readonly { value: ScenarioDefinition; line: number }[],
  file: string,
  problems: Problem[],
  out: CompiledScenario[],
): void {
  for (const { value, line } of loaded) {
    if (value.enabled === false) continue;
    const c = compileScenario(value, `${file}:${line}`);
    if (c.ok) out.push(c.value);
    else for (const message of c.problems) problems.push({ file, line, path: value.name, message });
  }
}

/** Parses scenarios from YAML text (one or several documents). */
export function parseScenarios(text: string, file: string): ScenarioLoad {
  const r = parseYaml(text, file, ScenarioSchema);
  if (!r.ok) return { ok: false, problems: r.problems };
  const problems: Problem[] = [];
  const out: CompiledScenario[] = [];
  compileAll(r.values, file, problems, out);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, scenarios: out };
}

/** Loads every `*.yaml`/`*.yml` file of the given directories, in name order. Names must be unique. */
export async function loadScenarioDirs(dirs: readonly string[]): Promise<ScenarioLoad> {
  const problems: Problem[] = [];
  const out: CompiledScenario[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith(".yaml") || n.endsWith(".yml")).sort();
    } catch (e) {
      problems.push({
        file: dir,
        line: undefined,
        path: "",
        message: `cannot read the scenario directory (${(e as NodeJS.ErrnoException).code ?? "error"})`,
      });
      continue;
    }
    for (const name of names) {
      const file = join(dir, name);
      const r = await loadYamlFile(file, ScenarioSchema);
      if (!r.ok) problems.push(...r.problems);
      else compileAll(r.values, file, problems, out);
    }
  }
  const seen = new Map<string, string>();
  for (const s of out) {
    const other = seen.get(s.name);
    if (other !== undefined)
      problems.push({
        file: s.source,
        line: undefined,
        path: s.name,
        message: `scenario name already used at ${other}`,
      });
    seen.set(s.name, s.source);
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, scenarios: out };
}

/** Where the built-in scenarios live. */
export const BUILTIN_SCENARIO_DIR = new URL("./scenarios/", import.meta.url).pathname;
