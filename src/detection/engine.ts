/**
 * The scenario engine. Single-threaded and synchronous on purpose: one event in, zero or more
 * triggers out, with time read only from the events themselves (replay equals live).
 */
import {
  detach,
  type AlertEvidence,
  type DetectionStateRecord,
  type Event,
} from "../core/index.ts";
import { add, expiresAt, learnsUntil, load, newState, type BucketState } from "./buckets.ts";
import type { CompiledScenario } from "./scenario.ts";

/** A scenario crossed its threshold for one key. */
export interface Trigger {
  readonly scenario: CompiledScenario;
  readonly key: string;
  /** The event that made it fire. */
  readonly event: Event;
  readonly count: number;
  readonly detail: string;
  readonly evidence: readonly AlertEvidence[];
}

export interface EngineOptions {
  /** Most keys one scenario keeps; past it the least loaded are evicted. */
  readonly maxKeysPerScenario?: number;
  /** How often (event time) expired state is collected. */
  readonly sweepEveryMs?: number;
  /** Record which keys changed, so a checkpoint writes only those (live mode). */
  readonly trackChanges?: boolean;
}

interface Slot {
  readonly sc: CompiledScenario;
  readonly states: Map<string, BucketState>;
  readonly forgiven: Map<string, number>;
  readonly changed: Set<string> | undefined;
}

/** In a slot's changed keys (in memory only): the key's forgiveness changed, not its state. */
const FORGIVEN = "\u0000forgiven:";
/**
 * Forgiveness is stored under the scenario's name with this suffix (a scenario name has no
 * "#"), the key as it is. Before, the key carried FORGIVEN: a NUL, which PostgreSQL refuses.
 */
const FORGIVEN_SUFFIX = "#forgiven";

export class DetectionEngine {
  readonly #slots: Slot[];
  readonly #byType = new Map<string, Slot[]>();
  readonly #anyType: Slot[] = [];
  readonly #forgiveByType = new Map<string, Slot[]>();
  readonly #forgiveAnyType: Slot[] = [];
  readonly #maxKeys: number;
  readonly #sweepEvery: number;
  #nextSweep = 0;
  #evicted = 0;

  constructor(scenarios: readonly CompiledScenario[], options: EngineOptions = {}) {
    this.#maxKeys = options.maxKeysPerScenario ?? 100_000;
    this.#sweepEvery = options.sweepEveryMs ?? 300_000;
    this.#slots = scenarios.map((sc) => ({
      sc,
      states: new Map(),
      forgiven: new Map(),
      changed: options.trackChanges === true && sc.persist ? new Set<string>() : undefined,
    }));
    for (const slot of this.#slots) {
      index(slot, slot.sc.types, this.#byType, this.#anyType);
      if (slot.sc.forgive)
        index(slot, slot.sc.forgive.types, this.#forgiveByType, this.#forgiveAnyType);
    }
  }

  get scenarios(): readonly CompiledScenario[] {
    return this.#slots.map((s) => s.sc);
  }

  /** The scenarios an event of this type is offered to (for `explain`). */
  scenariosFor(
    e: Event,
  ): { scenario: CompiledScenario; matches: boolean; key: string | undefined }[] {
    return [...(this.#byType.get(e.type) ?? []), ...this.#anyType].map((s) => ({
      scenario: s.sc,
      matches: s.sc.filter(e),
      key: s.sc.key(e),
    }));
  }

  /** Counts one event; pushes what fired into `out`. */
  process(e: Event, out: Trigger[]): void {
    const t = e.time;
    if (t >= this.#nextSweep) {
      if (this.#nextSweep !== 0) this.sweep(t);
      this.#nextSweep = t + this.#sweepEvery;
    }
    const forgivers = this.#forgiveByType.get(e.type);
    if (forgivers) for (const slot of forgivers) this.#forgive(slot, e);
    for (const slot of this.#forgiveAnyType) this.#forgive(slot, e);
    const slots = this.#byType.get(e.type);
    if (slots) for (const slot of slots) this.#count(slot, e, out);
    for (const slot of this.#anyType) this.#count(slot, e, out);
  }

  #forgive(slot: Slot, e: Event): void {
    const f = slot.sc.forgive!;
    if (!f.filter(e)) return;
    const until = e.time + f.forMs;
    for (const level of f.levels) {
      const k = level(e);
      if (k === undefined) continue;
      if (slot.forgiven.has(k)) slot.forgiven.set(k, until);
      else slot.forgiven.set(detach(k), until);
      slot.changed?.add(FORGIVEN + k);
    }
    const key = slot.sc.key(e);
    if (key !== undefined && slot.states.delete(key)) slot.changed?.add(key);
  }

  #count(slot: Slot, e: Event, out: Trigger[]): void {
    const sc = slot.sc;
    if (!sc.filter(e)) return;
    const key = sc.key(e);
    if (key === undefined) return;
    const t = e.time;
    if (slot.forgiven.size > 0 && sc.forgive) {
      for (const level of sc.forgive.levels) {
        const k = level(e);
        if (k === undefined) continue;
        const until = slot.forgiven.get(k);
        if (until !== undefined && until > t) return;
        break; // judged on the most specific key the event has
      }
    }
    let s = slot.states.get(key);
    if (s === undefined) {
      s = newState(sc.spec, t);
      slot.states.set(detach(key), s);
      if (slot.states.size > this.#maxKeys) this.#shrink(slot, t);
    }
    // Silenced after firing: leaky, window, distinct and ratio keys ignore events meanwhile;
    // rate and hours keep counting (the interval's total is their history) and only refrain
    // from firing until the interval ends.
    const silenced = s.bh > t;
    if (silenced && learnsUntil(sc.spec, s) === undefined) return;
    slot.changed?.add(key);
    const d = sc.distinct ? sc.distinct(e) : undefined;
    const o = add(
      sc.spec,
      s,
      t,
      sc.weight ? sc.weight(e) : 1,
      d === undefined || d === null ? undefined : String(d),
      e.id,
      sc.numerator ? sc.numerator(e) : false,
    );
    if (!o || silenced) return;
    s.bh = learnsUntil(sc.spec, s) ?? t + sc.blackholeMs;
    const evidence: AlertEvidence[] = [];
    for (let i = 0; i < s.ev.length; i++) evidence.push({ event: s.ev[i]!, time: s.et[i]! });
    evidence.sort((a, b) => a.time - b.time);
    s.ev = [];
    s.et = [];
    out.push({ scenario: sc, key, event: e, count: o.count, detail: o.detail, evidence });
  }

  /** Drops state that carries no more information; called as event time passes. */
  sweep(now: number): void {
    for (const slot of this.#slots) {
      for (const [k, s] of slot.states) {
        if (expiresAt(slot.sc.spec, s) <= now) {
          slot.states.delete(k);
          slot.changed?.add(k);
        }
      }
      for (const [k, until] of slot.forgiven) {
        if (until <= now) {
          slot.forgiven.delete(k);
          slot.changed?.add(FORGIVEN + k);
        }
      }
    }
  }

  /** Keeps a scenario under its key budget: collect, then evict the least loaded, oldest first. */
  #shrink(slot: Slot, now: number): void {
    this.sweep(now);
    const target = Math.floor(this.#maxKeys * 0.9);
    if (slot.states.size <= target) return;
    for (const pass of [0.5, Infinity]) {
      for (const [k, s] of slot.states) {
        if (slot.states.size <= target) return;
        if (load(slot.sc.spec, s) < pass) {
          slot.states.delete(k);
          slot.changed?.add(k);
          this.#evicted++;
        }
      }
    }
  }

  /** Keys held, per scenario, and how many were evicted for lack of room. */
  stats(): { keys: Record<string, number>; forgiven: number; evicted: number } {
    const keys: Record<string, number> = {};
    let forgiven = 0;
    for (const s of this.#slots) {
      keys[s.sc.name] = s.states.size;
      forgiven += s.forgiven.size;
    }
    return { keys, forgiven, evicted: this.#evicted };
  }

  /**
   * The state that changed since the last call, as storage records (an empty `state` deletes
   * the key). Only with `trackChanges`.
   */
  takeChanges(): DetectionStateRecord[] {
    const out: DetectionStateRecord[] = [];
    for (const slot of this.#slots) {
      if (!slot.changed || slot.changed.size === 0) continue;
      for (const k of slot.changed) {
        if (k.startsWith(FORGIVEN)) {
          const key = k.slice(FORGIVEN.length);
          const until = slot.forgiven.get(key);
          out.push({
            scenario: slot.sc.name + FORGIVEN_SUFFIX,
            key,
            state: until === undefined ? "" : String(until),
            expiresAt: until ?? 0,
          });
          continue;
        }
        const s = slot.states.get(k);
        out.push(
          s === undefined
            ? { scenario: slot.sc.name, key: k, state: "", expiresAt: 0 }
            : {
                scenario: slot.sc.name,
                key: k,
                state: JSON.stringify(s),
                expiresAt: expiresAt(slot.sc.spec, s),
              },
        );
      }
      slot.changed.clear();
    }
    return out;
  }

  /** Loads state saved by `takeChanges` (after a restart). Unknown scenarios are ignored. */
  restore(records: readonly DetectionStateRecord[]): number {
    const byName = new Map(this.#slots.map((s) => [s.sc.name, s]));
    let n = 0;
    for (const r of records) {
      if (r.state === "") continue;
      if (r.scenario.endsWith(FORGIVEN_SUFFIX)) {
        const slot = byName.get(r.scenario.slice(0, -FORGIVEN_SUFFIX.length));
        if (slot) {
          slot.forgiven.set(r.key, Number(r.state));
          n++;
        }
        continue;
      }
      const slot = byName.get(r.scenario);
      if (!slot) continue;
      if (r.key.startsWith(FORGIVEN)) {
        slot.forgiven.set(r.key.slice(FORGIVEN.length), Number(r.state));
        n++;
        continue;
      }
      try {
        const s = JSON.parse(r.state) as BucketState;
        if (s.k === slot.sc.spec.kind) {
          slot.states.set(r.key, s);
          n++;
        }
      } catch {
        // A state written by another version: starting that key over is the safe outcome.
      }
    }
    return n;
  }
}

function index(
  slot: Slot,
  types: readonly string[] | undefined,
  byType: Map<string, Slot[]>,
  any: Slot[],
): void {
  if (types === undefined) {
    any.push(slot);
    return;
  }
  for (const t of types) {
    const list = byType.get(t);
    if (list) list.push(slot);
    else byType.set(t, [slot]);
  }
}
