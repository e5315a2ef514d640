/**
 * The active decisions, in memory, indexed for the questions enforcers and the API ask:
 * "what applies to this address / account / e-mail right now?". The store of record is the
 * database; this is its hot copy, rebuilt from it at start.
 */
import type { Decision, Scope } from "../core/index.ts";
import { PrefixMap } from "../net/index.ts";

export interface Subject {
  readonly ip?: string;
  readonly account?: string;
  readonly email?: string;
}

/** Decisions found by address: ranges, and addresses written as addresses. */
const isIndexed = (d: Decision): boolean =>
  d.scope === "range" || (d.scope === "ip" && !d.value.includes("/"));

const subjectKey = (scope: Scope, value: string): string => `${scope}\u0000${value}`;

export class DecisionBook {
  readonly #byId = new Map<string, Decision>();
  readonly #bySubject = new Map<string, Decision[]>();
  // Addresses and ranges by prefix: one look-up finds the address and every range holding it.
  // Most prefixes carry one decision, so an array only when there are more.
  readonly #prefixes = new PrefixMap<Decision | Decision[]>();
  readonly #hits: (Decision | Decision[])[] = [];
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
    if (isIndexed(d)) {
      const held = this.#prefixes.get(d.value);
      if (held === undefined) this.#prefixes.set(d.value, d);
      else if (Array.isArray(held)) held.push(d);
      else this.#prefixes.set(d.value, [held, d]);
    }
    const k = subjectKey(d.scope, d.value);
    const list = this.#bySubject.get(k);
    if (list) list.push(d);
    else this.#bySubject.set(k, [d]);
  }

  remove(id: string): Decision | undefined {
    const d = this.#byId.get(id);
    if (!d) return undefined;
    this.#byId.delete(id);
    const k = subjectKey(d.scope, d.value);
    const list = this.#bySubject.get(k)?.filter((x) => x.id !== id);
    if (list && list.length > 0) this.#bySubject.set(k, list);
    else this.#bySubject.delete(k);
    if (isIndexed(d)) {
      const held = this.#prefixes.get(d.value);
      const rest = Array.isArray(held) ? held.filter((x) => x.id !== id) : [];
      if (rest.length === 0) this.#prefixes.delete(d.value);
      else this.#prefixes.set(d.value, rest.length === 1 ? rest[0]! : rest);
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
    return (this.#bySubject.get(subjectKey(scope, value)) ?? []).filter(
      (d) => d.expiresAt === null || d.expiresAt > now,
    );
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
      for (const h of hits) {
        if (!Array.isArray(h)) {
          if (h.expiresAt === null || h.expiresAt > now) out.push(h);
        } else for (const d of h) if (d.expiresAt === null || d.expiresAt > now) out.push(d);
      }
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
