/**
 * Replay: the daemon's own pipeline over old logs at full speed, with the events' own times as
 * the clock. Same engine, same policy, same decisions as live; results as JSON lines.
 */
import { open } from "node:fs/promises";
import type { Writable } from "node:stream";
import { parseDuration, RempartError, type Event, type LineParser } from "../core/index.ts";
import { readFileLines } from "../sources/file/index.ts";
import { parserPlugin, sniffFormat } from "../sources/index.ts";
import { buildDetection } from "./compose.ts";
import type { Config } from "./config.ts";
import { Pipeline } from "./pipeline.ts";
import { alertLine, decisionLine, LineWriter, verdictLine } from "./replay-writer.ts";
import {
  GuardNetworks,
  isAssessed,
  startGuard,
  submissionFromEvent,
  type RunningGuard,
} from "../guard/index.ts";
import { ReputationBook, ReputationConfigSchema, scoreDecision } from "../reputation/index.ts";

/** Formats whose events carry addresses worth an AS look-up. */
const USES_NETWORKS = new Set(["nginx", "apache", "json"]);
const quiet = (): void => undefined;

export interface ReplayOptions {
  readonly files: readonly string[];
  /** A parser id (syslog, nginx, apache, json, …) or "auto". */
  readonly type: string;
  readonly year?: number;
  readonly timeZone?: string;
  readonly format?: string;
  /** With `guard` (and `data_dir`, where the guard's secret is), sign-ups and form posts get verdicts. */
  readonly config: Pick<Config, "scenarios" | "policy"> &
    Partial<Pick<Config, "guard" | "surge" | "data_dir" | "reputation">>;
  readonly hostAddresses: readonly string[];
  readonly output: Writable;
  /** Called now and then with the bytes read so far and in all (for a progress bar). */
  readonly progress?: (done: number, total: number) => void;
}

export interface ReplaySummary {
  readonly lines: number;
  readonly parseFailures: number;
  readonly firstFailures: readonly string[];
  readonly events: number;
  readonly byType: Readonly<Record<string, number>>;
  readonly alerts: number;
  readonly decisions: number;
  /** Decisions the safety policy refused (allowlisted or private addresses, wide ranges). */
  readonly refused: number;
  readonly seconds: number;
  readonly formats: Readonly<Record<string, string>>;
}

async function detectFormat(path: string): Promise<string> {
  const fh = await open(path, "r").catch((e: unknown) => {
    throw new RempartError(
      "SOURCE_UNREADABLE",
      `cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      { cause: e },
    );
  });
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0).catch((e: unknown) => {
      throw new RempartError(
        "SOURCE_UNREADABLE",
        `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
        { cause: e, hint: "name log files, not directories" },
      );
    });
    const lines = buf
      .subarray(0, bytesRead)
      .toString("utf8")
      .split("\n")
      .slice(0, 200)
      .filter((l) => l.length > 0);
    const found = sniffFormat(lines);
    if (found === undefined) {
      throw new RempartError("SOURCE_UNREADABLE", `cannot tell the format of ${path}`, {
        hint: "give it with --type syslog|nginx|apache|json",
      });
    }
    return found;
  } finally {
    await fh.close();
  }
}

export async function replay(options: ReplayOptions): Promise<ReplaySummary> {
  const started = performance.now();
  let seq = 0;
  const newId = (): string => `r${(++seq).toString(36)}`;
  const cfg = options.config;
  const dataDir = cfg.data_dir ?? "./data";
  // The AS data is loaded only for the formats that use it (web logs, application events):
  // a mail log replays without paying for it.
  const networks =
    cfg.guard === undefined ? undefined : new GuardNetworks(cfg.guard.networks, dataDir, quiet);
  const detection = await buildDetection(
    cfg,
    options.hostAddresses,
    newId,
    {},
    {
      ...(cfg.surge === undefined ? {} : { config: cfg.surge }),
      ...(networks === undefined ? {} : { asLookup: networks.as }),
    },
  );
  const writer = new LineWriter(options.output);
  // The replay's own decisions are scored as the daemon scores its own: the guard's verdicts
  // read the same reputation as live (reports of scripts and peers are not in a log).
  const reputationConfig = cfg.reputation ?? ReputationConfigSchema.parse({});
  const reputation = new ReputationBook({
    halfLifeMs: parseDuration(reputationConfig.half_life)!,
    maxEntries: reputationConfig.max_entries,
  });
  const protection = (ip: string): string | undefined => detection.policy.protection("ip", ip);
  const pipeline = new Pipeline({
    ...detection,
    newId,
    output: {
      decision: (d) => {
        scoreDecision(reputation, d, protection);
        writer.push(decisionLine(d));
      },
      ended: () => undefined,
      alert: (a) => writer.push(alertLine(a)),
    },
  });

  let guard: RunningGuard | undefined;
  const startReplayGuard = (): Promise<RunningGuard> =>
    startGuard(cfg.guard!, {
      dataDir,
      networks: networks!,
      book: pipeline.book,
      ...(detection.surge === undefined ? {} : { surge: detection.surge }),
      reputation: (ip, now) => reputation.confidence(ip, now),
      live: false,
      log: quiet,
    });
  const sizes: number[] = [];
  for (const f of options.files) {
    const fh = await open(f, "r").catch((e: unknown) => {
      throw new RempartError(
        "SOURCE_UNREADABLE",
        `cannot open ${f}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
        {
          cause: e,
          hint: "check the path and that Rempart may read it",
        },
      );
    });
    sizes.push((await fh.stat()).size);
    await fh.close();
  }
  const total = sizes.reduce((a, b) => a + b, 0);
  let doneBefore = 0;
  let lines = 0;
  let parseFailures = 0;
  const firstFailures: string[] = [];
  const formats: Record<string, string> = {};

  for (const [i, file] of options.files.entries()) {
    const type = options.type === "auto" ? await detectFormat(file) : options.type;
    const plugin = parserPlugin(type);
    if (!plugin)
      throw new RempartError("USAGE", `unknown --type "${type}"`, {
        hint: "use syslog, postfix, dovecot, nginx, apache or json",
      });
    formats[file] = plugin.id;
    if (networks !== undefined && USES_NETWORKS.has(plugin.id)) await networks.start();
    const parser: LineParser = plugin.create({
      ...(options.year === undefined ? {} : { year: options.year }),
      ...(options.timeZone === undefined ? {} : { timeZone: options.timeZone }),
      ...(options.format === undefined ? {} : { format: options.format }),
    });
    await readFileLines(
      file,
      async (batch) => {
        const { lines: ls, offsets } = batch;
        for (let k = 0; k < ls.length; k++) {
          const line = ls[k]!;
          if (line.length === 0) continue;
          const r = parser.parse(line, { source: file, offset: offsets[k]! });
          if (!r.ok) {
            parseFailures++;
            if (firstFailures.length < 5)
              firstFailures.push(`${file} at byte ${offsets[k]!}: ${r.error.message}`);
            continue;
          }
          const events: readonly Event[] = r.value;
          for (let j = 0; j < events.length; j++) {
            const e = events[j]!;
            // The verdict as the live API would have answered at that moment: before the
            // submission itself reaches detection, as live.
            if (networks !== undefined && isAssessed(e)) {
              const s = submissionFromEvent(e);
              if (s !== undefined) {
                guard ??= await startReplayGuard();
                writer.push(verdictLine(e, await guard.guard.assess(s)));
              }
            }
            pipeline.ingest(e);
          }
        }
        lines += ls.length;
        options.progress?.(doneBefore + (batch.position.offset ?? 0), total);
        if (writer.pending > 1 << 18) await writer.flush();
      },
      { source: file },
    );
    doneBefore += sizes[i]!;
  }
  await writer.flush();
  await guard?.stop();
  const c = pipeline.counters;
  return {
    lines,
    parseFailures,
    firstFailures,
    events: c.events,
    byType: { ...c.byType },
    alerts: c.alerts,
    decisions: c.decisions,
    refused: c.refused,
    seconds: (performance.now() - started) / 1000,
    formats,
  };
}

/** The human summary for stderr. */
export function formatSummary(s: ReplaySummary): string {
  const rate = s.seconds > 0 ? Math.round(s.lines / s.seconds) : s.lines;
  const types = Object.entries(s.byType)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `  ${t.padEnd(22)} ${n}`)
    .join("\n");
  const failures =
    s.firstFailures.length > 0
      ? `\nfirst parse failures:\n${s.firstFailures.map((f) => `  ${f}`).join("\n")}`
      : "";
  return (
    `replayed ${s.lines} lines in ${s.seconds.toFixed(2)} s (${rate} lines/s); ` +
    `${s.events} events, ${s.alerts} alerts, ${s.decisions} decisions${s.refused > 0 ? ` (${s.refused} more refused by the policy: allowlisted or private addresses, ranges too wide)` : ""}, ${s.parseFailures} parse failures\n` +
    `events by type:\n${types || "  (none)"}${failures}\n`
  );
}
