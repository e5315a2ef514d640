/**
 * `rempart decisions import` and `decisions export`. Import goes through the running daemon's
 * API, so that its decision book, its enforcers and its safety policy see every entry at once
 * (a direct write to the database would stay invisible to a running daemon until its
 * restart). Export reads the database, because the API lists at most 1,000 decisions a page.
 */
import { readFile } from "node:fs/promises";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ACTIONS, parseDuration, RempartError } from "../core/index.ts";
import { defaultConfig, loadConfig } from "../daemon/config.ts";
import { openConfiguredStorage } from "../daemon/storage-config.ts";
import type { DnsblConfig } from "../enforcers/dnsbl/dnsbl-config.ts";
import {
  EXPORT_FORMATS,
  FIREWALL_FORMATS,
  isExportFormat,
  isListFormat,
  LIST_FORMAT_NAMES,
  entryScope,
} from "../lists/index.ts";
import { call, type ClientOptions } from "./api-client.ts";

/** Requests in flight at once: enough to keep the daemon busy, few enough to be polite. */
const IN_FLIGHT = 16;

function options(
  args: string[],
  names: string[],
  booleans: string[],
  where: string,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    return parseArgs({
      args,
      options: Object.fromEntries([
        ...names.map((n) => [n, { type: "string" }] as const),
        ...booleans.map((n) => [n, { type: "boolean" }] as const),
      ]) as NonNullable<ParseArgsConfig["options"]>,
      allowPositionals: true,
      strict: true,
    }) as { values: Record<string, string | boolean | undefined>; positionals: string[] };
  } catch (e) {
    throw new RempartError("USAGE", `${where}: ${(e as Error).message}`, {
      hint: "see `rempart --help`",
    });
  }
}

const text = (v: Record<string, unknown>, k: string): string | undefined =>
  typeof v[k] === "string" ? v[k] : undefined;

async function readInput(file: string): Promise<string> {
  if (file !== "-") return readFile(file, "utf8");
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function importList(args: string[]): Promise<number> {
  const { values: v, positionals } = options(
    args,
    ["format", "action", "duration", "name", "url", "key"],
    ["skip-invalid", "json"],
    "decisions import",
  );
  const format = text(v, "format");
  if (format === undefined || !isListFormat(format))
    throw new RempartError(
      "USAGE",
      `decisions import: give --format (${LIST_FORMAT_NAMES.join(", ")})`,
      {
        hint: "rempart decisions import --format spamhaus-drop drop.txt",
      },
    );
  if (positionals.length !== 1)
    throw new RempartError("USAGE", "decisions import: name one file, or - for standard input");
  const action = text(v, "action") ?? "ban";
  if (!(ACTIONS as readonly string[]).includes(action))
    throw new RempartError("USAGE", `decisions import: --action "${action}" is not an action`, {
      hint: ACTIONS.join(", "),
    });
  const duration = text(v, "duration") ?? "24h";
  if (parseDuration(duration) === undefined)
    throw new RempartError(
      "USAGE",
      `decisions import: --duration "${duration}" is not a duration`,
      {
        hint: "e.g. 4h, 24h, 7d",
      },
    );
  const file = positionals[0]!;
  const name = text(v, "name") ?? (file === "-" ? "stdin" : file.replace(/^.*\//, ""));
  let content: string;
  try {
    content = await readInput(file);
  } catch (e) {
    throw new RempartError("INPUT_INVALID", `cannot read ${file}: ${(e as Error).message}`);
  }
  const { LIST_FORMATS } = await import("../lists/index.ts");
  const parsed = LIST_FORMATS[format](content, { skipInvalid: v["skip-invalid"] === true });
  if (!parsed.ok)
    throw new RempartError("INPUT_INVALID", `${file}: ${parsed.error.message}`, {
      hint: "check --format, or give --skip-invalid to skip the lines that do not parse",
    });
  const client: ClientOptions = {
    url: text(v, "url") ?? process.env.REMPART_URL ?? "http://127.0.0.1:8080",
    key: text(v, "key") ?? process.env.REMPART_API_KEY,
  };
  const counts = { created: 0, covered: 0, refused: 0 };
  const refusals: string[] = [];
  const entries = parsed.value.entries;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const e = entries[next++]!;
      try {
        const r = (await call(client, "POST", "/v1/decisions", {
          action,
          scope: entryScope(e.value),
          value: e.value,
          duration,
          reason: `on list ${name}${e.note === undefined ? "" : ` (${e.note})`}`.slice(0, 500),
        })) as { merged?: boolean };
        if (r.merged === true) counts.covered++;
        else counts.created++;
      } catch (err) {
        if (!(err instanceof RempartError) || err.code !== "DECISION_REFUSED") throw err;
        counts.refused++;
        if (refusals.length < 5) refusals.push(err.message.replace(/^POST \/v1\/decisions: /, ""));
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const summary = {
    list: name,
    entries: entries.length,
    ...counts,
    duplicates: parsed.value.duplicates,
    skipped: parsed.value.skipped,
  };
  if (v.json === true) process.stdout.write(`${JSON.stringify({ ...summary, refusals })}\n`);
  else {
    process.stdout.write(
      `${name}: ${entries.length} entries: ${counts.created} added, ${counts.covered} already covered, ${counts.refused} refused by the policy${parsed.value.skipped > 0 ? `, ${parsed.value.skipped} invalid lines skipped` : ""}\n`,
    );
    for (const r of refusals) process.stdout.write(`  refused: ${r}\n`);
  }
  return 0;
}

export async function exportList(args: string[]): Promise<number> {
  const { values: v } = options(
    args,
    ["format", "scope", "action", "config"],
    [],
    "decisions export",
  );
  const format = text(v, "format") ?? "plain";
  if (!isExportFormat(format))
    throw new RempartError("USAGE", `decisions export: unknown --format "${format}"`, {
      hint: Object.keys(EXPORT_FORMATS).join(", "),
    });
  const scope = text(v, "scope");
  if (scope !== undefined && scope !== "ip" && scope !== "range")
    throw new RempartError("USAGE", `decisions export: --scope "${scope}" is not ip or range`, {
      hint: "addresses and ranges are what a list holds; leave --scope out for both",
    });
  // A firewall's list drops what it holds: by default only bans go into one. rbldnsd codes each
  // action, and csv is a record of everything.
  const givenActions = text(v, "action");
  const actions =
    givenActions === "all"
      ? undefined
      : givenActions !== undefined
        ? givenActions.split(",").map((a) => a.trim())
        : FIREWALL_FORMATS.has(format)
          ? ["ban"]
          : undefined;
  for (const a of actions ?? [])
    if (!(ACTIONS as readonly string[]).includes(a))
      throw new RempartError("USAGE", `decisions export: --action "${a}" is not an action`, {
        hint: `${ACTIONS.join(", ")}, a comma-separated list of them, or all`,
      });
  const file = text(v, "config");
  const config = file === undefined ? defaultConfig() : await loadConfig(file);
  const storage = await openConfiguredStorage(config, { existing: true });
  try {
    const decisions = (
      await storage.listDecisions({
        activeAt: Date.now(),
        limit: 100_000_000,
        ...(scope === undefined ? {} : { scope }),
      })
    ).filter((d) => actions === undefined || actions.includes(d.action));
    // rbldnsd's codes are those Rempart's own DNSBL publishes with, when it runs.
    const dnsbl = (config.enforcers as { dnsbl?: DnsblConfig }).dnsbl;
    const context =
      dnsbl === undefined
        ? {}
        : { dnsbl: { codes: dnsbl.codes, scenarioCodes: dnsbl.scenario_codes } };
    process.stdout.write(EXPORT_FORMATS[format](decisions, context));
  } finally {
    await storage.close();
  }
  return 0;
}
