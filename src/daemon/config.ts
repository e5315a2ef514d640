/**
 * The configuration: one strict schema (unknown keys are errors), parsed once at start, every
 * problem reported with file, line and key path, then frozen. Without a file Rempart runs on
 * embedded defaults and watches the usual logs it finds on the host.
 */
import { existsSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { resolve } from "node:path";
import { z } from "zod";
import { RempartError } from "../core/index.ts";
import { parseCidr } from "../net/index.ts";
import { formatProblem, loadYamlFile } from "../config/load-yaml.ts";
import { cidr, duration, positiveDuration, timeZone, uniqueNames } from "../config/schemas.ts";
import { ENFORCER_PLUGINS } from "../enforcers/index.ts";
import { ListsSchema } from "../lists/list-config.ts";
import { GuardConfigSchema } from "../guard/compose.ts";
import { SurgeConfigSchema } from "../guard/surge/index.ts";
import { ReputationConfigSchema } from "../reputation/index.ts";
import { AbuseReportsConfigSchema } from "../reports/index.ts";
import { NODE_NAME } from "./node-name.ts";

const SOURCE_TYPES = ["syslog", "postfix", "dovecot", "nginx", "apache", "json", "auto"] as const;

const FileSourceSchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)"),
  type: z.enum(SOURCE_TYPES).default("auto"),
  paths: z.array(z.string().min(1)).min(1),
  from: z.enum(["start", "end"]).default("end"),
  year: z.number().int().min(1970).max(2200).optional(),
  timezone: timeZone.optional(),
  format: z.string().optional(),
  poll: positiveDuration.default("250ms"),
});

const JournaldSourceSchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, "letters, digits, _ . - (at most 64)"),
  journald: z.strictObject({
    units: z.array(z.string()).default([]),
    identifiers: z.array(z.string()).default([]),
    command: z.string().default("journalctl"),
    directory: z.string().optional(),
    from: z.enum(["start", "end"]).default("end"),
  }),
});

export const ConfigSchema = z.strictObject({
  data_dir: z.string().default("./data"),
  // On a PostgreSQL several nodes share: this node's name (default kept in data_dir/node).
  node_name: z.string().regex(NODE_NAME, "letters, digits, _ . - (at most 64)").optional(),
  storage: z
    .strictObject({
      postgres_url: z
        .string()
        .regex(/^postgres(ql)?:\/\//, "expected postgres://user@host:port/database")
        .optional(),
      sqlite_file: z.string().default("rempart.db"),
      // PostgreSQL: apply the decisions other nodes on the database make, as they commit them.
      share_decisions: z.boolean().default(true),
    })
    .default({ sqlite_file: "rempart.db", share_decisions: true }),
  http: z
    .strictObject({
      listen: z
        .string()
        .regex(
          /^(\[[0-9a-fA-F:]+\]|[0-9.]+|localhost):\d{1,5}$/,
          "expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080",
        )
        .refine((l) => Number(l.slice(l.lastIndexOf(":") + 1)) <= 65535, {
          message: "the port must be 0 to 65535",
        })
        .default("127.0.0.1:8080"),
      trusted_proxies: z
        .array(
          // Trusting every address lets any client name its own in X-Forwarded-For.
          cidr.refine((c) => parseCidr(c)?.bits !== 0, {
            message: "trusting every address lets any client choose its own: list your proxies",
          }),
        )
        .default([]),
      metrics_require_key: z.boolean().default(false),
      challenge_url: z
        .string()
        .regex(/^(https?:\/\/|\/)\S+$/, "expected an http(s) URL or a path such as /challenge")
        .optional(),
      // 0: the daemon's thread serves HTTP itself; N: N threads read and write it, and check
      // the guard's stateless signals (docs/running.md, "API threads").
      threads: z.number().int().min(0).max(64).default(0),
    })
    .default({
      listen: "127.0.0.1:8080",
      trusted_proxies: [],
      metrics_require_key: false,
      threads: 0,
    }),
  sources: z
    .array(z.union([FileSourceSchema, JournaldSourceSchema]))
    // Read positions are kept by name: two sources of one name would take each other's.
    .superRefine(uniqueNames("source"))
    .optional(),
  scenarios: z
    .strictObject({
      dirs: z.array(z.string()).default([]),
      disable: z.array(z.string()).default([]),
    })
    .default({ dirs: [], disable: [] }),
  policy: z
    .strictObject({
      allow_networks: z.array(cidr).default([]),
      allow_accounts: z.array(z.string()).default([]),
      max_range: z
        .strictObject({
          ipv4: z.number().int().min(8).max(32).default(16),
          ipv6: z.number().int().min(16).max(128).default(32),
        })
        .default({ ipv4: 16, ipv6: 32 }),
      escalation: z
        .strictObject({
          factor: z.number().min(1).max(10).default(2),
          max: duration.default("30d"),
          memory: duration.default("30d"),
        })
        .default({ factor: 2, max: "30d", memory: "30d" }),
    })
    .default({
      allow_networks: [],
      allow_accounts: [],
      max_range: { ipv4: 16, ipv6: 32 },
      escalation: { factor: 2, max: "30d", memory: "30d" },
    }),
  checkpoint_interval: positiveDuration.default("1s"),
  /** One optional section per enforcer plugin, checked by the plugin's own schema. */
  enforcers: z
    .strictObject(
      Object.fromEntries(ENFORCER_PLUGINS.map((p) => [p.id, p.configSchema.optional()])),
    )
    .default({}),
  /** Mail-specific watches (docs/postfix.md). */
  mail: z
    .strictObject({
      queue_watch: z
        .strictObject({
          every: duration.default("60s"),
          postfix_config_dir: z.string().optional(),
          sender_threshold: z.number().int().min(1).default(100),
        })
        .optional(),
    })
    .default({}),
  /** Lists imported as decisions and kept current (docs/lists.md). */
  lists: ListsSchema,
  /** Sign-up and form assessment (docs/guard.md). */
  guard: GuardConfigSchema.prefault({}),
  /** Surges per form and route, and the under-attack mode (docs/guard-surge.md). */
  surge: SurgeConfigSchema.prefault({}),
  /** Scores with decay, reports from scripts, peers' signed feeds (docs/reputation.md). */
  reputation: ReputationConfigSchema.prefault({}),
  /** Reports of bans to the attacking networks' abuse desks (docs/abuse-reports.md). */
  abuse_reports: AbuseReportsConfigSchema.prefault({}),
});

export type ConfigFile = z.infer<typeof ConfigSchema>;
export type FileSourceConfig = z.infer<typeof FileSourceSchema>;
export type JournaldSourceConfig = z.infer<typeof JournaldSourceSchema>;
export type SourceConfig = FileSourceConfig | JournaldSourceConfig;

export interface Config extends Omit<ConfigFile, "sources"> {
  readonly sources: readonly SourceConfig[];
  /** Where the configuration came from, for messages. */
  readonly origin: string;
  /** Sources found on the host when the configuration names none. */
  readonly autodetected: boolean;
}

/** The logs a Debian-like host keeps, in the order they are tried. */
export const USUAL_LOGS: readonly { name: string; type: FileSourceConfig["type"]; path: string }[] =
  [
    { name: "mail", type: "syslog", path: "/var/log/mail.log" },
    { name: "mail", type: "syslog", path: "/var/log/maillog" },
    { name: "dovecot", type: "syslog", path: "/var/log/dovecot.log" },
    { name: "nginx", type: "nginx", path: "/var/log/nginx/access.log" },
    { name: "apache", type: "apache", path: "/var/log/apache2/access.log" },
  ];

function detectSources(exists: (p: string) => boolean): FileSourceConfig[] {
  const out: FileSourceConfig[] = [];
  const names = new Set<string>();
  for (const l of USUAL_LOGS) {
    if (!exists(l.path) || names.has(l.name)) continue;
    names.add(l.name);
    out.push({ name: l.name, type: l.type, paths: [l.path], from: "end", poll: "250ms" });
  }
  return out;
}

export function defaultConfig(exists: (p: string) => boolean = existsSync): Config {
  const parsed = ConfigSchema.parse({});
  const sources = detectSources(exists);
  return deepFreeze({ ...parsed, sources, origin: "embedded defaults", autodetected: true });
}

/** Loads and checks a configuration file; throws CONFIG_INVALID listing every problem. */
export async function loadConfig(
  file: string,
  exists: (p: string) => boolean = existsSync,
): Promise<Config> {
  const r = await loadYamlFile(file, ConfigSchema);
  if (!r.ok) {
    const unreadable = r.problems.length === 1 && r.problems[0]!.message.startsWith("cannot read");
    throw new RempartError(
      unreadable ? "CONFIG_UNREADABLE" : "CONFIG_INVALID",
      r.problems.map(formatProblem).join("\n"),
      {
        hint: unreadable
          ? "check the path given to --config"
          : "see docs/configuration.md for every key",
      },
    );
  }
  const second = r.values[1];
  if (second !== undefined)
    throw new RempartError(
      "CONFIG_INVALID",
      `${file}:${second.line}: a second YAML document ("---"): the configuration is one document`,
      { hint: "merge the documents into one, or remove the extra ---" },
    );
  const value = r.values[0]?.value ?? ConfigSchema.parse({});
  const sources = value.sources ?? detectSources(exists);
  return deepFreeze({
    ...value,
    sources,
    origin: resolve(file),
    autodetected: value.sources === undefined,
  });
}

/** The host's own addresses, which are never banned. */
export function hostAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) out.push(a.address.split("%")[0]!);
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === "object" && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
