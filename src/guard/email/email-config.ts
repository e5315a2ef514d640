/**
 * The `guard.email` section: the disposable list's local additions and exceptions, and the MX
 * look-up's bounds. Checked without I/O; `createEmailSignals` does the reading at start.
 */
import { z } from "zod";
import { duration } from "../../config/schemas.ts";
import { parseDuration } from "../../core/index.ts";
import { DisposableDomains } from "./disposable-domains.ts";
import { DnsMxChecker, type MxResolver } from "./mx-checker.ts";
import { asciiDomain } from "./normalize-email.ts";

const domain = z.string().refine((s) => asciiDomain(s.trim()) !== undefined, {
  message: "expected a domain name such as mailinator.com",
});

/** A DNS server as node:dns takes it: an address, with a port after it (`[::1]:53`) if not 53. */
const server = z
  .string()
  .regex(
    /^(?:\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?|[0-9a-fA-F:]+|\[[0-9a-fA-F:]+\](?::\d{1,5})?)$/,
    'expected "127.0.0.1", "127.0.0.1:5353" or "[::1]:53"',
  );

export const EmailSignalsConfigSchema = z.strictObject({
  disposable: z
    .strictObject({
      /** Domains to treat as disposable besides the package's list (subdomains included). */
      extra_domains: z.array(domain).default([]),
      /** A file of more, one domain a line, `#` comments. */
      extra_file: z.string().min(1).optional(),
      /** Domains never treated as disposable, whatever the lists say. */
      allow_domains: z.array(domain).default([]),
    })
    .prefault({}),
  mx: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** How long an assessment waits for DNS before taking "unknown". */
      timeout: duration.default("300ms"),
      /** Resolvers to ask; default: the system's (/etc/resolv.conf). */
      servers: z.array(server).min(1).optional(),
      cache_size: z.number().int().min(1).max(10_000_000).default(100_000),
      /** Lifetime of a domain that takes mail. */
      ttl: duration.default("1h"),
      /** Lifetime of a domain that does not exist or takes no mail. */
      negative_ttl: duration.default("10m"),
      /** Lifetime of a failed look-up (SERVFAIL, time-out). */
      error_ttl: duration.default("1m"),
      max_pending: z.number().int().min(1).max(100_000).default(256),
    })
    .prefault({}),
});

export type EmailSignalsConfigInput = z.input<typeof EmailSignalsConfigSchema>;
export type EmailSignalsConfig = z.output<typeof EmailSignalsConfigSchema>;

export interface EmailSignals {
  readonly disposable: DisposableDomains;
  /** Undefined when `mx.enabled` is false. */
  readonly mx: DnsMxChecker | undefined;
  /** Cancels the MX look-ups in flight. */
  close(): void;
}

/** Reads the lists (at start) and builds the checker from the checked configuration. */
export async function createEmailSignals(
  config: EmailSignalsConfig,
  options: { readonly resolver?: MxResolver; readonly base?: Iterable<string> } = {},
): Promise<EmailSignals> {
  const disposable = await DisposableDomains.load({
    extra: config.disposable.extra_domains,
    allow: config.disposable.allow_domains,
    ...(config.disposable.extra_file === undefined
      ? {}
      : { extraFile: config.disposable.extra_file }),
    ...(options.base === undefined ? {} : { base: options.base }),
  });
  const mx = config.mx.enabled
    ? new DnsMxChecker({
        timeoutMs: parseDuration(config.mx.timeout)!,
        okTtlMs: parseDuration(config.mx.ttl)!,
        noneTtlMs: parseDuration(config.mx.negative_ttl)!,
        errorTtlMs: parseDuration(config.mx.error_ttl)!,
        cacheSize: config.mx.cache_size,
        maxPending: config.mx.max_pending,
        ...(config.mx.servers === undefined ? {} : { servers: config.mx.servers }),
        ...(options.resolver === undefined ? {} : { resolver: options.resolver }),
      })
    : undefined;
  return { disposable, mx, close: () => mx?.close() };
}
