/**
 * The `rempart` command: offline commands (replay, explain, keys) and a client of the running
 * daemon's API (decisions, alerts, check). Errors say what, where, and how to fix it.
 */
import { version } from "./version.ts";
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { setFlagsFromString } from "node:v8";
import {
  formatTime,
  isRempartError,
  parseDuration,
  RempartError,
  type Event,
} from "../core/index.ts";
import { defaultConfig, hostAddresses, loadConfig, type Config } from "../daemon/config.ts";
import { buildDetection } from "../daemon/compose.ts";
import type { SurgeDetector } from "../guard/surge/index.ts";
import { formatSummary, replay } from "../daemon/replay.ts";
import { parserPlugin } from "../sources/index.ts";
import type { z } from "zod";
import type { AppealView, DecisionView, ROUTES } from "../http/routes.ts";
import { call, clientOptions, type ClientOptions } from "./api-client.ts";

const USAGE = `rempart — abuse defence for small operators

usage: rempart <command> [options]

  start [--config FILE]                 run the daemon (embedded defaults without --config)
  replay [--type T] [--year Y] [--tz Z] [--format F] [--output FILE] [--config FILE] FILE...
                                        run detection over old logs at full speed; JSON lines out
  explain --type T [--year Y] [--tz Z] [--format F] [--config FILE] LINE...
                                        show how lines parse, which scenarios they feed and
                                        which surge target they count for
  check [--ip IP] [--account A] [--email E]
                                        active decisions for a subject (asks the daemon)
  decisions list [--scope S] [--value V] [--action A] [--all] [--limit N] [--json]
  decisions add --scope S --value V --action A [--duration 4h|forever] [--reason TEXT]
  decisions delete ID
  decisions import --format F [--action ban] [--duration 24h] [--name N] [--skip-invalid] FILE|-
                                        add a list's entries as decisions (asks the daemon)
  decisions export --format plain|aggregated|nft|ipset|rbldnsd|rbldnsd6|csv [--scope ip|range]
                   [--action A,…|all] [--config FILE]
                                        active decisions as a list (reads the database; a
                                        firewall's formats hold bans unless --action says)
  alerts list [--scenario NAME] [--since 1h] [--limit N] [--json]
  keys create NAME --role admin|sensor|bouncer [--config FILE]
  keys list [--json] [--config FILE]
  keys delete NAME|ID [--config FILE]   revoke a key (a running daemon refuses it within a minute)
  reputation show IP [--max-age 30d] [--limit N] [--json]
                                        why an address is suspect: its score, its network's,
                                        the decisions and reports (asks the daemon)
  reputation forget IP                  delete every report about an address (asks the daemon)
  reputation key [--config FILE]        the public key this site's feed is signed with
  appeals list [--status open|forgiven|refused|all] [--json]
                                        people's requests that an address be forgiven
  appeals forgive|refuse ID [--note TEXT]
                                        answer one: forgive lifts the address's own decisions
                                        and forgets its reports
  abuse-reports list [--status pending|sent|no-contact|failed] [--json]
  abuse-reports send                    what was reported to the attackers' abuse desks; send
                                        the queued reports now
  demo [--config FILE] [--listen 127.0.0.1:8090] [--api URL] [--key KEY] [--trust-forwarded-for]
                                        serve example petition and sign-up pages that ask the
                                        daemon's guard (a key is made with --config, else --key)
  mail release ACCOUNT [--delete] [--sender ADDRESS] [--postfix-config DIR]
                                        lift an account's hold/suspension and release (or delete)
                                        its messages in Postfix's hold queue

API commands read the daemon's address from --url or REMPART_URL (default http://127.0.0.1:8080)
and the key from --key or REMPART_API_KEY. --type takes syslog (Postfix and Dovecot),
postfix, dovecot, nginx, apache, json, or auto (the default for replay).
`;

type Values = Record<string, string | boolean | string[] | undefined>;

/**
 * The command's options and arguments. A command that takes no arguments refuses one: a file
 * given without `--config` would otherwise be ignored, and the daemon run on its defaults.
 */
function parse(
  args: string[],
  options: ParseArgsConfig["options"],
  where: string,
  takesArguments = false,
): { values: Values; positionals: string[] } {
  let r;
  try {
    r = parseArgs({
      args,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new RempartError("USAGE", `${where}: ${(e as Error).message}`, {
      hint: "see `rempart --help`",
    });
  }
  const [extra] = r.positionals;
  if (!takesArguments && extra !== undefined)
    throw new RempartError("USAGE", `${where}: unexpected argument "${extra.slice(0, 80)}"`, {
      hint:
        "config" in (options ?? {})
          ? "give a configuration file with --config FILE"
          : "see `rempart --help`",
    });
  return { values: r.values, positionals: r.positionals };
}

const str = (v: Values, k: string): string | undefined =>
  typeof v[k] === "string" ? v[k] : undefined;

/** String options, for parseArgs. */
const strings = (...names: string[]): Record<string, { type: "string" }> =>
  Object.fromEntries(names.map((n) => [n, { type: "string" as const }]));

/** The query string of the options that were given. */
function query(v: Values, names: readonly string[]): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of names) {
    const x = str(v, k);
    if (x !== undefined) q.set(k, x);
  }
  return q;
}

const API_OPTIONS = {
  ...strings("url", "key"),
  json: { type: "boolean" },
} as const;

function client(v: Values): ClientOptions {
  return clientOptions(str(v, "url"), str(v, "key"));
}

async function config(v: Values): Promise<Config> {
  const file = str(v, "config");
  return file === undefined ? defaultConfig() : loadConfig(file);
}

function yearOf(v: Values): number | undefined {
  const y = str(v, "year");
  if (y === undefined) return undefined;
  if (!/^\d{4}$/.test(y))
    throw new RempartError("USAGE", `--year: "${y}" is not a year`, { hint: "e.g. --year 2024" });
  return Number(y);
}

function timeZoneOf(v: Values): string | undefined {
  const tz = str(v, "tz");
  if (tz === undefined) return undefined;
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
  } catch {
    throw new RempartError("USAGE", `--tz: "${tz}" is not a time zone`, {
      hint: "use an IANA name such as Europe/Paris or UTC",
    });
  }
  return tz;
}

const out = (s: string): void => void process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);

/** A decision as the API sends it. */
type ApiDecision = z.infer<typeof DecisionView>;

function decisionRow(d: ApiDecision): string {
  return `${d.id}  ${d.action.padEnd(9)} ${d.scope.padEnd(8)} ${d.value.padEnd(28)} until ${d.until ?? "deleted"}  ${d.scenario}: ${d.reason}`;
}

/** The file --output names, opened before the replay starts: a path that cannot be written is said now. */
async function openOutput(file: string): Promise<WriteStream> {
  const stream = createWriteStream(file);
  await new Promise<void>((resolve, reject) => {
    stream.once("open", () => resolve());
    stream.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new RempartError("USAGE", `replay: cannot write ${file} (${e.code ?? e.message})`, {
          hint: "give --output a file in a directory that exists, or - for standard output",
        }),
      ),
    );
  });
  return stream;
}

async function cmdReplay(args: string[]): Promise<number> {
  const { values: v, positionals: files } = parse(
    args,
    {
      ...strings("type", "year", "tz", "format"),
      output: { type: "string", short: "o" },
      config: { type: "string" },
    },
    "replay",
    true,
  );
  if (files.length === 0)
    throw new RempartError("USAGE", "replay: name at least one log file", {
      hint: "rempart replay /var/log/mail.log",
    });
  const type = str(v, "type") ?? "auto";
  if (type !== "auto" && !parserPlugin(type))
    throw new RempartError("USAGE", `replay: unknown --type "${type}"`, {
      hint: "use syslog, postfix, dovecot, nginx, apache, json or auto",
    });
  const cfg = await config(v);
  // A replay is a batch read of whole logs: keep its peak memory small rather than its heap
  // roomy. V8 then collects before its heap grows, for some speed (500,000 Postfix lines: peak
  // RSS 186 -> 135 MB, 0.8 -> 1.2 s; bench/RESULTS.md, Ingestion).
  setFlagsFromString("--optimize-for-size");
  const outFile = str(v, "output");
  const output =
    outFile === undefined || outFile === "-" ? process.stdout : await openOutput(outFile);
  const tty = process.stderr.isTTY;
  let lastDraw = 0;
  const year = yearOf(v);
  const tz = timeZoneOf(v);
  const format = str(v, "format");
  const summary = await replay({
    files,
    type,
    ...(year === undefined ? {} : { year }),
    ...(tz === undefined ? {} : { timeZone: tz }),
    ...(format === undefined ? {} : { format }),
    config: cfg,
    hostAddresses: hostAddresses(),
    output,
    ...(tty
      ? {
          progress: (done: number, total: number) => {
            const now = performance.now();
            if (now - lastDraw < 100) return;
            lastDraw = now;
            const width = 30;
            const filled = total > 0 ? Math.round((done / total) * width) : width;
            process.stderr.write(
              `\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${total > 0 ? Math.round((done / total) * 100) : 100}%`,
            );
          },
        }
      : {}),
  });
  if (tty) process.stderr.write("\r\x1b[K");
  if (output !== process.stdout)
    await new Promise<void>((resolve, reject) =>
      output.end((e?: Error | null) => (e ? reject(e) : resolve())),
    );
  process.stderr.write(formatSummary(summary));
  // Nothing read at all is no "nothing to decide": a wrong --type, or not a log. A script sees it.
  if (summary.lines > 0 && summary.parseFailures === summary.lines) {
    process.stderr.write(
      "rempart: replay: no line could be read: check --type, or that the files are the logs you meant\n",
    );
    return 1;
  }
  return 0;
}

async function cmdExplain(args: string[]): Promise<number> {
  const { values: v, positionals: lines } = parse(
    args,
    {
      ...strings("type", "year", "tz", "format", "config"),
    },
    "explain",
    true,
  );
  const type = str(v, "type");
  if (type === undefined)
    throw new RempartError("USAGE", "explain: give the line's format with --type", {
      hint: "rempart explain --type syslog 'Sep 28 13:01:07 mx postfix/smtpd[1]: …'",
    });
  const plugin = parserPlugin(type);
  if (!plugin)
    throw new RempartError("USAGE", `explain: unknown --type "${type}"`, {
      hint: "use syslog, postfix, dovecot, nginx, apache or json",
    });
  if (lines.length === 0)
    throw new RempartError("USAGE", "explain: give at least one log line", {
      hint: "quote it: rempart explain --type nginx '…'",
    });
  const year = yearOf(v);
  const tz = timeZoneOf(v);
  const format = str(v, "format");
  const parser = plugin.create({
    ...(year === undefined ? {} : { year }),
    ...(tz === undefined ? {} : { timeZone: tz }),
    ...(format === undefined ? {} : { format }),
  });
  const cfg = await config(v);
  // Without AS data: which target an event counts for needs none.
  const { engine, surge } = await buildDetection(
    cfg,
    [],
    () => "explain",
    {},
    { config: cfg.surge },
  );
  for (const [i, line] of lines.entries()) {
    out(`line ${i + 1}: ${line}`);
    const r = parser.parse(line, { source: "explain", offset: i });
    if (!r.ok) {
      out(`  not understood by the ${plugin.id} parser: ${r.error.message}\n`);
      continue;
    }
    if (r.value.length === 0) {
      out(
        "  understood; no event on its own (ignored, or joined with other lines: Postfix joins by queue id)\n",
      );
      continue;
    }
    for (const e of r.value) {
      out(`  event ${e.type} at ${formatTime(e.time, e.tzOffset)}`);
      out(
        `  ${JSON.stringify({ service: e.service, ip: e.ip, account: e.account, email: e.email, fields: e.fields })}`,
      );
      const offered = engine.scenariosFor(e);
      if (offered.length === 0) out("  feeds no scenario");
      for (const o of offered) {
        const verdict = !o.matches
          ? "filter does not match"
          : o.key === undefined
            ? "matches, but the key is missing"
            : `counted under key ${o.key}`;
        out(`  scenario ${o.scenario.name}: ${verdict}`);
      }
      const surgeLine = explainSurge(e, surge);
      if (surgeLine !== undefined) out(`  ${surgeLine}`);
      out("");
    }
  }
  return 0;
}

/** What surge detection makes of an event: the target it counts for, or why none. */
function explainSurge(e: Event, surge: SurgeDetector | undefined): string | undefined {
  const web = e.type === "http.request";
  if (!web && e.type !== "form.submit" && e.type !== "signup") return undefined;
  if (surge === undefined) return "surge detection: off (surge.enabled: false)";
  const target = surge.targetOf(e);
  if (target !== undefined) return `surge detection: counted for ${target}`;
  if (web && typeof e.fields.path === "string")
    return "surge detection: a static asset (no route; it marks the address as a browser)";
  return `surge detection: not counted (no ${web ? "path" : "form"})`;
}

async function cmdCheck(args: string[]): Promise<number> {
  const { values: v } = parse(
    args,
    {
      ...API_OPTIONS,
      ...strings("ip", "account", "email"),
    },
    "check",
  );
  const q = query(v, ["ip", "account", "email"]);
  if (q.size === 0) throw new RempartError("USAGE", "check: give --ip, --account or --email");
  const r = (await call(client(v), "GET", `/v1/check?${q.toString()}`)) as {
    verdict: string;
    decisions: ApiDecision[];
  };
  if (v.json === true) out(JSON.stringify(r, null, 2));
  else {
    out(`verdict: ${r.verdict}`);
    for (const d of r.decisions)
      out(
        `  ${d.action} on ${d.scope} ${d.value} until ${d.until ?? "forever"} — ${d.scenario}: ${d.reason}`,
      );
  }
  return 0;
}

async function cmdDecisions(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "list") {
    const { values: v } = parse(
      rest,
      {
        ...API_OPTIONS,
        ...strings("scope", "value", "action"),
        all: { type: "boolean" },
        limit: { type: "string" },
      },
      "decisions list",
    );
    const q = query(v, ["scope", "value", "action", "limit"]);
    // The API lists the active ones unless told otherwise.
    q.set("active", v.all === true ? "false" : "true");
    const r = (await call(client(v), "GET", `/v1/decisions?${q.toString()}`)) as {
      decisions: ApiDecision[];
    };
    if (v.json === true) out(JSON.stringify(r, null, 2));
    else if (r.decisions.length === 0) out("no decisions");
    else for (const d of r.decisions) out(decisionRow(d));
    return 0;
  }
  if (sub === "add") {
    const { values: v } = parse(
      rest,
      {
        ...API_OPTIONS,
        ...strings("scope", "value", "action", "duration", "reason"),
      },
      "decisions add",
    );
    const scope = str(v, "scope") ?? "ip";
    const value = str(v, "value");
    const action = str(v, "action") ?? "ban";
    if (value === undefined)
      throw new RempartError("USAGE", "decisions add: give --value", {
        hint: "rempart decisions add --scope ip --value 192.0.2.7 --action ban --duration 4h",
      });
    const duration = str(v, "duration") ?? "4h";
    if (duration !== "forever" && !((parseDuration(duration) ?? 0) > 0))
      throw new RempartError("USAGE", `decisions add: --duration "${duration}" is not a duration`, {
        hint: 'e.g. 30m, 4h, 7d, or "forever"',
      });
    const r = (await call(client(v), "POST", "/v1/decisions", {
      action,
      scope,
      value,
      duration: duration === "forever" ? null : duration,
      reason: str(v, "reason") ?? "added by hand",
    })) as { decision: ApiDecision; merged?: boolean };
    out(
      v.json === true
        ? JSON.stringify(r, null, 2)
        : `${r.merged === true ? "already covered by" : "added"}: ${decisionRow(r.decision)}`,
    );
    return 0;
  }
  if (sub === "delete") {
    const { values: v, positionals } = parse(rest, API_OPTIONS, "decisions delete", true);
    if (positionals.length !== 1)
      throw new RempartError("USAGE", "decisions delete: give one decision id", {
        hint: "find it with `rempart decisions list`",
      });
    await call(client(v), "DELETE", `/v1/decisions/${encodeURIComponent(positionals[0]!)}`);
    out(`deleted ${positionals[0]!}`);
    return 0;
  }
  if (sub === "import" || sub === "export") {
    const { importList, exportList } = await import("./lists.ts");
    return sub === "import" ? importList(rest) : exportList(rest);
  }
  throw new RempartError("USAGE", `decisions: unknown subcommand "${sub ?? ""}"`, {
    hint: "use list, add, delete, import or export",
  });
}

async function cmdAlerts(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "list")
    throw new RempartError("USAGE", `alerts: unknown subcommand "${sub ?? ""}"`, {
      hint: "use alerts list",
    });
  const { values: v } = parse(
    rest,
    {
      ...API_OPTIONS,
      ...strings("scenario", "since", "limit"),
    },
    "alerts list",
  );
  const since = str(v, "since");
  if (since !== undefined && parseDuration(since) === undefined) {
    throw new RempartError("USAGE", `alerts list: --since "${since}" is not a duration`, {
      hint: "e.g. --since 1h",
    });
  }
  const q = query(v, ["scenario", "since", "limit"]);
  const r = (await call(client(v), "GET", `/v1/alerts?${q.toString()}`)) as {
    alerts: {
      at: string | number;
      scenario: string;
      scope: string;
      value: string;
      count: number;
      message: string;
    }[];
  };
  if (v.json === true) out(JSON.stringify(r, null, 2));
  else if (r.alerts.length === 0) out("no alerts");
  else
    for (const a of r.alerts)
      out(`${String(a.at)}  ${a.scenario}  ${a.scope} ${a.value}  (${a.count})  ${a.message}`);
  return 0;
}

async function cmdKeys(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "list") {
    const { values: v } = parse(
      rest,
      { config: { type: "string" }, json: { type: "boolean" } },
      "keys list",
    );
    const { listKeysOffline } = await import("./keys.ts");
    const keys = await listKeysOffline(await config(v));
    const shown = keys.map((k) => ({
      id: k.id,
      name: k.name,
      role: k.role,
      created: new Date(k.createdAt).toISOString(),
    }));
    if (v.json === true) out(JSON.stringify({ keys: shown }, null, 2));
    else if (shown.length === 0) out("no keys");
    else for (const k of shown) out(`${k.id}  ${k.role.padEnd(8)} ${k.created}  ${k.name}`);
    return 0;
  }
  if (sub === "delete") {
    const { values: v, positionals } = parse(
      rest,
      { config: { type: "string" } },
      "keys delete",
      true,
    );
    if (positionals.length !== 1)
      throw new RempartError("USAGE", "keys delete: give one key's NAME or ID", {
        hint: "rempart keys delete firewall (rempart keys list shows them)",
      });
    const { deleteKeyOffline } = await import("./keys.ts");
    const key = await deleteKeyOffline(await config(v), positionals[0]!);
    out(
      `deleted: ${key.id} (${key.role}) ${key.name}\n(a running daemon refuses it within a minute)`,
    );
    return 0;
  }
  if (sub !== "create")
    throw new RempartError("USAGE", `keys: unknown subcommand "${sub ?? ""}"`, {
      hint: "use keys create NAME --role admin|sensor|bouncer, keys list, or keys delete NAME",
    });
  const { values: v, positionals } = parse(
    rest,
    { role: { type: "string" }, config: { type: "string" } },
    "keys create",
    true,
  );
  const role = str(v, "role");
  const hint = "rempart keys create firewall --role bouncer";
  if (positionals.length !== 1)
    throw new RempartError("USAGE", "keys create: give one NAME", { hint });
  if (role !== "admin" && role !== "sensor" && role !== "bouncer")
    throw new RempartError(
      "USAGE",
      role === undefined
        ? "keys create: give --role admin, sensor or bouncer"
        : `keys create: "${role}" is not a role; use admin, sensor (an application, the guard) or bouncer`,
      { hint },
    );
  const { createKeyOffline } = await import("./keys.ts");
  const key = await createKeyOffline(await config(v), positionals[0]!, role);
  out(`${key}\n(shown once: store it now; Rempart keeps only its hash)`);
  return 0;
}

async function cmdReputation(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "key") {
    const { values: v } = parse(rest, { config: { type: "string" } }, "reputation key");
    const cfg = await config(v);
    const { loadSigner } = await import("../reputation/index.ts");
    const file = cfg.reputation.key_file ?? join(cfg.data_dir, "reputation.key");
    const signer = await loadSigner(file);
    out(`${signer.publicKey}\n(the public half of ${file}: give it to your peers as public_key)`);
    return 0;
  }
  if (sub === "forget") {
    const { values: v, positionals } = parse(rest, API_OPTIONS, "reputation forget", true);
    if (positionals.length !== 1)
      throw new RempartError("USAGE", "reputation forget: give one IP address", {
        hint: "rempart reputation forget 203.0.113.9",
      });
    const r = (await call(
      client(v),
      "DELETE",
      `/v1/reputation/${encodeURIComponent(positionals[0]!)}`,
    )) as { ip: string; forgotten: number };
    out(`${r.ip}: ${r.forgotten} reports forgotten (decisions in force are not touched)`);
    return 0;
  }
  if (sub !== "show")
    throw new RempartError("USAGE", `reputation: unknown subcommand "${sub ?? ""}"`, {
      hint: "use reputation show IP, reputation forget IP, or reputation key",
    });
  const { values: v, positionals } = parse(
    rest,
    { ...API_OPTIONS, ...strings("max-age", "limit") },
    "reputation show",
    true,
  );
  if (positionals.length !== 1)
    throw new RempartError("USAGE", "reputation show: give one IP address", {
      hint: "rempart reputation show 203.0.113.9",
    });
  const q = new URLSearchParams();
  const maxAge = str(v, "max-age");
  if (maxAge !== undefined) q.set("max_age", maxAge);
  const limit = str(v, "limit");
  if (limit !== undefined) q.set("limit", limit);
  const r = (await call(
    client(v),
    "GET",
    `/v1/reputation/${encodeURIComponent(positionals[0]!)}?${q.toString()}`,
  )) as z.output<(typeof ROUTES)["reputation"]["responses"][200]["schema"]>;
  if (v.json === true) {
    out(JSON.stringify(r, null, 2));
    return 0;
  }
  out(
    `${r.ip}: confidence ${r.confidence} (score ${r.score})${r.protected === null ? "" : `; never acted on: ${r.protected}`}`,
  );
  if (r.address !== null)
    out(
      `  address: ${r.address.reports} reports from ${r.address.reporters} reporters, ${r.address.first} to ${r.address.last}, score ${r.address.score}`,
    );
  if (r.network !== null)
    out(
      `  network ${r.network.prefix}: ${r.network.reports} reports, score ${r.network.score} (counts for a quarter)`,
    );
  for (const d of r.decisions)
    out(`  in force: ${d.action} until ${d.until ?? "forever"} — ${d.scenario}: ${d.reason}`);
  out(
    `  ${r.total_reports} reports within the asked age${r.reports.length > 0 ? ", newest first:" : ""}`,
  );
  for (const x of r.reports)
    out(
      `    ${x.time}  ${x.reporter}  ${x.categories.length === 0 ? "" : `[${x.categories.join(",")}] `}×${x.weight}${x.comment === "" ? "" : `  ${x.comment.split("\n")[0]!.slice(0, 100)}`}`,
    );
  return 0;
}

async function cmdAppeals(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "list") {
    const { values: v } = parse(
      rest,
      { ...API_OPTIONS, ...strings("status", "limit") },
      "appeals list",
    );
    const q = query(v, ["status", "limit"]);
    const r = (await call(client(v), "GET", `/v1/appeals?${q.toString()}`)) as {
      appeals: z.output<typeof AppealView>[];
    };
    if (v.json === true) out(JSON.stringify(r, null, 2));
    else if (r.appeals.length === 0) out(`no ${str(v, "status") ?? "open"} appeals`);
    else
      for (const a of r.appeals) {
        out(
          `${a.id}  ${a.created}  ${a.status}  ${a.ip}  from ${a.sender}${a.contact === "" ? "" : `  <${a.contact}>`}`,
        );
        out(`    ${a.message.replaceAll("\n", "\n    ")}`);
        if (a.status !== "open") out(`    → ${a.closed_by}, ${a.closed ?? ""}: ${a.note}`);
      }
    return 0;
  }
  if (sub !== "forgive" && sub !== "refuse")
    throw new RempartError("USAGE", `appeals: unknown subcommand "${sub ?? ""}"`, {
      hint: "use appeals list, appeals forgive ID, or appeals refuse ID",
    });
  const { values: v, positionals } = parse(
    rest,
    { ...API_OPTIONS, ...strings("note") },
    `appeals ${sub}`,
    true,
  );
  if (positionals.length !== 1)
    throw new RempartError("USAGE", `appeals ${sub}: give one appeal's ID`, {
      hint: "rempart appeals list shows them",
    });
  const r = (await call(
    client(v),
    "POST",
    `/v1/appeals/${encodeURIComponent(positionals[0]!)}/${sub}`,
    { note: str(v, "note") ?? "" },
  )) as {
    appeal: z.output<typeof AppealView>;
    lifted?: number;
    forgotten?: number;
    remaining?: ApiDecision[];
  };
  if (v.json === true) out(JSON.stringify(r, null, 2));
  else if (sub === "refuse") out(`refused: ${r.appeal.id} (${r.appeal.ip})`);
  else {
    out(
      `forgiven: ${r.appeal.id} (${r.appeal.ip}): ${r.lifted ?? 0} decisions lifted, ${r.forgotten ?? 0} reports forgotten`,
    );
    for (const d of r.remaining ?? [])
      out(
        `  still in force: ${d.action} on ${d.scope} ${d.value} until ${d.until ?? "forever"} — ${d.scenario}`,
      );
  }
  if (r.appeal.contact !== "") out(`(answer them at ${r.appeal.contact})`);
  return 0;
}

async function cmdAbuseReports(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "send") {
    const { values: v } = parse(rest, API_OPTIONS, "abuse-reports send");
    const r = (await call(client(v), "POST", "/v1/abuse-reports/send")) as {
      sent: number;
      messages: number;
      no_contact: number;
      waiting: number;
      failed: number;
    };
    if (v.json === true) out(JSON.stringify(r, null, 2));
    else
      out(
        `${r.sent} addresses reported in ${r.messages} messages; ${r.no_contact} without an abuse contact, ${r.waiting} waiting for the next round, ${r.failed} given up`,
      );
    return 0;
  }
  if (sub !== "list")
    throw new RempartError("USAGE", `abuse-reports: unknown subcommand "${sub ?? ""}"`, {
      hint: "use abuse-reports list [--status S], or abuse-reports send",
    });
  const { values: v } = parse(
    rest,
    { ...API_OPTIONS, ...strings("status", "limit") },
    "abuse-reports list",
  );
  const q = query(v, ["status", "limit"]);
  const r = (await call(client(v), "GET", `/v1/abuse-reports?${q.toString()}`)) as {
    reports: {
      ip: string;
      created: string;
      scenario: string;
      status: string;
      contact: string;
      attempts: number;
      note: string;
    }[];
  };
  if (v.json === true) out(JSON.stringify(r, null, 2));
  else if (r.reports.length === 0) out("no reports");
  else
    for (const x of r.reports)
      out(
        `${x.created}  ${x.ip}  ${x.status}${x.contact === "" ? "" : ` to ${x.contact}`}  ${x.scenario}${x.note === "" ? "" : `  (${x.note})`}`,
      );
  return 0;
}

async function cmdStart(args: string[]): Promise<number> {
  const { values: v } = parse(args, { config: { type: "string" } }, "start");
  const { runDaemon } = await import("./start.ts");
  return runDaemon(await config(v));
}

async function cmdMail(args: string[]): Promise<number> {
  const { cmdMail: run } = await import("./mail.ts");
  return run(args);
}

async function cmdDemo(args: string[]): Promise<number> {
  const { cmdDemo: run } = await import("./demo.ts");
  return run(args);
}

const COMMANDS: Readonly<Record<string, (args: string[]) => Promise<number>>> = {
  demo: cmdDemo,
  mail: cmdMail,
  start: cmdStart,
  replay: cmdReplay,
  explain: cmdExplain,
  check: cmdCheck,
  decisions: cmdDecisions,
  alerts: cmdAlerts,
  keys: cmdKeys,
  reputation: cmdReputation,
  appeals: cmdAppeals,
  "abuse-reports": cmdAbuseReports,
};

let pipeWatched = false;

export async function main(argv: string[]): Promise<number> {
  if (!pipeWatched) {
    pipeWatched = true;
    // `rempart alerts list | head`: the reader left, and what it did not read is not wanted.
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(0);
      throw e;
    });
  }
  const [command, ...args] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    out(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === "--version") {
    const pkgVersion = await version();
    out(pkgVersion);
    return 0;
  }
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  try {
    if (!run)
      throw new RempartError("USAGE", `unknown command "${command}"`, {
        hint: `commands: ${Object.keys(COMMANDS).join(", ")}`,
      });
    if (args.includes("--help") || args.includes("-h")) {
      out(USAGE);
      return 0;
    }
    return await run(args);
  } catch (e) {
    if (isRempartError(e)) {
      process.stderr.write(
        `rempart: ${e.message}\n${e.hint === undefined ? "" : `  hint: ${e.hint}\n`}`,
      );
      return e.code === "USAGE" ? 2 : 1;
    }
    throw e;
  }
}
