/**
 * The abuse contact of the network that holds an address, from RDAP (RFC 9082/9083), the
 * registries' JSON successor to whois: IANA's bootstrap files (RFC 9224) say which registry
 * serves a block; that registry's `ip/<address>` answers the network, whose entities (nested
 * ones included) carry roles and jCard (RFC 7095) contacts. The entity with the `abuse` role
 * and an e-mail address is the one. Registries redirect to each other (ARIN to RIPE…): fetch
 * follows.
 *
 * Time-bounded: each request has `timeoutMs`; the bootstrap files are kept for a day.
 */
import { ipFamily, ipToBigInt, parseCidr, type IpRange } from "../net/index.ts";

export interface AbuseContact {
  readonly email: string;
  /** The network's handle or name, and its range when the registry gives one. */
  readonly network: string;
  readonly range: string | undefined;
}

export interface RdapOptions {
  /** Where IANA's bootstrap files are: `<base>ipv4.json`, `<base>ipv6.json`. */
  readonly bootstrap: string;
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

const BOOTSTRAP_TTL_MS = 86_400_000;

interface Service {
  readonly ranges: readonly IpRange[];
  readonly urls: readonly string[];
}

export class RdapClient {
  readonly #options: RdapOptions;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #bootstrap = new Map<4 | 6, { services: Service[]; at: number }>();

  constructor(options: RdapOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The abuse contact for `ip`, or undefined when the registry names none. Throws when a
   * registry cannot be reached or answers nonsense (the caller tries again later).
   */
  async abuseContact(ip: string): Promise<AbuseContact | undefined> {
    const base = await this.#registry(ip);
    if (base === undefined) return undefined;
    const url = new URL(`ip/${encodeURIComponent(ip)}`, base.endsWith("/") ? base : `${base}/`);
    const network = await this.#json(url);
    if (network === null) return undefined;
    return abuseContactOf(network);
  }

  async #registry(ip: string): Promise<string | undefined> {
    const family = ipFamily(ip);
    let cached = this.#bootstrap.get(family);
    if (cached === undefined || this.#now() - cached.at > BOOTSTRAP_TTL_MS) {
      const url = new URL(`ipv${family}.json`, this.#options.bootstrap);
      const file = await this.#json(url);
      if (file === null) throw new Error(`${url.href}: not found`);
      cached = { services: parseBootstrap(file), at: this.#now() };
      this.#bootstrap.set(family, cached);
    }
    const n = ipToBigInt(ip);
    let best: { bits: number; url: string } | undefined;
    for (const s of cached.services)
      for (const r of s.ranges) {
        if (r.family !== family || (best !== undefined && r.bits <= best.bits)) continue;
        const shift = BigInt((family === 4 ? 32 : 128) - r.bits);
        if (n >> shift === r.start >> shift) {
          // HTTPS first, as RFC 9224 advises.
          const url = s.urls.find((u) => u.startsWith("https:")) ?? s.urls[0];
          if (url !== undefined) best = { bits: r.bits, url };
        }
      }
    return best?.url;
  }

  /** The JSON at `url`; null for a 404 (no such network). */
  async #json(url: URL): Promise<unknown> {
    const res = await this.#fetch(url, {
      headers: { accept: "application/rdap+json, application/json" },
      signal: AbortSignal.timeout(this.#options.timeoutMs),
    });
    if (res.status === 404) return null;
    if (!res.ok) throw new Error(`${url.href} answered ${res.status}`);
    try {
      return await res.json();
    } catch {
      throw new Error(`${url.href} is not JSON`);
    }
  }
}

/** RFC 9224's `services`: `[[ [ranges…], [urls…] ], …]`. */
export function parseBootstrap(file: unknown): Service[] {
  const services = (file as { services?: unknown }).services;
  if (!Array.isArray(services)) throw new Error("not an RDAP bootstrap file: no services");
  const out: Service[] = [];
  for (const s of services as unknown[]) {
    if (!Array.isArray(s) || !Array.isArray(s[0]) || !Array.isArray(s[1])) continue;
    const ranges = (s[0] as unknown[])
      .map((r) => (typeof r === "string" ? parseCidr(r) : undefined))
      .filter((r) => r !== undefined);
    const urls = (s[1] as unknown[]).filter((u): u is string => typeof u === "string");
    out.push({ ranges, urls });
  }
  return out;
}

interface Entity {
  readonly roles?: unknown;
  readonly vcardArray?: unknown;
  readonly entities?: unknown;
}

/** The abuse contact in an RDAP network object (RFC 9083 §5.4), or undefined. */
export function abuseContactOf(network: unknown): AbuseContact | undefined {
  const n = network as {
    handle?: unknown;
    name?: unknown;
    startAddress?: unknown;
    endAddress?: unknown;
    cidr0_cidrs?: unknown;
    entities?: unknown;
  };
  const email = findAbuseEmail(n.entities, 0);
  if (email === undefined) return undefined;
  // The name says more than the handle, which RIPE makes of the range.
  const label = typeof n.name === "string" ? n.name : typeof n.handle === "string" ? n.handle : "";
  return { email, network: label, range: rangeOf(n) };
}

function findAbuseEmail(entities: unknown, depth: number): string | undefined {
  if (!Array.isArray(entities) || depth > 4) return undefined;
  for (const e of entities as Entity[]) {
    const roles = Array.isArray(e.roles) ? (e.roles as unknown[]) : [];
    if (roles.includes("abuse")) {
      const email = vcardEmail(e.vcardArray);
      if (email !== undefined) return email;
    }
  }
  // The abuse entity is often nested under the registrant.
  for (const e of entities as Entity[]) {
    const found = findAbuseEmail(e.entities, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The first `email` property of a jCard: `["vcard", [["email", {}, "text", "a@b"], …]]`. */
function vcardEmail(vcard: unknown): string | undefined {
  if (!Array.isArray(vcard) || !Array.isArray(vcard[1])) return undefined;
  for (const p of vcard[1] as unknown[]) {
    if (!Array.isArray(p) || p[0] !== "email") continue;
    const value: unknown = p[3];
    if (typeof value === "string" && /^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$/.test(value.trim()))
      return value.trim().toLowerCase();
  }
  return undefined;
}

function rangeOf(n: {
  startAddress?: unknown;
  endAddress?: unknown;
  cidr0_cidrs?: unknown;
}): string | undefined {
  if (Array.isArray(n.cidr0_cidrs) && n.cidr0_cidrs.length > 0) {
    const c = n.cidr0_cidrs[0] as { v4prefix?: unknown; v6prefix?: unknown; length?: unknown };
    const prefix = c.v4prefix ?? c.v6prefix;
    if (typeof prefix === "string" && typeof c.length === "number") return `${prefix}/${c.length}`;
  }
  if (typeof n.startAddress === "string" && typeof n.endAddress === "string")
    return `${n.startAddress} - ${n.endAddress}`;
  return undefined;
}
