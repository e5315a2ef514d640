/**
 * The active decisions, in memory, indexed for the questions enforcers and the API ask:
 * "what applies to this address / account / e-mail right now?". The store of record is the
 * database; this is its hot copy, rebuilt from it at start.
 *
 * Memory is the constraint (a million decisions must fit in a small daemon), so decisions are
 * kept in columns, one slot each, not as objects: the id as four words when it is a UUID, the
 * value as one word when it is an IPv4 address, the times as doubles, and what many decisions
 * share (action, scope, origin, scenario, reason, offence, offset) once, as a profile. A
 * `Decision` is made when asked for; the last few thousand made are kept, so a hot one keeps
 * its identity (and whatever is cached against it). Every decision is in exactly one of two
 * indexes, which hold the first slot of each key; the others on the key follow by `#next`.
 */
import type { Action, Decision, Origin, Scope } from "../core/index.ts";
import { formatDottedQuad, parseDottedQuad } from "../net/dotted-quad.ts";
import { PrefixMap } from "../net/index.ts";
import { grownArray, largeArray } from "../net/large-arrays.ts";
import { formatUuidWords, parseUuidWords } from "./uuid-words.ts";

export interface Subject {
  readonly ip?: string;
  readonly account?: string;
  readonly email?: string;
}

/** What many decisions share: all but the id, the value and the times. */
interface Profile {
  readonly action: Action;
  readonly scope: Scope;
  readonly origin: Origin;
  readonly scenario: string;
  readonly reason: string;
  readonly offence: number;
  readonly tzOffset: number;
  readonly key: string;
  refs: number;
}

/** Told of a decision counted as an offence (see `markOffence`) when it leaves the book. */
export type OffenceLeaving = (scope: Scope, value: string, createdAt: number) => void;

/** Slot flags: the value is in `#v4`, the id in `#ids`, the policy counts it here. */
const V4 = 1;
const UUID = 2;
const OFFENCE = 4;

/**
 * 16,384 cache slots. The cache is direct-mapped: a hot set of n decisions shares the slots
 * with few conflicts only when there are several times n slots. Seed 004's botnet alone is
 * 4,000 addresses, each asked for on every request it makes. Full, it holds 2.8 MB of
 * Decisions (16,384 IPv4 bans, measured with heapUsed after collections).
 */
const CACHE_LOG = 14;
const CACHE_MASK = (1 << CACHE_LOG) - 1;
const MIN_CAPACITY = 64;

/** Decisions that may be found by address: ranges, and addresses written as addresses. */
const mayIndex = (scope: Scope, value: string): boolean =>
  scope === "range" || (scope === "ip" && !value.includes("/"));

const idHash = (a: number, b: number, c: number, d: number): number =>
  Math.imul(a ^ Math.imul(b, 0x85ebca77) ^ Math.imul(c, 0xc2b2ae3d) ^ d, 0x9e3779b1);

/** The hash of an id that is no UUID (FNV-1a); UUIDs hash by their words. */
function textHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ (h >>> 15), 0x9e3779b1);
}

/** A copy of `a` with exactly `n` elements: an array grown by appending keeps up to half again. */
function resized<T>(a: readonly (T | undefined)[], n: number): (T | undefined)[] {
  const b = Array<T | undefined>(n).fill(undefined);
  for (let i = 0; i < a.length; i++) b[i] = a[i];
  return b;
}

/** Record layout (see `#f64`): ints per slot, and the offsets in them. */
const INTS = 12;
const NEXT = 4;
const PROFILE = 5;
const ADDRESS = 6;
const FLAGS = 7;
const ID = 8;

export class DecisionBook {
  #count = 0;
  /** Slots at and above this were never used; below it, a free slot has profile -1. */
  #top = 0;
  readonly #free: number[] = [];
  /**
   * One record of 48 bytes per slot, so that a hit reads one or two cache lines, not one per
   * field: as doubles, `[6s]` created and `[6s + 1]` expires (NaN: never); as ints from `12s`,
   * NEXT the next slot on the same index key (in order of addition; -1: none), PROFILE (-1: a
   * free slot), ADDRESS the IPv4 value, FLAGS, and from ID the id's four words.
   */
  #f64 = new Float64Array(0);
  #i32 = new Int32Array(0);
  /** The value, by slot, when it is not kept as a word (sized with the records, not by push). */
  #texts: (string | undefined)[] = [];
  /** The id, by slot, when it is no UUID (made at the first such id). */
  #otherIds: (string | undefined)[] | undefined;
  /** Ids: open addressing over slot + 1 (0: empty), at most half full. */
  #idTable = new Int32Array(1 << 4);
  #idCount = 0;
  readonly #scratch = new Int32Array(4);

  readonly #profiles: (Profile | undefined)[] = [];
  readonly #profileByKey = new Map<string, number>();
  readonly #freeProfiles: number[] = [];
  #lastProfile = -1;

  // Addresses and ranges by prefix: one look-up finds the address and every range holding it.
  // Two texts of one prefix ("2001:DB8::/32", "2001:db8::/32") share a key: `on` compares text.
  readonly #prefixes = new PrefixMap<number>();
  // Everything else (accounts, e-mails, domains, a value that is no address), by scope then value.
  readonly #exact = new Map<Scope, Map<string, number>>();
  readonly #hits: number[] = [];
  /** No decision expires before this: `expire` is free until then. */
  #nextExpiry = Infinity;

  /**
   * The decisions made last, by slot (direct-mapped). A decision enters at its second making
   * (`#madeOnce` remembers the first): look-ups spread over a million decisions make each one
   * once, and a Decision kept in the cache outlives the young generation, so caching every one
   * filled the old generation with evicted garbage and its collections stalled the API for tens
   * of milliseconds. The decisions look-ups keep hitting (an attacker's) are cached at the second.
   */
  readonly #cacheSlot = new Int32Array(1 << CACHE_LOG).fill(-1);
  readonly #madeOnce = new Int32Array(1 << CACHE_LOG).fill(-1);
  readonly #cache: (Decision | undefined)[] = Array<Decision | undefined>(1 << CACHE_LOG).fill(
    undefined,
  );
  #leaving: OffenceLeaving | undefined;

  get size(): number {
    return this.#count;
  }

  /** After a bulk load: the index's deferred work done now, not by the first look-ups. */
  settle(): void {
    this.#prefixes.settle();
  }

  get(id: string): Decision | undefined {
    const slot = this.#find(id);
    return slot < 0 ? undefined : this.#decision(slot);
  }

  *all(): IterableIterator<Decision> {
    for (let s = 0; s < this.#top; s++)
      if (this.#i32[INTS * s + PROFILE]! >= 0) yield this.#made(s);
  }

  add(d: Decision): void {
    if (this.#find(d.id) >= 0) return;
    const slot = this.#alloc();
    const r = INTS * slot;
    const i32 = this.#i32;
    const uuid = parseUuidWords(d.id, i32, r + ID);
    const address = d.scope === "ip" ? parseDottedQuad(d.value) : -1;
    this.#f64[6 * slot] = d.createdAt;
    this.#f64[6 * slot + 1] = d.expiresAt ?? NaN;
    i32[r + NEXT] = -1;
    i32[r + PROFILE] = this.#profileOf(d);
    i32[r + ADDRESS] = address;
    i32[r + FLAGS] = (uuid ? UUID : 0) | (address >= 0 ? V4 : 0);
    this.#texts[slot] = address >= 0 ? undefined : d.value;
    if (!uuid) (this.#otherIds ??= resized([], this.#texts.length))[slot] = d.id;
    else if (this.#otherIds !== undefined) this.#otherIds[slot] = undefined;
    this.#insertId(slot);
    this.#count++;
    if (d.expiresAt !== null && d.expiresAt < this.#nextExpiry) this.#nextExpiry = d.expiresAt;
    if (mayIndex(d.scope, d.value)) {
      const head = this.#prefixes.get(d.value);
      if (head !== undefined) {
        this.#append(head, slot);
        return;
      }
      if (this.#prefixes.set(d.value, slot)) return;
    }
    let byValue = this.#exact.get(d.scope);
    if (byValue === undefined) this.#exact.set(d.scope, (byValue = new Map<string, number>()));
    const head = byValue.get(d.value);
    if (head === undefined) byValue.set(d.value, slot);
    else this.#append(head, slot);
  }

  remove(id: string): Decision | undefined {
    const slot = this.#find(id);
    return slot < 0 ? undefined : this.#removeSlot(slot);
  }

  /** Removes and returns the decisions expired at `now`. */
  expire(now: number): Decision[] {
    if (now < this.#nextExpiry) return [];
    const gone: number[] = [];
    let next = Infinity;
    const i32 = this.#i32;
    const f64 = this.#f64;
    for (let s = 0; s < this.#top; s++) {
      if (i32[INTS * s + PROFILE]! < 0) continue;
      const e = f64[6 * s + 1]!;
      if (e !== e) continue;
      if (e <= now) gone.push(s);
      else if (e < next) next = e;
    }
    this.#nextExpiry = next;
    return gone.map((s) => this.#removeSlot(s));
  }

  /** Decisions on exactly this scope and value that are active at `now`. */
  on(scope: Scope, value: string, now: number): Decision[] {
    const out: Decision[] = [];
    const exact = this.#exact.get(scope)?.get(value);
    if (exact !== undefined) this.#pushActive(out, exact, now);
    if (mayIndex(scope, value)) {
      const head = this.#prefixes.get(value);
      if (head === undefined) return out;
      const address = scope === "ip" ? parseDottedQuad(value) : -1;
      for (let s = head; s >= 0; s = this.#i32[INTS * s + NEXT]!)
        if (this.#is(s, scope, value, address) && this.#active(s, now)) out.push(this.#decision(s));
    }
    return out;
  }

  /**
   * Whether another decision of the same action, active at `now`, holds exactly this subject:
   * when `d` ends, the subject stays held (what hooks and bouncers must not be told is lifted).
   */
  heldByAnother(d: Pick<Decision, "id" | "scope" | "value" | "action">, now: number): boolean {
    return this.on(d.scope, d.value, now).some((o) => o.id !== d.id && o.action === d.action);
  }

  /** Whether any decision of this scope (other than an address or a range) is in the book. */
  holds(scope: Scope): boolean {
    return (this.#exact.get(scope)?.size ?? 0) > 0;
  }

  /**
   * Every active decision that applies to the subject: its address and the ranges holding it
   * (most specific first; IPv4-mapped IPv6 counts as IPv4), its account, its e-mail and domain.
   */
  match(subject: Subject, now: number): Decision[] {
    const out: Decision[] = [];
    if (subject.ip !== undefined) {
      const hits = this.#hits;
      hits.length = 0;
      // Not an address: only a decision on exactly that text can apply.
      if (this.#prefixes.matchInto(subject.ip, hits) < 0)
        out.push(...this.on("ip", subject.ip, now));
      for (const h of hits) this.#pushActive(out, h, now);
      hits.length = 0;
    }
    if (subject.account !== undefined) out.push(...this.on("account", subject.account, now));
    if (subject.email !== undefined) {
      const email = subject.email.toLowerCase();
      out.push(...this.on("email", email, now));
      const at = email.lastIndexOf("@");
      if (at >= 0) out.push(...this.on("domain", email.slice(at + 1), now));
    }
    return out;
  }

  /**
   * Counts the decision `id` as an offence (for the escalation memory) for as long as it is in
   * the book, and hands it to `leaving` when it goes: the policy keeps no copy of the million
   * decisions it restores at start. False when the book does not hold it.
   */
  markOffence(id: string, leaving: OffenceLeaving): boolean {
    const slot = this.#find(id);
    if (slot < 0) return false;
    this.#i32[INTS * slot + FLAGS]! |= OFFENCE;
    this.#leaving = leaving;
    return true;
  }

  /** Whether the book counts the decision `id` as an offence (see `markOffence`). */
  isOffence(id: string): boolean {
    const slot = this.#find(id);
    return slot >= 0 && (this.#i32[INTS * slot + FLAGS]! & OFFENCE) !== 0;
  }

  /**
   * Stops counting the decision `id` as an offence: a decision that replaces it carries its
   * incident on, and one incident is one offence. True when the book counted it.
   */
  unmarkOffence(id: string): boolean {
    const slot = this.#find(id);
    if (slot < 0) return false;
    const flags = this.#i32[INTS * slot + FLAGS]!;
    this.#i32[INTS * slot + FLAGS] = flags & ~OFFENCE;
    return (flags & OFFENCE) !== 0;
  }

  /** How many decisions marked as offences on this scope and value were created after `since`. */
  offences(scope: Scope, value: string, since: number): number {
    let n = 0;
    const count = (head: number, check: boolean, address: number): void => {
      for (let s = head; s >= 0; s = this.#i32[INTS * s + NEXT]!)
        if (
          (this.#i32[INTS * s + FLAGS]! & OFFENCE) !== 0 &&
          this.#f64[6 * s]! > since &&
          (!check || this.#is(s, scope, value, address))
        )
          n++;
    };
    const exact = this.#exact.get(scope)?.get(value);
    if (exact !== undefined) count(exact, false, -1);
    if (mayIndex(scope, value)) {
      const head = this.#prefixes.get(value);
      if (head !== undefined) count(head, true, scope === "ip" ? parseDottedQuad(value) : -1);
    }
    return n;
  }

  #active(s: number, now: number): boolean {
    const e = this.#f64[6 * s + 1]!;
    return e !== e || e > now;
  }

  /** Whether slot `s` is on exactly this scope and text (`address`: the text parsed, or -1). */
  #is(s: number, scope: Scope, value: string, address: number): boolean {
    const r = INTS * s;
    if (this.#profiles[this.#i32[r + PROFILE]!]!.scope !== scope) return false;
    return (this.#i32[r + FLAGS]! & V4) !== 0
      ? address >= 0 && this.#i32[r + ADDRESS] === (address | 0)
      : this.#texts[s] === value;
  }

  #pushActive(out: Decision[], head: number, now: number): void {
    for (let s = head; s >= 0; s = this.#i32[INTS * s + NEXT]!)
      if (this.#active(s, now)) out.push(this.#decision(s));
  }

  /** The decision in slot `s`, kept in the cache. */
  #decision(s: number): Decision {
    const c = s & CACHE_MASK;
    if (this.#cacheSlot[c] === s) return this.#cache[c]!;
    const d = this.#make(s);
    if (this.#madeOnce[c] === s) {
      this.#cacheSlot[c] = s;
      this.#cache[c] = d;
    } else this.#madeOnce[c] = s;
    return d;
  }

  /** The decision in slot `s`, from the cache or made without entering it (long walks). */
  #made(s: number): Decision {
    return this.#cacheSlot[s & CACHE_MASK] === s ? this.#cache[s & CACHE_MASK]! : this.#make(s);
  }

  #make(s: number): Decision {
    const i32 = this.#i32;
    const r = INTS * s;
    const p = this.#profiles[i32[r + PROFILE]!]!;
    const flags = i32[r + FLAGS]!;
    const expires = this.#f64[6 * s + 1]!;
    return Object.freeze({
      id: (flags & UUID) !== 0 ? formatUuidWords(i32, r + ID) : this.#otherIds![s]!,
      action: p.action,
      scope: p.scope,
      value: (flags & V4) !== 0 ? formatDottedQuad(i32[r + ADDRESS]!) : this.#texts[s]!,
      createdAt: this.#f64[6 * s]!,
      expiresAt: expires === expires ? expires : null,
      origin: p.origin,
      scenario: p.scenario,
      reason: p.reason,
      offence: p.offence,
      tzOffset: p.tzOffset,
    });
  }

  #removeSlot(slot: number): Decision {
    const d = this.#made(slot);
    const r = INTS * slot;
    this.#unindex(slot, d.scope, d.value);
    this.#removeId(slot);
    const flags = this.#i32[r + FLAGS]!;
    this.#releaseProfile(this.#i32[r + PROFILE]!);
    this.#i32[r + PROFILE] = -1;
    this.#i32[r + FLAGS] = 0;
    this.#texts[slot] = undefined;
    if (this.#otherIds !== undefined) this.#otherIds[slot] = undefined;
    if (this.#cacheSlot[slot & CACHE_MASK] === slot) {
      this.#cacheSlot[slot & CACHE_MASK] = -1;
      this.#cache[slot & CACHE_MASK] = undefined;
    }
    if (this.#madeOnce[slot & CACHE_MASK] === slot) this.#madeOnce[slot & CACHE_MASK] = -1;
    this.#free.push(slot);
    this.#count--;
    if ((flags & OFFENCE) !== 0) this.#leaving?.(d.scope, d.value, d.createdAt);
    return d;
  }

  #unindex(slot: number, scope: Scope, value: string): void {
    const byValue = this.#exact.get(scope);
    const exact = byValue?.get(value);
    if (exact !== undefined) {
      const head = this.#unlink(exact, slot);
      if (head !== exact) {
        if (head < 0) byValue!.delete(value);
        else byValue!.set(value, head);
        return;
      }
      if (this.#i32[INTS * slot + NEXT] === -2) return;
    }
    const held = this.#prefixes.get(value);
    if (held === undefined) return;
    const head = this.#unlink(held, slot);
    if (head < 0) this.#prefixes.delete(value);
    else if (head !== held) this.#prefixes.set(value, head);
  }

  /** The chain from `head` less `slot` (its new head, -1 when empty); marks `slot` -2 if found. */
  #unlink(head: number, slot: number): number {
    const i32 = this.#i32;
    const at = INTS * slot + NEXT;
    if (head === slot) {
      const rest = i32[at]!;
      i32[at] = -2;
      return rest;
    }
    for (let s = head; i32[INTS * s + NEXT]! >= 0; s = i32[INTS * s + NEXT]!)
      if (i32[INTS * s + NEXT] === slot) {
        i32[INTS * s + NEXT] = i32[at]!;
        i32[at] = -2;
        break;
      }
    return head;
  }

  #append(head: number, slot: number): void {
    const i32 = this.#i32;
    let s = head;
    while (i32[INTS * s + NEXT]! >= 0) s = i32[INTS * s + NEXT]!;
    i32[INTS * s + NEXT] = slot;
  }

  #profileOf(d: Decision): number {
    const last = this.#lastProfile < 0 ? undefined : this.#profiles[this.#lastProfile];
    if (
      last !== undefined &&
      last.action === d.action &&
      last.scope === d.scope &&
      last.origin === d.origin &&
      last.scenario === d.scenario &&
      last.reason === d.reason &&
      last.offence === d.offence &&
      last.tzOffset === d.tzOffset
    ) {
      last.refs++;
      return this.#lastProfile;
    }
    const key = `${d.action}\u0000${d.scope}\u0000${d.origin}\u0000${d.offence}\u0000${d.tzOffset}\u0000${d.scenario}\u0000${d.reason}`;
    let i = this.#profileByKey.get(key);
    if (i === undefined) {
      i = this.#freeProfiles.pop() ?? this.#profiles.length;
      const { action, scope, origin, scenario, reason, offence, tzOffset } = d;
      this.#profiles[i] = {
        action,
        scope,
        origin,
        scenario,
        reason,
        offence,
        tzOffset,
        key,
        refs: 0,
      };
      this.#profileByKey.set(key, i);
    }
    this.#profiles[i]!.refs++;
    this.#lastProfile = i;
    return i;
  }

  #releaseProfile(i: number): void {
    const p = this.#profiles[i]!;
    if (--p.refs > 0) return;
    this.#profileByKey.delete(p.key);
    this.#profiles[i] = undefined;
    this.#freeProfiles.push(i);
    if (this.#lastProfile === i) this.#lastProfile = -1;
  }

  #alloc(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    if (this.#top === this.#f64.length / 6) {
      const n = Math.max(MIN_CAPACITY, (2 * this.#f64.length) / 6);
      // In place while the buffer has room (see large-arrays.ts: no copy left resident).
      this.#f64 = grownArray(Float64Array, this.#f64, 6 * n);
      this.#i32 = new Int32Array(this.#f64.buffer, 0, INTS * n);
      this.#texts = resized(this.#texts, n);
      if (this.#otherIds !== undefined) this.#otherIds = resized(this.#otherIds, n);
    }
    return this.#top++;
  }

  /** The slot holding the decision `id`, or -1. */
  #find(id: string): number {
    if (this.#idCount === 0) return -1;
    const w = this.#scratch;
    const uuid = parseUuidWords(id, w, 0);
    const table = this.#idTable;
    const mask = table.length - 1;
    const i32 = this.#i32;
    let i = (uuid ? idHash(w[0]!, w[1]!, w[2]!, w[3]!) : textHash(id)) & mask;
    for (; ; i = (i + 1) & mask) {
      const s = table[i]! - 1;
      if (s < 0) return -1;
      const r = INTS * s;
      if ((i32[r + FLAGS]! & UUID) === 0) {
        if (!uuid && this.#otherIds![s] === id) return s;
      } else if (
        uuid &&
        i32[r + ID] === w[0] &&
        i32[r + ID + 1] === w[1] &&
        i32[r + ID + 2] === w[2] &&
        i32[r + ID + 3] === w[3]
      )
        return s;
    }
  }

  #home(s: number, mask: number): number {
    const i32 = this.#i32;
    const r = INTS * s;
    return (
      ((i32[r + FLAGS]! & UUID) !== 0
        ? idHash(i32[r + ID]!, i32[r + ID + 1]!, i32[r + ID + 2]!, i32[r + ID + 3]!)
        : textHash(this.#otherIds![s]!)) & mask
    );
  }

  #insertId(slot: number): void {
    if (2 * (this.#idCount + 1) > this.#idTable.length) {
      const old = this.#idTable;
      this.#idTable = largeArray(Int32Array, 2 * old.length);
      for (const v of old) if (v !== 0) this.#place(v - 1);
    }
    this.#place(slot);
    this.#idCount++;
  }

  #place(slot: number): void {
    const table = this.#idTable;
    const mask = table.length - 1;
    let i = this.#home(slot, mask);
    while (table[i] !== 0) i = (i + 1) & mask;
    table[i] = slot + 1;
  }

  #removeId(slot: number): void {
    const table = this.#idTable;
    const mask = table.length - 1;
    let i = this.#home(slot, mask);
    while (table[i] !== slot + 1) i = (i + 1) & mask;
    // Backward shift: move later members of the run into the hole when their home allows it.
    let hole = i;
    for (let j = (i + 1) & mask; table[j] !== 0; j = (j + 1) & mask) {
      const home = this.#home(table[j]! - 1, mask);
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        table[hole] = table[j]!;
        hole = j;
      }
    }
    table[hole] = 0;
    this.#idCount--;
  }
}
