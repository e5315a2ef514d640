/**
 * Surge detection per form and per HTTP route: the rate against its learned baseline, the share
 * of first-seen addresses, the concentration by /24 (/48) and AS; the under-attack mode the
 * guard reads, and the decisions on the networks and addresses that carry the surge.
 *
 * Synchronous, time read only from the events (replay equals live), memory bounded by the
 * configured caps. The baselines are checkpointed with the daemon's detection state
 * (`takeChanges`, `restore`); a surge in progress and the addresses seen are not: after a
 * restart a surge is found again within an interval, and addresses are new to it once more.
 */
import type { Action, DetectionStateRecord, Event, Finding } from "../../core/index.ts";
import { formatDuration, formatTime, parseDuration } from "../../core/index.ts";
import { ipPrefix } from "../../net/index.ts";
import type { AsLookup } from "../ports.ts";
import { hitsOf, NO_AS, packHits, SurgeAddresses, unpackHits } from "./addresses.ts";
import { RouteNormalizer } from "./route.ts";
import type { SurgeConfig } from "./surge-config.ts";

/** What a surge is measured on: a form (`form:petition`) or an HTTP route (`route:/search`). */
export type SurgeTarget = `form:${string}` | `route:${string}`;

export interface ConcentratedNetwork {
  readonly scope: "range" | "as";
  /** `203.0.113.0/24`, `2001:db8:1::/48`, or the AS number as text. */
  readonly value: string;
  /** Its share of the target's hits over the last interval or two. */
  readonly share: number;
}

export interface SurgeMode {
  readonly underAttack: boolean;
  /** When the surge began (event time). */
  readonly since?: number;
  /** The networks carrying the surge; empty when it is spread. */
  readonly concentrated: readonly ConcentratedNetwork[];
  /** Whether the concentrated networks carry most of the surge (else everyone is suspect). */
  readonly isConcentrated: boolean;
}

/**
 * The guard's question for one submission or request: `concentrated-network` (its network
 * carries the surge: challenge it), `under-attack` (the target is flooded from everywhere:
 * challenge everyone), or `normal`.
 */
export type SurgeClass = "normal" | "concentrated-network" | "under-attack";

/** What the detector reports: the pipeline's `Finding` (src/core/ports.ts). */
export type SurgeFinding = Finding;

/** Name of the alerts and decisions this detector raises. */
export const SURGE_NAME = "surge";

/** The `scenario` of its checkpoint records: no scenario file can be named so. */
export const SURGE_RECORD = "#surge-baseline";
/** The name baselines were saved under before (a NUL, which PostgreSQL's text refuses). */
const LEGACY_SURGE_RECORD = "\u0000surge-baseline";

/** What a target's checkpoint holds: its learned baseline, nothing of a surge in progress. */
interface SavedBaseline {
  readonly v: 1;
  readonly start: number;
  readonly base: number;
  readonly hist: number;
  readonly last: number;
  readonly asTotal: number;
  /** [asn, decayed hits], the largest first. */
  readonly as: readonly (readonly [number, number])[];
}

/** How many ASes of a target's baseline a checkpoint keeps. */
const SAVED_ASES = 500;

const NOT_UNDER_ATTACK: SurgeMode = Object.freeze({
  underAttack: false,
  concentrated: Object.freeze([]),
  isConcentrated: false,
});

interface Target {
  readonly key: SurgeTarget;
  readonly form: boolean;
  start: number;
  cur: number;
  base: number;
  hist: number;
  last: number;
  attack: boolean;
  since: number;
  calm: number;
  /** Address id → hits, this interval and the previous one (`hitsOf`). */
  hits: Map<number, number>;
  prev: Map<number, number>;
  /** `hits` and `prev` by network and AS, kept while under attack (see `Tallies`). */
  tallies: Tallies | undefined;
  /** Decayed hits per AS before the surge, and their total. */
  asBase: Map<number, number>;
  asTotal: number;
  mode: SurgeMode;
  ranges: Set<string>;
  asns: Set<number>;
  /** Network decisions already asked for, until when. */
  decided: Map<string, number>;
  nextEval: number;
}

interface Settings {
  readonly intervalMs: number;
  readonly cooldownMs: number;
  readonly evaluateMs: number;
  readonly graceMs: number;
  readonly knownMs: number;
  readonly asMemoryMs: number;
  readonly addressWindowMs: number;
  readonly rangeMs: number;
  readonly asMs: number;
  readonly addressMs: number;
}

const ms = (d: string): number => parseDuration(d)!;
/** Most distinct addresses one target counts per interval (more are counted, not told apart). */
const MAX_INTERVAL_ADDRESSES = 50_000;
const MAX_AS_BASELINE = 5_000;
const SWEEP_MS = 600_000;
const OTHER_ROUTE: SurgeTarget = "route:(other)";
/**
 * Requests for paths that do not exist (404, 410), together: a scanner's thousand paths are
 * not a thousand routes, which would fill `max_targets` for `known_for` and push every route
 * and form seen after them into `(other)`. A flood of them still surges here.
 */
const NOT_FOUND_ROUTE: SurgeTarget = "route:(not found)";
const notFound = (e: Event): boolean => {
  const s = e.fields.status;
  return s === 404 || s === 410;
};

export class SurgeDetector {
  readonly #c: SurgeConfig;
  readonly #s: Settings;
  readonly #as: AsLookup | undefined;
  readonly #routes: RouteNormalizer;
  readonly #targets = new Map<SurgeTarget, Target>();
  readonly #addrs: SurgeAddresses;
  readonly #lookupAs = (ip: string): number => this.#as?.lookup(ip)?.asn ?? NO_AS;
  /** Targets whose baseline moved since the last `takeChanges`. */
  readonly #changed = new Set<SurgeTarget>();
  #nextSweep = 0;

  constructor(config: SurgeConfig, asLookup?: AsLookup) {
    this.#c = config;
    this.#as = asLookup;
    this.#routes = new RouteNormalizer(config.routes, config.static_extensions);
    this.#s = Object.freeze({
      intervalMs: ms(config.interval),
      cooldownMs: ms(config.cooldown),
      evaluateMs: ms(config.evaluate_every),
      graceMs: ms(config.first_seen_grace),
      knownMs: ms(config.known_for),
      asMemoryMs: ms(config.as.baseline_memory),
      addressWindowMs: ms(config.address.window),
      rangeMs: ms(config.range.duration),
      asMs: ms(config.as.duration),
      addressMs: ms(config.address.duration),
    });
    this.#addrs = new SurgeAddresses(
      config.max_addresses,
      this.#s.addressWindowMs,
      this.#s.knownMs,
    );
  }

  /** The target an event counts for, or undefined (static assets, other event types). */
  targetOf(e: Event): SurgeTarget | undefined {
    if (e.type === "http.request") {
      const p = e.fields.path;
      if (typeof p !== "string") return undefined;
      const r = this.#routes.of(p);
      if (r.kind !== "page") return undefined;
      return notFound(e) ? NOT_FOUND_ROUTE : `route:${r.route}`;
    }
    if (e.type === "form.submit" || e.type === "signup") {
      const f = e.fields.form;
      return typeof f === "string" && f !== "" ? `form:${f}` : undefined;
    }
    return undefined;
  }

  /** Counts one event; pushes alerts and decision wishes into `out`. */
  process(e: Event, out: SurgeFinding[]): void {
    const ip = e.ip;
    if (ip === undefined || !this.#c.enabled) return;
    const t = e.time;
    if (t >= this.#nextSweep) {
      if (this.#nextSweep !== 0) this.sweep(t);
      this.#nextSweep = t + SWEEP_MS;
    }
    let key: SurgeTarget;
    if (e.type === "http.request") {
      const p = e.fields.path;
      if (typeof p !== "string") return;
      const r = this.#routes.of(p);
      if (r.kind === "static") {
        this.#addrs.addAsset(this.#addrs.touch(ip, t));
        return;
      }
      key = notFound(e) ? NOT_FOUND_ROUTE : `route:${r.route}`;
    } else if (e.type === "form.submit" || e.type === "signup") {
      const f = e.fields.form;
      if (typeof f !== "string" || f === "") return;
      key = `form:${f}`;
    } else return;

    const addrs = this.#addrs;
    const a = addrs.touch(ip, t);
    addrs.addPage(a);
    const gen = addrs.generation(a);
    const tg = this.#target(key, t);
    this.#roll(tg, t, e, out);
    tg.cur++;
    tg.last = t;
    const h = hitsOf(tg.hits, a, gen);
    const added = h === 0;
    if (!added || tg.hits.size < MAX_INTERVAL_ADDRESSES) {
      tg.hits.set(a, packHits(h + 1, gen));
      const tallies = tg.tallies;
      if (tallies !== undefined) {
        const inPrev = added && hitsOf(tg.prev, a, gen) > 0;
        tallies.hit(networkOf(ip), this.#asnOf(a, ip), addrs.first(a), 1, added, inPrev);
      }
    }

    if (!tg.attack && this.#surging(tg)) this.#begin(tg, e, out);
    if (!tg.attack) return;
    const surge = addrs.addSurge(a);
    if (this.#c.address.enabled && addrs.flaggedUntil(a) <= t && this.#marked(tg, a)) {
      addrs.flag(a, t + this.#s.addressMs);
      const ad = this.#c.address;
      out.push({
        name: SURGE_NAME,
        scope: "ip",
        value: ip,
        at: t,
        tzOffset: e.tzOffset,
        count: surge,
        reason: tg.form
          ? `${tg.key} under attack: ${surge} submissions from an address first seen in the surge`
          : `${tg.key} under attack: ${surge} hits on routes under attack, ${addrs.assets(a)} assets, of ${addrs.pages(a)} pages, from an address first seen in the surge`,
        evidence: [{ event: e.id, time: t, ip }],
        decision: { action: ad.action, scope: "ip", value: ip, durationMs: this.#s.addressMs },
      });
    }
    if (t >= tg.nextEval) this.#evaluate(tg, e, out);
  }

  /** The target's mode at `now` (a target, or a bare form id: `petition` is `form:petition`). */
  mode(target: string, now: number): SurgeMode {
    const tg = this.#targets.get(targetKey(target));
    if (tg === undefined || !tg.attack || now - tg.last > this.#s.cooldownMs)
      return NOT_UNDER_ATTACK;
    return tg.mode;
  }

  /**
   * Cheap (two set look-ups): runs on every assessment. `target` as for `mode`; `asn` from the
   * guard's AS look-up.
   */
  classify(target: string, ip: string, asn: number | undefined, now: number): SurgeClass {
    const tg = this.#targets.get(targetKey(target));
    if (tg === undefined || !tg.attack || now - tg.last > this.#s.cooldownMs) return "normal";
    if (asn !== undefined && tg.asns.has(asn)) return "concentrated-network";
    if (tg.ranges.size > 0 && tg.ranges.has(networkOf(ip))) return "concentrated-network";
    return tg.mode.isConcentrated ? "normal" : "under-attack";
  }

  /** Sizes, for metrics and the memory benchmark. */
  stats(): { targets: number; addresses: number; underAttack: SurgeTarget[] } {
    return {
      targets: this.#targets.size,
      addresses: this.#addrs.size,
      underAttack: [...this.#targets.values()].filter((t) => t.attack).map((t) => t.key),
    };
  }

  /**
   * The baselines that moved since the last call, as detection-state records (an empty
   * `state` deletes the target's record). The daemon commits them with the scenarios' state.
   */
  takeChanges(): DetectionStateRecord[] {
    const out: DetectionStateRecord[] = [];
    for (const key of this.#changed) {
      const tg = this.#targets.get(key);
      if (tg === undefined) {
        out.push({ scenario: SURGE_RECORD, key, state: "", expiresAt: 0 });
        continue;
      }
      const saved: SavedBaseline = {
        v: 1,
        start: tg.start,
        base: tg.base,
        hist: tg.hist,
        last: tg.last,
        asTotal: tg.asTotal,
        as: [...tg.asBase].sort((x, y) => y[1] - x[1]).slice(0, SAVED_ASES),
      };
      out.push({
        scenario: SURGE_RECORD,
        key,
        state: JSON.stringify(saved),
        // Kept as long as the target itself would be (swept after `known_for` idle).
        expiresAt: tg.last + this.#s.knownMs,
      });
    }
    this.#changed.clear();
    return out;
  }

  /** Loads baselines saved by `takeChanges`; other records and unreadable ones are skipped. */
  restore(records: readonly DetectionStateRecord[]): number {
    let n = 0;
    for (const r of records) {
      if ((r.scenario !== SURGE_RECORD && r.scenario !== LEGACY_SURGE_RECORD) || r.state === "")
        continue;
      if (!r.key.startsWith("form:") && !r.key.startsWith("route:")) continue;
      let saved: SavedBaseline;
      try {
        saved = JSON.parse(r.state) as SavedBaseline;
      } catch {
        continue;
      }
      if (saved.v !== 1 || !Number.isFinite(saved.base) || !Number.isFinite(saved.start)) continue;
      const tg = this.#target(r.key as SurgeTarget, saved.start);
      tg.start = saved.start;
      tg.base = saved.base;
      tg.hist = saved.hist;
      tg.last = saved.last;
      tg.asTotal = saved.asTotal;
      tg.asBase = new Map(saved.as.map(([asn, v]) => [asn, v] as [number, number]));
      n++;
    }
    return n;
  }

  /** Forgets addresses not seen for `known_for`, idle targets and expired network marks. */
  sweep(now: number): void {
    const horizon = now - this.#s.knownMs;
    this.#addrs.sweep(horizon);
    for (const [k, tg] of this.#targets) {
      if (tg.last < horizon) {
        this.#targets.delete(k);
        this.#changed.add(k);
        continue;
      }
      for (const [n, until] of tg.decided) if (until <= now) tg.decided.delete(n);
    }
  }

  #target(key: SurgeTarget, t: number): Target {
    let tg = this.#targets.get(key);
    if (tg !== undefined) return tg;
    // Forms are the application's own, few and named on purpose: only routes fold.
    if (this.#targets.size >= this.#c.max_targets && !key.startsWith("form:")) {
      tg = this.#targets.get(OTHER_ROUTE);
      if (tg !== undefined) return tg;
      key = OTHER_ROUTE;
    }
    tg = {
      key,
      form: key.startsWith("form:"),
      start: t - (t % this.#s.intervalMs),
      cur: 0,
      base: 0,
      hist: 0,
      last: t,
      attack: false,
      since: 0,
      calm: 0,
      hits: new Map(),
      prev: new Map(),
      tallies: undefined,
      asBase: new Map(),
      asTotal: 0,
      mode: NOT_UNDER_ATTACK,
      ranges: new Set(),
      asns: new Set(),
      decided: new Map(),
      nextEval: 0,
    };
    this.#targets.set(key, tg);
    return tg;
  }

  /** Closes the intervals that ended before `t`: the baseline learns, or the surge may end. */
  #roll(tg: Target, t: number, e: Event, out: SurgeFinding[]): void {
    const iv = this.#s.intervalMs;
    if (t < tg.start + iv) return;
    const steps = Math.floor((t - tg.start) / iv);
    const closed = tg.cur;
    if (!tg.attack) {
      const alpha = this.#c.alpha;
      for (let k = 0; k < Math.min(steps, 500); k++) {
        const c = k === 0 ? closed : 0;
        tg.base = tg.hist === 0 ? c : tg.base * (1 - alpha) + c * alpha;
        tg.hist++;
      }
      this.#learnAs(tg, steps);
      this.#changed.add(tg.key);
    } else {
      const calmBelow = this.#c.end_factor * Math.max(tg.base, this.#c.min_rate / this.#c.factor);
      if (closed < calmBelow || steps > 1) {
        if (tg.calm === 0) tg.calm = closed < calmBelow ? tg.start : tg.start + iv;
        if (t - tg.calm >= this.#s.cooldownMs) this.#end(tg, t, e, out);
      } else tg.calm = 0;
    }
    const old = tg.prev;
    tg.prev = steps === 1 ? tg.hits : old;
    if (steps === 1) {
      old.clear();
      tg.hits = old;
    } else {
      tg.prev.clear();
      tg.hits.clear();
    }
    tg.tallies?.roll(steps === 1);
    tg.start += steps * iv;
    tg.cur = 0;
  }

  /** Each AS's share of the target's traffic, learned outside surges with a half-life. */
  #learnAs(tg: Target, steps: number): void {
    const as = this.#as;
    if (as === undefined || !this.#c.as.enabled) return;
    const fade = 0.5 ** ((steps * this.#s.intervalMs) / this.#s.asMemoryMs);
    tg.asTotal *= fade;
    for (const [n, v] of tg.asBase) tg.asBase.set(n, v * fade);
    const addrs = this.#addrs;
    for (const [a, v] of tg.hits) {
      const h = unpackHits(v, addrs.generation(a));
      if (h === 0) continue;
      const asn = this.#asnOf(a);
      if (asn >= 0) tg.asBase.set(asn, (tg.asBase.get(asn) ?? 0) + h);
    }
    tg.asTotal += tg.cur;
    if (tg.asBase.size > MAX_AS_BASELINE) {
      const kept = [...tg.asBase].sort((x, y) => y[1] - x[1]).slice(0, MAX_AS_BASELINE * 0.8);
      tg.asBase = new Map(kept);
    }
  }

  #surging(tg: Target): boolean {
    const c = this.#c;
    if (tg.hist < c.warmup) return tg.cur >= c.new_target_rate;
    return tg.cur >= c.min_rate && tg.cur > c.factor * tg.base;
  }

  #begin(tg: Target, e: Event, out: SurgeFinding[]): void {
    tg.attack = true;
    tg.since = e.time;
    tg.calm = 0;
    tg.nextEval = 0;
    // Counted from the maps once; from now on as the hits come.
    const tallies = new Tallies(tg.since - this.#s.graceMs, {
      netHits: Math.ceil(this.#c.range.min_hits / 2),
      asAddrs: Math.ceil(this.#c.as.min_addresses / 2),
    });
    const addrs = this.#addrs;
    for (const [a, v] of tg.prev) {
      const h = unpackHits(v, addrs.generation(a));
      if (h === 0) continue;
      const ip = addrs.ip(a);
      tallies.before(networkOf(ip), this.#asnOf(a, ip), addrs.first(a), h);
    }
    for (const [a, v] of tg.hits) {
      const gen = addrs.generation(a);
      const h = unpackHits(v, gen);
      if (h === 0) continue;
      const ip = addrs.ip(a);
      const inPrev = hitsOf(tg.prev, a, gen) > 0;
      tallies.hit(networkOf(ip), this.#asnOf(a, ip), addrs.first(a), h, true, inPrev);
    }
    tg.tallies = tallies;
    const usual = tg.hist < this.#c.warmup ? "little history" : `a usual ${tg.base.toFixed(1)}`;
    out.push({
      name: SURGE_NAME,
      scope: "form",
      value: tg.key,
      at: e.time,
      tzOffset: e.tzOffset,
      count: tg.cur,
      reason: `${tg.key} under attack: ${tg.cur} hits this ${formatDuration(this.#s.intervalMs)} against ${usual}`,
      evidence: [{ event: e.id, time: e.time, ...(e.ip === undefined ? {} : { ip: e.ip }) }],
    });
  }

  #end(tg: Target, t: number, e: Event, out: SurgeFinding[]): void {
    out.push({
      name: SURGE_NAME,
      scope: "form",
      value: tg.key,
      at: t,
      tzOffset: e.tzOffset,
      count: 0,
      reason: `${tg.key} no longer under attack (since ${formatTime(tg.since, e.tzOffset)}): back under ${this.#c.end_factor} × its usual rate for ${formatDuration(this.#s.cooldownMs)}`,
      evidence: [],
    });
    tg.attack = false;
    tg.calm = 0;
    tg.tallies = undefined;
    tg.mode = NOT_UNDER_ATTACK;
    tg.ranges = new Set();
    tg.asns = new Set();
  }

  /** Whether an address's behaviour during the surge marks it: first seen, and only the target. */
  #marked(tg: Target, a: number): boolean {
    const addrs = this.#addrs;
    if (addrs.first(a) < tg.since - this.#s.graceMs) return false;
    const c = this.#c.address;
    const surge = addrs.surge(a);
    if (tg.form) return surge >= c.min_form_hits;
    return (
      surge >= c.min_hits &&
      addrs.assets(a) <= c.max_assets &&
      surge >= c.min_surge_share * addrs.pages(a)
    );
  }

  /**
   * Measures the concentration over this interval and the last; asks for network decisions.
   * Reads the tallies kept as the hits came: its cost follows the networks and ASes seen, not
   * the addresses (a flood from 100,000 addresses in a few networks is measured in a few steps).
   */
  #evaluate(tg: Target, e: Event, out: SurgeFinding[]): void {
    const t = e.time;
    tg.nextEval = t + this.#s.evaluateMs;
    const tallies = tg.tallies!;
    const total = tallies.total();
    if (total === 0) return;

    const concentrated: ConcentratedNetwork[] = [];
    const ranges = new Set<string>();
    const asSet = new Set<number>();
    const rc = this.#c.range;
    if (rc.enabled) {
      tallies.forEachNet((net, n) => {
        if (n.hits < rc.min_hits || n.addrs < rc.min_addresses) return;
        if (n.fresh < rc.min_first_seen * n.addrs) return;
        ranges.add(net);
        concentrated.push({ scope: "range", value: net, share: n.hits / total });
        this.#network(tg, e, out, "range", net, n, total, rc.action, this.#s.rangeMs, "");
      });
    }
    const ac = this.#c.as;
    if (ac.enabled && this.#as !== undefined && tg.asTotal >= ac.min_baseline_hits) {
      tallies.forEachAs((asn, n) => {
        const baseShare = (tg.asBase.get(asn) ?? 0) / tg.asTotal;
        if (n.hits < ac.min_share * total || n.addrs < ac.min_addresses) return;
        if (n.fresh < ac.min_first_seen * n.addrs || baseShare > ac.max_baseline_share) return;
        asSet.add(asn);
        concentrated.push({ scope: "as", value: String(asn), share: n.hits / total });
        const why = `, ${(baseShare * 100).toFixed(2)} % of the usual traffic`;
        this.#network(tg, e, out, "as", String(asn), n, total, ac.action, this.#s.asMs, why);
      });
    }
    const covered = concentrated.length > 0 ? tallies.covered(ranges, asSet) : 0;
    concentrated.sort((x, y) => y.share - x.share);
    tg.ranges = ranges;
    tg.asns = asSet;
    tg.mode = Object.freeze({
      underAttack: true,
      since: tg.since,
      concentrated: Object.freeze(concentrated),
      isConcentrated: covered >= this.#c.concentrated_cover * total,
    });
  }

  /** An address's AS number, or `NO_AS`: looked up once (with `ip`, when the caller holds it). */
  #asnOf(a: number, ip?: string): number {
    return this.#addrs.asn(a, this.#lookupAs, ip);
  }

  #network(
    tg: Target,
    e: Event,
    out: SurgeFinding[],
    scope: "range" | "as",
    value: string,
    n: NetCount,
    total: number,
    action: Action,
    durationMs: number,
    why: string,
  ): void {
    const k = `${scope}:${value}`;
    if ((tg.decided.get(k) ?? 0) > e.time) return;
    tg.decided.set(k, e.time + durationMs);
    const pct = ((n.hits / total) * 100).toFixed(1);
    const fresh = Math.round((n.fresh / n.addrs) * 100);
    out.push({
      name: SURGE_NAME,
      scope,
      value,
      at: e.time,
      tzOffset: e.tzOffset,
      count: n.hits,
      reason: `${tg.key} under attack: ${scope === "as" ? "AS" : "range"} ${value} carries ${pct} % of it (${n.hits} hits from ${n.addrs} addresses, ${fresh} % first seen${why})`,
      evidence: [{ event: e.id, time: e.time, ...(e.ip === undefined ? {} : { ip: e.ip }) }],
      decision: { action, scope, value, durationMs },
    });
  }
}

/** A network's or an AS's hits, distinct addresses and first-seen addresses. */
interface NetCount {
  hits: number;
  addrs: number;
  fresh: number;
}

/** A count in one interval, with its rank among the interval's networks (or ASes). */
interface Counted extends NetCount {
  readonly rank: number;
}

/** A network's count, with its hits by AS: nearly always one; a shared network keeps others. */
interface NetTally extends Counted {
  readonly asn: number;
  asnHits: number;
  others: Map<number, number> | undefined;
}

/**
 * Below these, a network or an AS cannot pass the range or AS test over two intervals: it would
 * need at least half of `min_hits` (`min_addresses`) in one of them.
 */
interface Floors {
  readonly netHits: number;
  readonly asAddrs: number;
}

/** One interval's hits by network and AS, and the few that could pass (`Floors`). */
class Tally {
  total = 0;
  readonly nets = new Map<string, NetTally>();
  readonly asns = new Map<number, Counted>();
  readonly bigNets = new Set<string>();
  readonly bigAsns = new Set<number>();
  readonly #floors: Floors;

  constructor(floors: Floors) {
    this.#floors = floors;
  }

  /**
   * `h` hits of an address of `net` and `asn`; `d` and `fresh` (0 or 1): whether it counts as
   * a new address, first seen.
   */
  add(net: string, asn: number, h: number, d: number, fresh: number): void {
    this.total += h;
    const n = this.#net(net, asn);
    n.hits += h;
    n.addrs += d;
    n.fresh += fresh;
    if (n.hits >= this.#floors.netHits) this.bigNets.add(net);
    if (asn === n.asn) n.asnHits += h;
    else {
      n.others ??= new Map();
      n.others.set(asn, (n.others.get(asn) ?? 0) + h);
    }
    const s = this.#as(asn);
    if (s === undefined) return;
    s.hits += h;
    s.addrs += d;
    s.fresh += fresh;
    if (s.addrs >= this.#floors.asAddrs) this.bigAsns.add(asn);
  }

  /** Addresses counted in both intervals, to count once: only `addrs` and `fresh` matter. */
  both(net: string, asn: number, fresh: number): void {
    const n = this.#net(net, asn);
    n.addrs++;
    n.fresh += fresh;
    const s = this.#as(asn);
    if (s === undefined) return;
    s.addrs++;
    s.fresh += fresh;
  }

  /** Hits of `net` from the ASes in `asns`. */
  hitsIn(net: string, asns: ReadonlySet<number>): number {
    const n = this.nets.get(net);
    if (n === undefined) return 0;
    let h = asns.has(n.asn) ? n.asnHits : 0;
    if (n.others !== undefined) for (const [asn, x] of n.others) if (asns.has(asn)) h += x;
    return h;
  }

  #net(net: string, asn: number): NetTally {
    let n = this.nets.get(net);
    if (n === undefined) {
      n = {
        hits: 0,
        addrs: 0,
        fresh: 0,
        rank: this.nets.size,
        asn,
        asnHits: 0,
        others: undefined,
      };
      this.nets.set(net, n);
    }
    return n;
  }

  #as(asn: number): Counted | undefined {
    if (asn < 0) return undefined;
    let s = this.asns.get(asn);
    if (s === undefined) {
      s = { hits: 0, addrs: 0, fresh: 0, rank: this.asns.size };
      this.asns.set(asn, s);
    }
    return s;
  }
}

/**
 * A target's hits of this interval and the last, by network and AS, as `#evaluate` reads them:
 * an address in both intervals counts once among the addresses (and the first-seen ones), its
 * hits in both. Kept while the target is under attack, so that the first-seen test
 * (first seen at or after `firstSeenSince`) stays the same.
 */
class Tallies {
  readonly #since: number;
  readonly #floors: Floors;
  #cur: Tally;
  #prev: Tally;
  /** Addresses of the current interval that the previous one counted too. */
  #both: Tally;

  constructor(firstSeenSince: number, floors: Floors) {
    this.#since = firstSeenSince;
    this.#floors = floors;
    this.#cur = new Tally(floors);
    this.#prev = new Tally(floors);
    this.#both = new Tally(floors);
  }

  /** An address's `h` hits of the previous interval, counted as the surge begins. */
  before(net: string, asn: number, first: number, h: number): void {
    this.#prev.add(net, asn, h, 1, this.#fresh(first));
  }

  /**
   * `h` more hits of an address of `net` and `asn`, first seen at `first`, this interval.
   * `added`: the interval had not counted it yet; `inPrev`: the previous interval had.
   */
  hit(net: string, asn: number, first: number, h: number, added: boolean, inPrev: boolean): void {
    if (!added) {
      this.#cur.add(net, asn, h, 0, 0);
      return;
    }
    const fresh = this.#fresh(first);
    this.#cur.add(net, asn, h, 1, fresh);
    if (inPrev) this.#both.both(net, asn, fresh);
  }

  /** A new interval: the current one becomes the previous (`kept`), or both are gone. */
  roll(kept: boolean): void {
    this.#prev = kept ? this.#cur : new Tally(this.#floors);
    this.#cur = new Tally(this.#floors);
    this.#both = new Tally(this.#floors);
  }

  total(): number {
    return this.#cur.total + this.#prev.total;
  }

  /**
   * The networks that may pass the range test (see `Floors`), over both intervals, in the
   * order their first addresses came (this interval's networks first).
   */
  forEachNet(visit: (net: string, n: NetCount) => void): void {
    const c = this.#cur;
    const p = this.#prev;
    this.#forEach(c.nets, p.nets, this.#both.nets, c.bigNets, p.bigNets, visit);
  }

  /** The same for the AS test. */
  forEachAs(visit: (asn: number, n: NetCount) => void): void {
    const c = this.#cur;
    const p = this.#prev;
    this.#forEach(c.asns, p.asns, this.#both.asns, c.bigAsns, p.bigAsns, visit);
  }

  /** The hits of the addresses in `nets` or in `asns`. */
  covered(nets: ReadonlySet<string>, asns: ReadonlySet<number>): number {
    let h = 0;
    for (const t of [this.#cur, this.#prev]) {
      for (const net of nets) h += (t.nets.get(net)?.hits ?? 0) - t.hitsIn(net, asns);
      for (const asn of asns) h += t.asns.get(asn)?.hits ?? 0;
    }
    return h;
  }

  #forEach<K>(
    cur: ReadonlyMap<K, Counted>,
    prev: ReadonlyMap<K, Counted>,
    both: ReadonlyMap<K, Counted>,
    curBig: ReadonlySet<K>,
    prevBig: ReadonlySet<K>,
    visit: (k: K, n: NetCount) => void,
  ): void {
    // Those this interval has seen, in its order; then those only the last one has, in its.
    const mine: [K, Counted][] = [];
    const older: [K, Counted][] = [];
    for (const k of curBig) mine.push([k, cur.get(k)!]);
    for (const k of prevBig) {
      if (curBig.has(k)) continue;
      const c = cur.get(k);
      if (c !== undefined) mine.push([k, c]);
      else older.push([k, prev.get(k)!]);
    }
    const byRank = (x: [K, Counted], y: [K, Counted]): number => x[1].rank - y[1].rank;
    for (const [k, c] of mine.sort(byRank)) {
      const p = prev.get(k);
      if (p === undefined) visit(k, c);
      else {
        const b = both.get(k);
        visit(k, {
          hits: c.hits + p.hits,
          addrs: c.addrs + p.addrs - (b?.addrs ?? 0),
          fresh: c.fresh + p.fresh - (b?.fresh ?? 0),
        });
      }
    }
    for (const [k, p] of older.sort(byRank)) visit(k, p);
  }

  #fresh(first: number): number {
    return first >= this.#since ? 1 : 0;
  }
}

/** A target as given, or a bare form id as its form target. */
function targetKey(target: string): SurgeTarget {
  return target.startsWith("form:") || target.startsWith("route:")
    ? (target as SurgeTarget)
    : `form:${target}`;
}

/** The network an address is judged with: its /24 (IPv4) or /48 (IPv6). */
export function networkOf(ip: string): string {
  return ip.includes(":") ? ipPrefix(ip, 48) : `${ip.slice(0, ip.lastIndexOf("."))}.0/24`;
}
