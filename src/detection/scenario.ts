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
import { loadYamlFile, parseYaml, type LoadedValue, type Problem } from "../config/load-yaml.ts";
import type { BucketSpec } from "./buckets.ts";
import { compileExpression, compileFilter, pinnedTypes } from "./expression.ts";
import { accessor, type Accessor } from "./fields.ts";

const DURATION_TEXT = 'a duration such as "30s", "10m", "4h", "7d"';
const duration = z
  .string({ error: (iss) => (iss.input === undefined ? undefined : DURATION_TEXT) })
  .refine((s) => parseDuration(s) !== undefined, { message: DURATION_TEXT });
/** A window, a leak, an interval, a decision's length: zero would fire on every event. */
const span = duration.refine((s) => (parseDuration(s) ?? 1) > 0, {
  message: `${DURATION_TEXT}, longer than zero`,
});

type Kind = "leaky" | "window" | "distinct" | "rate" | "ratio" | "hours";
/** The settings each kind reads; another kind's would be silently ignored. */
const KIND_SETTINGS = {
  capacity: ["leaky"],
  leak: ["leaky"],
  threshold: ["window", "distinct"],
  window: ["window", "distinct", "ratio"],
  distinct: ["distinct"],
  interval: ["rate"],
  factor: ["rate"],
  new_key_cap: ["rate"],
  peak_factor: ["rate"],
  min: ["rate", "ratio", "hours"],
  warmup: ["rate", "hours"],
  memory: ["rate", "hours"],
  numerator: ["ratio"],
  ratio: ["ratio"],
} as const satisfies Record<string, readonly Kind[]>;

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
    leak: span.optional(),
    threshold: z.number().int().min(1).max(100_000).optional(),
    window: span.optional(),
    distinct: z.string().optional(),
    interval: span.optional(),
    factor: z.number().positive().optional(),
    min: z.number().positive().optional(),
    warmup: z.number().int().min(0).optional(),
    new_key_cap: z.number().positive().optional(),
    peak_factor: z.number().positive().optional(),
    memory: span.optional(),
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
        duration: span,
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
    const given: Readonly<Record<string, unknown>> = s;
    for (const [field, kinds] of Object.entries(KIND_SETTINGS) as [string, readonly Kind[]][])
      if (given[field] !== undefined && !kinds.includes(s.kind))
        ctx.addIssue({
          code: "custom",
          path: [field],
          message: `a ${s.kind} scenario does not use "${field}" (${kinds.join(", ")} scenarios do)`,
        });
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

/** A problem found when compiling a scenario, at a key path of its document. */
export interface CompileProblem {
  readonly at: readonly string[];
  readonly message: string;
}

function keyFunction(
  names: readonly string[],
  at: readonly string[],
  problems: CompileProblem[],
): (e: Event) => string | undefined {
  const parts: Accessor[] = [];
  for (const n of names) {
    const a = accessor(n);
    if (!a) problems.push({ at, message: `${at.join(".")}: unknown key field "${n}"` });
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
): { ok: true; value: CompiledScenario } | { ok: false; problems: CompileProblem[] } {
  const problems: CompileProblem[] = [];
  const problem = (at: readonly string[], message: string): void => {
    problems.push({ at, message: `${at.join(".")}: ${message}` });
  };
  const filter = compileFilter(def.filter);
  if (!filter.ok)
    problem(["filter"], `${filter.error.message} (column ${filter.error.column + 1})`);
  const keyNames = typeof def.key === "string" ? [def.key] : def.key;
  const key = keyFunction(keyNames, ["key"], problems);

  let weight: ((e: Event) => number) | undefined;
  if (def.weight !== undefined) {
    const w = compileExpression(def.weight);
    if (!w.ok) problem(["weight"], `${w.error.message} (column ${w.error.column + 1})`);
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
    if (!distinct) problem(["distinct"], `unknown field "${def.distinct}"`);
  }

  let numerator: ((e: Event) => boolean) | undefined;
  if (def.numerator !== undefined) {
    const f = compileFilter(def.numerator);
    if (!f.ok) problem(["numerator"], `${f.error.message} (column ${f.error.column + 1})`);
    else numerator = f.value;
  }

  let forgive: CompiledScenario["forgive"];
  if (def.forgive) {
    const f = compileFilter(def.forgive.filter);
    if (!f.ok) problem(["forgive", "filter"], `${f.error.message} (column ${f.error.column + 1})`);
    const names =
      def.forgive.key === undefined
        ? keyNames
        : typeof def.forgive.key === "string"
          ? [def.forgive.key]
          : def.forgive.key;
    const levels = names.map((_, i) =>
      keyFunction(names.slice(0, names.length - i), ["forgive", "key"], problems),
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
      problem(
        ["decision", "value"],
        "name the field whose value the decision is about (the key has several parts)",
      );
    else if (!value) problem(["decision", "value"], `unknown field "${valueName}"`);
    if (scope === undefined)
      problem(
        ["decision", "scope"],
        `give the scope; it cannot be derived from "${valueName ?? "?"}"`,
      );
    else if (valueName !== undefined) {
      // The value must be of the scope's kind: an account is no address, a /24 no account.
      const natural = SCOPE_OF_FIELD[valueName];
      if (natural !== undefined && natural !== scope && !(natural === "ip" && scope === "range"))
        problem(
          ["decision", "scope"],
          `the field "${valueName}" is of scope ${natural}, not ${scope}: give scope ${natural}, or a value field of scope ${scope}`,
        );
    }
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
  loaded: readonly LoadedValue<ScenarioDefinition>[],
  file: string,
  problems: Problem[],
  out: CompiledScenario[],
): void {
  for (const { value, line, lineAt } of loaded) {
    if (value.enabled === false) continue;
    const c = compileScenario(value, `${file}:${line}`);
    if (c.ok) out.push(c.value);
    else
      for (const p of c.problems)
        problems.push({ file, line: lineAt(p.at), path: value.name, message: p.message });
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
