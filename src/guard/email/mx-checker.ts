/**
 * Whether a domain can receive mail, asked of DNS without ever holding an assessment longer
 * than the time bound: a look-up that has not ended in time answers "unknown" and goes on in
 * the background to fill the cache for the next submission from that domain.
 */
import { Resolver } from "node:dns/promises";
import { systemClock, type Clock } from "../../core/index.ts";
import { MapFront } from "../map-front.ts";
import type { MxChecker, MxState } from "../ports.ts";
import { asciiDomain } from "./normalize-email.ts";

/** The slice of node:dns/promises' Resolver the checker uses. */
export interface MxResolver {
  resolveMx(domain: string): Promise<readonly { exchange: string; priority: number }[]>;
  resolve4(domain: string): Promise<readonly string[]>;
  resolve6(domain: string): Promise<readonly string[]>;
  cancel(): void;
}

export interface DnsMxCheckerOptions {
  /** Default: a Resolver on `servers`, or on the system's servers. */
  readonly resolver?: MxResolver;
  /** `127.0.0.1`, `127.0.0.1:5353`, `[::1]:53`; default: /etc/resolv.conf's. */
  readonly servers?: readonly string[];
  /** How long `check` waits before answering "unknown", ms. Default 300. */
  readonly timeoutMs?: number;
  /** How long the resolver itself tries before giving up in the background, ms. Default 2000. */
  readonly resolverTimeoutMs?: number;
  /** Cache lifetimes, ms: "ok" (default 1 h), "none" (10 min), "unknown" after a failure (1 min). */
  readonly okTtlMs?: number;
  readonly noneTtlMs?: number;
  readonly errorTtlMs?: number;
  /** Domains remembered at most (least recently used go first). Default 100,000. */
  readonly cacheSize?: number;
  /** Look-ups in flight at most; past it, new domains answer "unknown" at once. Default 256. */
  readonly maxPending?: number;
  /** For the cache's lifetimes only. */
  readonly clock?: Clock;
}

interface Entry {
  readonly state: MxState;
  readonly expires: number;
}

// c-ares codes: the name does not exist, or has no record of that type.
const ABSENT = new Set(["ENOTFOUND", "ENODATA"]);

export class DnsMxChecker implements MxChecker {
  readonly #resolver: MxResolver;
  readonly #timeoutMs: number;
  readonly #ttl: Readonly<Record<MxState, number>>;
  readonly #cacheSize: number;
  readonly #maxPending: number;
  readonly #clock: Clock;
  readonly #cache = new Map<string, Entry>();
  readonly #oldest = new MapFront(this.#cache);
  readonly #pending = new Map<string, Promise<MxState>>();
  #closed = false;

  constructor(options: DnsMxCheckerOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 300;
    this.#ttl = {
      ok: options.okTtlMs ?? 3_600_000,
      none: options.noneTtlMs ?? 600_000,
      unknown: options.errorTtlMs ?? 60_000,
    };
    this.#cacheSize = Math.max(1, options.cacheSize ?? 100_000);
    this.#maxPending = Math.max(1, options.maxPending ?? 256);
    this.#clock = options.clock ?? systemClock;
    this.#resolver = options.resolver ?? makeResolver(options);
  }

  /** Domains in the cache (for metrics and tests). */
  get cached(): number {
    return this.#cache.size;
  }

  /** Look-ups in flight. */
  get pending(): number {
    return this.#pending.size;
  }

  async check(domain: string): Promise<MxState> {
    const name = asciiDomain(domain);
    if (name === undefined) return "none";
    const now = this.#clock.now();
    const hit = this.#cache.get(name);
    if (hit !== undefined) {
      if (hit.expires > now) {
        this.#cache.delete(name); // refresh its place: least recently used goes first
        this.#cache.set(name, hit);
        return hit.state;
      }
      this.#cache.delete(name);
    }
    let lookup = this.#pending.get(name);
    if (lookup === undefined) {
      if (this.#closed || this.#pending.size >= this.#maxPending) return "unknown";
      lookup = this.#lookup(name);
      this.#pending.set(name, lookup);
    }
    return within(lookup, this.#timeoutMs);
  }

  /** Cancels the look-ups in flight; later checks answer from the cache or "unknown". */
  close(): void {
    this.#closed = true;
    this.#resolver.cancel();
  }

  async #lookup(name: string): Promise<MxState> {
    let state: MxState;
    try {
      state = await this.#ask(name);
    } catch {
      state = "unknown"; // a bug in a resolver must not reject a waiting assessment
    }
    this.#pending.delete(name);
    if (!this.#closed) this.#remember(name, state);
    return state;
  }

  async #ask(name: string): Promise<MxState> {
    let mx: readonly { exchange: string }[];
    try {
      mx = await this.#resolver.resolveMx(name);
    } catch (e) {
      const code = errorCode(e);
      if (code === "ENOTFOUND") return "none";
      if (code !== "ENODATA") return "unknown";
      mx = [];
    }
    // RFC 7505: a lone "." exchange says the domain takes no mail at all.
    if (mx.length > 0)
      return mx.every((r) => r.exchange === "" || r.exchange === ".") ? "none" : "ok";
    // RFC 5321 §5.1: without MX records, the address records are the implicit MX.
    const [v4, v6] = await Promise.allSettled([
      this.#resolver.resolve4(name),
      this.#resolver.resolve6(name),
    ]);
    const found = (r: PromiseSettledResult<readonly string[]>): boolean =>
      r.status === "fulfilled" && r.value.length > 0;
    if (found(v4) || found(v6)) return "ok";
    const absent = (r: PromiseSettledResult<readonly string[]>): boolean =>
      r.status === "fulfilled" || ABSENT.has(errorCode(r.reason));
    return absent(v4) && absent(v6) ? "none" : "unknown";
  }

  #remember(name: string, state: MxState): void {
    // One in, one out: the least recently used goes.
    if (this.#cache.size >= this.#cacheSize) this.#oldest.shift();
    this.#cache.set(name, { state, expires: this.#clock.now() + this.#ttl[state] });
  }
}

function makeResolver(options: DnsMxCheckerOptions): Resolver {
  const resolver = new Resolver({ timeout: options.resolverTimeoutMs ?? 2000, tries: 2 });
  if (options.servers !== undefined && options.servers.length > 0) {
    resolver.setServers([...options.servers]);
  }
  return resolver;
}

/** The look-up's answer if it comes within `ms`, else "unknown" (the look-up goes on). */
function within(lookup: Promise<MxState>, ms: number): Promise<MxState> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<MxState>((resolve) => {
    timer = setTimeout(() => resolve("unknown"), ms);
  });
  return Promise.race([lookup, late]).finally(() => clearTimeout(timer));
}

function errorCode(e: unknown): string {
  return typeof e === "object" && e !== null && "code" in e && typeof e.code === "string"
    ? e.code
    : "";
}
