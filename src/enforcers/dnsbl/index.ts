/**
 * The `dnsbl` enforcer: publishes the active ip and range decisions as a DNSBL zone (RFC 5782)
 * that Postfix, postscreen and rspamd query. Pull, not push: it answers from the DecisionBook
 * and only follows the feed to drop the answers it has cached.
 */
import { listenCode, listenError, parseDuration } from "../../core/index.ts";
import type { EnforcerDeps, EnforcerPlugin, EnforcerService } from "../plugin.ts";
import { DnsblConfigSchema, parseListen, type DnsblConfig } from "./dnsbl-config.ts";
import { DnsblServer } from "./dnsbl-server.ts";
import { DnsblZone } from "./dnsbl-zone.ts";

export { DnsblConfigSchema, type DnsblConfig, type DnsblConfigInput } from "./dnsbl-config.ts";
export { DnsblServer } from "./dnsbl-server.ts";
export { DnsblZone } from "./dnsbl-zone.ts";

/** A running DNSBL: the service the daemon drives, plus the port it got (for port 0). */
export interface DnsblService extends EnforcerService {
  readonly port: number;
  readonly zone: DnsblZone;
}

export function createDnsbl(config: DnsblConfig, deps: EnforcerDeps): DnsblService {
  const listen = parseListen(config.listen)!;
  const zone = new DnsblZone(deps.book, deps.clock, {
    zone: config.zone,
    ttl: Math.floor(parseDuration(config.ttl)! / 1000),
    codes: config.codes,
    scenarioCodes: config.scenario_codes,
    lookupUrl: config.lookup_url,
    txt: config.txt,
    nameservers: config.nameservers,
    hostmaster: config.hostmaster,
    cacheEntries: config.cache_entries,
  });
  const server = new DnsblServer(zone, {
    listen,
    tcpIdleMs: parseDuration(config.tcp_idle_timeout)!,
    tcpMaxConnections: config.tcp_max_connections,
    threads: config.threads,
    udpBatching: config.udp_batching,
    log: deps.log,
  });
  let unsubscribe: (() => void) | undefined;
  return {
    zone,
    get port() {
      return server.port;
    },
    describe: () => {
      const udp = server.udpPath === "batched" ? "UDP, batched," : "UDP";
      const threads = config.threads > 1 ? `, ${config.threads} UDP threads` : "";
      return `DNSBL zone ${config.zone} on ${config.listen} (${udp} and TCP${threads})`;
    },
    counters() {
      const s = zone.stats;
      const udp = server.batchStats;
      return {
        queries: s.queries,
        listed: s.listed,
        notListed: s.notListed,
        refused: s.refused,
        formErr: s.formErr,
        cacheHits: s.cacheHits,
        // Known on the batched path only: node:dgram does not count what the kernel refused.
        ...(udp === undefined ? {} : { udpDropped: udp.dropped }),
      };
    },
    async start() {
      // Subscribe first: a change landing while the sockets open still reaches the cache.
      unsubscribe = deps.feed.subscribe((change) => zone.changed(change.decision));
      zone.invalidate();
      await server.start().catch((e: unknown) => {
        throw listenCode(e) !== undefined
          ? listenError("dnsbl", config.listen, "enforcers.dnsbl.listen", e)
          : e;
      });
    },
    async stop() {
      unsubscribe?.();
      unsubscribe = undefined;
      await server.stop();
    },
  };
}

export const dnsblPlugin = {
  id: "dnsbl",
  configSchema: DnsblConfigSchema,
  create: createDnsbl,
} satisfies EnforcerPlugin<DnsblConfig>;
