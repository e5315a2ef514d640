/**
 * Forward-auth (nginx `auth_request`, Caddy `forward_auth`, Traefik `ForwardAuth`): which
 * address the proxy is asking about. Forwarding headers are believed only when the connection
 * comes from a configured trusted proxy; otherwise the client is the socket's peer, whatever
 * the headers say (anyone can write `X-Forwarded-For`).
 */
import { normalizeIp, parseCidr, RangeList, type IpRange } from "../net/index.ts";
import type { HeaderValue } from "./api.ts";

export class TrustedProxies {
  readonly #list: RangeList;

  /** Throws on a text that is not a CIDR (the configuration has checked them already). */
  constructor(cidrs: readonly string[]) {
    const ranges: IpRange[] = [];
    for (const c of cidrs) {
      const r = parseCidr(c);
      if (r === undefined) throw new Error(`trusted proxy ${JSON.stringify(c)} is not a CIDR`);
      ranges.push(r);
    }
    this.#list = new RangeList(ranges);
  }

  get size(): number {
    return this.#list.size;
  }

  has(ip: string): boolean {
    return this.#list.size > 0 && this.#list.find(ip) !== undefined;
  }

  /**
   * The client's address: the socket peer when it is not a trusted proxy; else, from
   * `X-Forwarded-For`, the rightmost hop that is not a trusted proxy (hops to its left were
   * written by the client and prove nothing); else `X-Real-IP`; else the leftmost hop (every
   * hop a trusted proxy); else the peer. Undefined when the peer is unknown or a header the
   * trusted proxy sent is not an address.
   */
  clientAddress(
    remoteAddress: string | undefined,
    headers: Readonly<Record<string, HeaderValue>>,
  ): string | undefined {
    const peer = remoteAddress === undefined ? undefined : normalizeIp(remoteAddress);
    if (peer === undefined || !this.has(peer)) return peer;
    const xff = headerText(headers["x-forwarded-for"]);
    let leftmost: string | undefined;
    if (xff !== undefined) {
      const hops = xff.split(",");
      for (let i = hops.length - 1; i >= 0; i--) {
        const hop = hops[i]!.trim();
        if (hop === "") continue;
        const ip = normalizeIp(stripPort(hop));
        if (ip === undefined) return undefined;
        if (!this.has(ip)) return ip;
        leftmost = ip;
      }
    }
    const real = headerText(headers["x-real-ip"]);
    if (real !== undefined) return normalizeIp(stripPort(real.trim()));
    return leftmost ?? peer;
  }
}

/** Several headers of one name count as one list, as RFC 9110 joins them. */
function headerText(v: HeaderValue): string | undefined {
  if (v === undefined) return undefined;
  return typeof v === "string" ? v : v.join(",");
}

/** `192.0.2.1:4711` → `192.0.2.1`, `[2001:db8::1]:4711` → `2001:db8::1`. */
function stripPort(hop: string): string {
  if (hop.startsWith("[")) {
    const end = hop.indexOf("]");
    return end > 0 ? hop.slice(1, end) : hop;
  }
  const colon = hop.indexOf(":");
  return colon > 0 && colon === hop.lastIndexOf(":") ? hop.slice(0, colon) : hop;
}
