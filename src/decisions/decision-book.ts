/**
 * The active decisions, in memory, indexed for the questions enforcers and the API ask:
 * "what applies to this address / account / e-mail right now?". The store of record is the
 * database; this is its hot copy, rebuilt from it at start.
 *
 * Memory is the constraint (a million decisions must fit in a small daemon): every decision is
 * in `#byId` and in exactly one of two indexes, both keyed by the decision's own strings.
 */
import type { Decision, Scope } from "../core/index.ts";
import { PrefixMap } from "../net/index.ts";

export interface Subject {
  readonly ip?: string;
  readonly account?: string;
  readonly email?: string;
}

/** The decisions on one key: most keys carry one, so an array only when there are more. */
type Held = Decision | Decision[];

/** Decisions that may be found by address: ranges, and addresses written as addresses. */
const mayIndex = (d: Decision): boolean =>
  d.scope === "range" || (d.scope === "ip" && !d.value.includes("/"));

const active = (d: Decision, now: number): boolean => d.expiresAt === null || d.expiresAt > now;

/** `held` plus `d`, in order of addition. */
const withDecision = (held: Held | undefined, d: Decision): Held =>
  held === undefined ? d : Array.isArray(held) ? (held.push(d), held) : [held, d];

/** `held` less the decision `id`; `held` itself when it was not there. */
function withoutDecision(held: Held, id: string): Held | undefined {
  if (!Array.isArray(held)) return held.id === id ? undefined : held;
  const rest = held.filter((x) => x.id !== id);
  return rest.length === held.length ? held : rest.length === 1 ? rest[0] : rest;
}

export class DecisionBook {
  readonly #byId = new Map<string, Decision>();
  // Addresses and ranges by prefix: one look-up finds the address and every range holding it.
  // Two texts of one prefix ("2001:DB8::/32", "2001:db8::/32") share an entry: `on` compares text.
  readonly #prefixes = new PrefixMap<Held>();
  // Everything else (accounts, e-mails, domains, a value that is no address), by scope then value.
  readonly #exact = new Map<Scope, Map<string, Held>>();
  readonly #hits: Held[] = [];
  /** No decision expires before this: `expire` is free until then. */
  #nextExpiry = Infinity;

  get size(): number {
    return this.#byId.size;
  }

  get(id: string): Decision | undefined {
    return this.#byId.get(id);
  }

  all(): IterableIterator<Decision> {
    return this.#byId.values();
  }

  add(d: Decision): void {
    if (this.#byId.has(d.id)) return;
    this.#byId.set(d.id, d);
    if (d.expiresAt !== null && d.expiresAt < this.#nextExpiry) this.#nextExpiry = d.expiresAt;
    if (mayIndex(d)) {
      const held = this.#prefixes.get(d.value);
      if (held !== undefined) {
        this.#prefixes.set(d.value, withDecision(held, d));
        return;
      }
      if (this.#prefixes.set(d.value, d)) return;
    }
    let byValue = this.#exact.get(d.scope);
    if (byValue === undefined) this.#exact.set(d.scope, (byValue = new Map<string, Held>()));
    byValue.set(d.value, withDecision(byValue.get(d.value), d));
  }

  remove(id: string): Decision | undefined {
    const d = this.#byId.get(id);
    if (!d) return undefined;
    this.#byId.delete(id);
    const byValue = this.#exact.get(d.scope);
    const exact = byValue?.get(d.value);
    if (exact !== undefined) {
      const rest = withoutDecision(exact, id);
      if (rest !== exact) {
        if (rest === undefined) byValue!.delete(d.value);
        else byValue!.set(d.value, rest);
        return d;
      }
    }
    const held = this.#prefixes.get(d.value);
    if (held !== undefined) {
      const rest = withoutDecision(held, id);
      if (rest === undefined) this.#prefixes.delete(d.value);
      else if (rest !== held) this.#prefixes.set(d.value, rest);
    }
    return d;
  }

  /** Removes and returns the decisions expired at `now`. */
  expire(now: number): Decision[] {
    if (now < this.#nextExpiry) return [];
    const gone: Decision[] = [];
    let next = Infinity;
    for (const d of this.#byId.values()) {
      if (d.expiresAt === null) continue;
      if (d.expiresAt <= now) gone.push(d);
      else if (d.expiresAt < next) next = d.expiresAt;
    }
    this.#nextExpiry = next;
    for (const d of gone) this.remove(d.id);
    return gone;
  }

  /** Decisions on exactly this scope and value that are active at `now`. */
  on(scope: Scope, value: string, now: number): Decision[] {
    const out: Decision[] = [];
    const exact = this.#exact.get(scope)?.get(value);
    if (exact !== undefined) pushActive(out, exact, now);
    if (scope === "range" || (scope === "ip" && !value.includes("/"))) {
      const held = this.#prefixes.get(value);
      if (held === undefined) return out;
      if (!Array.isArray(held)) {
        if (held.scope === scope && held.value === value && active(held, now)) out.push(held);
      } else
        for (const d of held)
          if (d.scope === scope && d.value === value && active(d, now)) out.push(d);
    }
    return out;
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
      for (const h of hits) pushActive(out, h, now);
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
}

function pushActive(out: Decision[], held: Held, now: number): void {
  if (!Array.isArray(held)) {
    if (active(held, now)) out.push(held);
  } else for (const d of held) if (active(d, now)) out.push(d);
}
