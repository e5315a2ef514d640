// The DecisionBook as it was before the PrefixMap (commit d3fa6eb), kept to compare against in bench/lookup.ts.
/**
 * The active decisions, in memory, indexed for the questions enforcers and the API ask:
 * "what applies to this address / account / e-mail right now?". The store of record is the
 * database; this is its hot copy, rebuilt from it at start.
 */
import type { Decision, Scope } from "../src/core/index.ts";
import { ipFamily, ipToBigInt, parseCidr, type IpRange } from "../src/net/index.ts";

export interface Subject {
  readonly ip?: string;
  readonly account?: string;
  readonly email?: string;
}

const subjectKey = (scope: Scope, value: string): string => `${scope}\u0000${value}`;

interface RangeEntry {
  readonly range: IpRange;
  readonly decision: Decision;
}

export class DecisionBook {
  readonly #byId = new Map<string, Decision>();
  readonly #bySubject = new Map<string, Decision[]>();
  // Ranges by prefix length, so a look-up masks the address once per length in use.
  readonly #ranges = new Map<number, Map<string, RangeEntry[]>>();
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
    if (d.scope === "range") {
      const range = parseCidr(d.value);
      if (range) {
        const fam = this.#ranges.get(range.bits) ?? new Map<string, RangeEntry[]>();
        this.#ranges.set(range.bits, fam);
        const k = `${range.family}:${range.start}`;
        const list = fam.get(k);
        if (list) list.push({ range, decision: d });
        else fam.set(k, [{ range, decision: d }]);
      }
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
    if (d.scope === "range") {
      const range = parseCidr(d.value);
      const fam = range ? this.#ranges.get(range.bits) : undefined;
      if (range && fam) {
        const rk = `${range.family}:${range.start}`;
        const rl = fam.get(rk)?.filter((x) => x.decision.id !== id);
        if (rl && rl.length > 0) fam.set(rk, rl);
        else fam.delete(rk);
        if (fam.size === 0) this.#ranges.delete(range.bits);
      }
    }
    return d;
  }

  /** Removes and returns the decisions expired at `now`. */
  expire(now: number): Decision[] {
    const gone: Decision[] = [];
    for (const d of this.#byId.values())
      if (d.expiresAt !== null && d.expiresAt <= now) gone.push(d);
    for (const d of gone) this.remove(d.id);
    return gone;
  }

  /** Decisions on exactly this scope and value that are active at `now`. */
  on(scope: Scope, value: string, now: number): Decision[] {
    return (this.#bySubject.get(subjectKey(scope, value)) ?? []).filter(
      (d) => d.expiresAt === null || d.expiresAt > now,
    );
  }

  /** Every active decision that applies to the subject: its address, the ranges holding it, its account, its e-mail and domain. */
  match(subject: Subject, now: number): Decision[] {
    const out: Decision[] = [];
    if (subject.ip !== undefined) {
      out.push(...this.on("ip", subject.ip, now));
      if (this.#ranges.size > 0) {
        const fam = ipFamily(subject.ip);
        const width = fam === 4 ? 32 : 128;
        const n = ipToBigInt(subject.ip);
        for (const [bits, entries] of this.#ranges) {
          if (bits > width) continue;
          const masked = (n >> BigInt(width - bits)) << BigInt(width - bits);
          for (const e of entries.get(`${fam}:${masked}`) ?? []) {
            if (e.decision.expiresAt === null || e.decision.expiresAt > now) out.push(e.decision);
          }
        }
      }
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
