/**
 * The `enforcers.dnsbl` section: where the DNS server listens, which zone it serves, and which
 * 127.0.0.x code each kind of decision is published with. Checked without I/O, compiled once.
 */
import { z } from "zod";
import { duration } from "../../config/schemas.ts";
import { ACTIONS, type Action } from "../../core/index.ts";

const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/i;
const hostname = z
  .string()
  .transform((s) => s.replace(/\.$/, "").toLowerCase())
  .refine((s) => s.length > 0 && s.length <= 253 && s.split(".").every((l) => LABEL.test(l)), {
    message: "expected a DNS name such as bl.example.org",
  });

const code = z
  .string()
  .regex(/^127\.0\.0\.([2-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-5])$/, "expected 127.0.0.2 … 127.0.0.255");

/** Host and port: `127.0.0.1:5353`, `[::1]:5353`. */
const listen = z.string().refine((s) => parseListen(s) !== undefined, {
  message: 'expected "127.0.0.1:5353" or "[::1]:53"',
});

export const DEFAULT_CODES: Readonly<Partial<Record<Action, string>>> = Object.freeze({
  ban: "127.0.0.2",
  challenge: "127.0.0.3",
  throttle: "127.0.0.4",
});

export const DnsblConfigSchema = z.strictObject({
  listen: listen.default("127.0.0.1:5353"),
  zone: hostname,
  /** Longest TTL of an answer; never past the expiry of the decisions behind it. */
  ttl: duration.default("60s"),
  /** Action → A record. Only decisions whose action (or scenario) has a code are published. */
  codes: z.partialRecord(z.enum(ACTIONS), code).default(DEFAULT_CODES),
  /** Scenario (or import list) name → A record; wins over the action's code. */
  scenario_codes: z.record(z.string().min(1), code).default({}),
  /** `{ip}` is replaced by the address queried. */
  lookup_url: z
    .string()
    .regex(/^https?:\/\/\S+$/, "expected an http(s) URL, with {ip} where the address goes")
    .optional(),
  /** TXT text; placeholders {reason} {scenario} {action} {ip} {url}. */
  txt: z.string().max(1000).optional(),
  /** Names of the servers for the zone (NS records; the first one is the SOA's MNAME). */
  nameservers: z.array(hostname).min(1).default(["localhost"]),
  /** The SOA's RNAME, as a name (`hostmaster.example.org`) or an address. */
  hostmaster: z.string().min(1).optional(),
  tcp_idle_timeout: duration.default("10s"),
  tcp_max_connections: z.number().int().min(1).max(65_535).default(256),
  /**
   * UDP sockets on the listen address (SO_REUSEPORT), each read and written by its own thread;
   * the zone itself stays in the main thread. 1: one socket, no worker thread.
   */
  threads: z.number().int().min(1).max(64).default(1),
  /**
   * The main UDP socket read and written a batch at a time (recvmmsg/sendmmsg) by the native
   * addon built at install: `auto` uses it when it was built, else node:dgram; `on` refuses to
   * start without it; `off` always uses node:dgram.
   */
  udp_batching: z.enum(["auto", "on", "off"]).default("auto"),
  /** Encoded answers kept per address; the cache is dropped on every change of decisions. */
  cache_entries: z.number().int().min(0).max(10_000_000).default(200_000),
});

export type DnsblConfigInput = z.input<typeof DnsblConfigSchema>;
export type DnsblConfig = z.output<typeof DnsblConfigSchema>;

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export function parseListen(text: string): ListenAddress | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65_535) return undefined;
  if (m[1] !== undefined) return { host: m[1], port, family: 6 };
  const host = m[2]!;
  if (host.split(".").some((o) => Number(o) > 255)) return undefined;
  return { host, port, family: 4 };
}
