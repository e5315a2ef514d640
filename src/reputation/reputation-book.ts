/**
 * Scores with decay: what the reports about an address (and its network) add up to now. A
 * report adds its weight; every score halves each `halfLife`. Exponential decay commutes with
 * addition, so reports may arrive in any order (a peer's late page, a rebuild read newest
 * first) and the score is the same: `Σ weight · 2^(-(now - time) / halfLife)`.
 *
 * An address's own score counts whole; the score of its /24 (IPv4) or /64 (IPv6), which every
 * report about one of its addresses also feeds, counts for `NETWORK_SHARE`: a neighbour of
 * ten bad addresses is suspect, not guilty. Memory is bounded: past `maxEntries`, the entries
 * whose scores have decayed most are forgotten first.
 *
 * Entries live in columns (typed arrays) indexed by one map from key to slot: about 110 bytes
 * an entry rather than 260 as objects, and a look-up touches the map and one slot of each
 * column it reads (bench/reputation.ts). Time is the reports' own (event time), never the wall
 * clock: replay and live agree.
 */
import { categoryMask, maskCategories } from "../core/index.ts";
import { ipFamily, ipPrefix } from "../net/index.ts";

/** What a network's score counts for in the score of each of its addresses. */
export const NETWORK_SHARE = 0.25;

export interface ReputationOptions {
  readonly halfLifeMs: number;
  /** Addresses and networks kept at most; the least suspect are forgotten first. */
  readonly maxEntries: number;
}

/** One report as the book takes it. */
export interface Observation {
  readonly ip: string;
  readonly time: number;
  readonly weight: number;
  readonly reporter: string;
  readonly categories: readonly number[];
}

/** What the book knows of an address now. */
export interface Standing {
  /** The address's score and its network's share, decayed to now. */
  readonly score: number;
  /** 0–100, as AbuseIPDB's `abuseConfidenceScore`. */
  readonly confidence: number;
  readonly address: EntryView | undefined;
  readonly network: (EntryView & { readonly prefix: string }) | undefined;
}

export interface EntryView {
  readonly score: number;
  readonly reports: number;
  /** Distinct reporters: exact for a few, estimated beyond (a 32-bit sketch), at most 32. */
  readonly reporters: number;
  readonly first: number;
  readonly last: number;
  readonly categories: readonly number[];
}

/**
 * A score as a confidence in 0–100: one report of weight 1 gives 29, two 50, four 75, eight
 * 94. It saturates, so that a hundred reports do not say much more than ten.
 */
export const confidenceOf = (score: number): number =>
  score <= 0 ? 0 : Math.min(100, Math.round(100 * (1 - 2 ** (-score / 2))));

const INITIAL_SLOTS = 1024;

export class ReputationBook {
  readonly #halfLife: number;
  readonly #max: number;
  /** Address text, or a network's key (`networkKey`) → slot. */
  readonly #slots = new Map<string, number>();
  /** Slot → its key, for forgetting and listing ("" for a free slot). */
  #keys: string[] = [];
  #free: number[] = [];
  /** The score at `at`. */
  #score = new Float64Array(INITIAL_SLOTS);
  #at = new Float64Array(INITIAL_SLOTS);
  #first = new Float64Array(INITIAL_SLOTS);
  #last = new Float64Array(INITIAL_SLOTS);
  #reports = new Uint32Array(INITIAL_SLOTS);
  #mask = new Uint32Array(INITIAL_SLOTS);
  /** A bit per reporter's hash: distinct reporters are its bits set. */
  #reporters = new Uint32Array(INITIAL_SLOTS);

  constructor(options: ReputationOptions) {
    if (!(options.halfLifeMs > 0)) throw new RangeError("halfLifeMs must be positive");
    this.#halfLife = options.halfLifeMs;
    this.#max = Math.max(2, options.maxEntries);
  }

  get size(): number {
    return this.#slots.size;
  }

  /** Scores a report. Callers give normalised addresses (normalizeIp): one text per address. */
  add(o: Observation): void {
    if (!(o.weight > 0)) return;
    const mask = categoryMask(o.categories);
    const bit = reporterBit(o.reporter);
    this.#addTo(o.ip, o, mask, bit);
    this.#addTo(networkKey(o.ip), o, mask, bit);
    if (this.#slots.size > this.#max) this.#forgetLeast(o.time);
  }

  /**
   * Forgets an address: its entry goes, and its reports' weight leaves its network's score
   * (decay commutes with subtraction as with addition).
   */
  forget(ip: string, reports: readonly Observation[]): void {
    const a = this.#slots.get(ip);
    if (a !== undefined) this.#release(ip, a);
    const key = networkKey(ip);
    const n = this.#slots.get(key);
    if (n === undefined) return;
    for (const o of reports) {
      const at = this.#at[n]!;
      this.#score[n]! -=
        o.time >= at ? o.weight / this.#factor(o.time - at) : o.weight * this.#factor(at - o.time);
      this.#reports[n]!--;
    }
    if (this.#reports[n]! <= 0 || this.#score[n]! <= 1e-9) this.#release(key, n);
  }

  /** The address's standing at `now`. */
  standing(ip: string, now: number): Standing {
    const a = this.#slots.get(ip);
    const n = this.#slots.get(networkKey(ip));
    const address = a === undefined ? undefined : this.#view(a, now);
    const network =
      n === undefined
        ? undefined
        : { ...this.#view(n, now), prefix: ipPrefix(ip, ipFamily(ip) === 4 ? 24 : 64) };
    const score = (address?.score ?? 0) + NETWORK_SHARE * (network?.score ?? 0);
    return { score, confidence: confidenceOf(score), address, network };
  }

  /** `standing(ip, now).confidence`, without the views: the guard's hot path. */
  confidence(ip: string, now: number): number {
    const a = this.#slots.get(ip);
    const n = this.#slots.get(networkKey(ip));
    if (a === undefined && n === undefined) return 0;
    const score =
      (a === undefined ? 0 : this.#decayed(a, now)) +
      (n === undefined ? 0 : NETWORK_SHARE * this.#decayed(n, now));
    return confidenceOf(score);
  }

  /** Addresses (not networks) whose confidence is at least `minimum` at `now`. */
  *listed(
    minimum: number,
    now: number,
  ): Generator<{ ip: string; confidence: number; last: number }> {
    for (const [key, slot] of this.#slots) {
      if (isNetworkKey(key)) continue;
      const confidence = this.confidence(key, now);
      if (confidence >= minimum) yield { ip: key, confidence, last: this.#last[slot]! };
    }
  }

  #addTo(key: string, o: Observation, mask: number, bit: number): void {
    let s = this.#slots.get(key);
    if (s === undefined) {
      s = this.#take(key);
      this.#score[s] = o.weight;
      this.#at[s] = o.time;
      this.#first[s] = o.time;
      this.#last[s] = o.time;
      this.#reports[s] = 1;
      this.#mask[s] = mask;
      this.#reporters[s] = bit;
      return;
    }
    const at = this.#at[s]!;
    if (o.time >= at) {
      this.#score[s] = this.#decayed(s, o.time) + o.weight;
      this.#at[s] = o.time;
    } else this.#score[s]! += o.weight * this.#factor(at - o.time);
    this.#reports[s]!++;
    if (o.time < this.#first[s]!) this.#first[s] = o.time;
    if (o.time > this.#last[s]!) this.#last[s] = o.time;
    this.#mask[s]! |= mask;
    this.#reporters[s]! |= bit;
  }

  #view(s: number, now: number): EntryView {
    return {
      score: this.#decayed(s, now),
      reports: this.#reports[s]!,
      reporters: popcount(this.#reporters[s]!),
      first: this.#first[s]!,
      last: this.#last[s]!,
      categories: maskCategories(this.#mask[s]!),
    };
  }

  #decayed(s: number, now: number): number {
    const at = this.#at[s]!;
    return now <= at ? this.#score[s]! : this.#score[s]! * this.#factor(now - at);
  }

  #factor(elapsed: number): number {
    return 2 ** (-elapsed / this.#halfLife);
  }

  /** A slot for a new key: a freed one, or a new one (the columns grow by doubling). */
  #take(key: string): number {
    let s = this.#free.pop();
    if (s === undefined) {
      s = this.#keys.length;
      if (s === this.#score.length) this.#grow(s * 2);
      this.#keys.push(key);
    } else this.#keys[s] = key;
    this.#slots.set(key, s);
    return s;
  }

  #release(key: string, slot: number): void {
    this.#slots.delete(key);
    this.#keys[slot] = "";
    this.#free.push(slot);
  }

  #grow(size: number): void {
    const grown = <T extends Float64Array | Uint32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.#score = grown(this.#score);
    this.#at = grown(this.#at);
    this.#first = grown(this.#first);
    this.#last = grown(this.#last);
    this.#reports = grown(this.#reports);
    this.#mask = grown(this.#mask);
    this.#reporters = grown(this.#reporters);
  }

  /**
   * Forgets down to nine tenths of `maxEntries`, the least suspect first: a flood of new
   * addresses costs one pass per tenth of the book rather than one per address.
   */
  #forgetLeast(now: number): void {
    const used = this.#keys.length;
    const scores = new Float64Array(used);
    for (let s = 0; s < used; s++)
      scores[s] = this.#keys[s] === "" ? Infinity : this.#decayed(s, now);
    const sorted = scores.slice().sort();
    let drop = this.#slots.size - Math.floor(this.#max * 0.9);
    const cut = sorted[Math.max(0, drop - 1)]!;
    for (let s = 0; s < used && drop > 0; s++) {
      if (scores[s]! <= cut) {
        this.#release(this.#keys[s]!, s);
        drop--;
      }
    }
  }
}

/**
 * The key of an address's network: its /24's first three numbers for IPv4 (`192.0.2`: no
 * address has two dots), its /64 for IPv6 (`2001:db8::/64`: no address has a slash).
 */
function networkKey(ip: string): string {
  return ipFamily(ip) === 4 ? ip.slice(0, ip.lastIndexOf(".")) : ipPrefix(ip, 64);
}

const isNetworkKey = (key: string): boolean =>
  key.includes("/") || (!key.includes(":") && key.split(".").length === 3);

/** The network an address's reports also feed: its /24, or its /64. */
export const networkOf = (ip: string): string => ipPrefix(ip, ipFamily(ip) === 4 ? 24 : 64);

function reporterBit(reporter: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < reporter.length; i++) h = Math.imul(h ^ reporter.charCodeAt(i), 0x01000193);
  return (1 << ((h ^ (h >>> 16)) & 31)) >>> 0;
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
