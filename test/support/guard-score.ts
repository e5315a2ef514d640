/**
 * Scores the guard on a replay log: runs `rempart replay --type json` as a user would, reads
 * its `verdict` lines, joins them with the ground truth (a separate file keyed by event id) and
 * counts verdicts per campaign, with the reasons that moved the misses.
 */
import { execFile } from "node:child_process";
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { BIN } from "./replay.ts";
import type { Truth } from "./guard-world.ts";

const run = promisify(execFile);

export const VERDICTS = ["allow", "challenge", "verify", "deny"] as const;
export type Verdict = (typeof VERDICTS)[number];

export interface VerdictLine {
  readonly kind: "verdict";
  readonly event: string;
  readonly verdict: Verdict;
  readonly score: number;
  readonly reasons: readonly string[];
}

export interface ReplayRun {
  readonly seconds: number;
  readonly stderr: string;
  readonly verdicts: Map<string, VerdictLine>;
  /** Other lines (decisions, alerts) by kind. */
  readonly otherLines: Readonly<Record<string, number>>;
}

async function* lines(path: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  for await (const line of rl) if (line.length > 0) yield line;
}

/** `rempart replay --type json --config CONFIG --output OUT EVENTS`, then its verdicts. */
export async function replayVerdicts(
  events: string,
  config: string,
  out: string,
): Promise<ReplayRun> {
  const started = performance.now();
  const { stderr } = await run(
    process.execPath,
    [BIN, "replay", "--type", "json", "--config", config, "--output", out, events],
    { maxBuffer: 64 << 20 },
  );
  const seconds = (performance.now() - started) / 1000;
  const verdicts = new Map<string, VerdictLine>();
  const otherLines: Record<string, number> = {};
  for await (const line of lines(out)) {
    const v = JSON.parse(line) as { kind: string };
    if (v.kind === "verdict") {
      const l = v as VerdictLine;
      verdicts.set(l.event, l);
    } else otherLines[v.kind] = (otherLines[v.kind] ?? 0) + 1;
  }
  return { seconds, stderr, verdicts, otherLines };
}

export async function readTruth(path: string): Promise<Truth[]> {
  const out: Truth[] = [];
  for await (const line of lines(path)) out.push(JSON.parse(line) as Truth);
  return out;
}

export interface CampaignScore {
  readonly campaign: string;
  readonly truth: Truth["truth"];
  n: number;
  readonly by: Record<Verdict | "missing", number>;
  /** Reasons among this campaign's misses (fakes allowed; real people asked for more). */
  readonly missReasons: Map<string, number>;
  /** A few ids of misses, to look at. */
  readonly missIds: string[];
}

export interface Scores {
  readonly campaigns: CampaignScore[];
  /** Real, and abuse (fake or scripted), over every campaign. */
  readonly real: CampaignScore;
  readonly abuse: CampaignScore;
  readonly rule: MissRule;
}

/** Whether a verdict stops the abuse: for a petition anything but allow; for sign-ups, verify or deny. */
export type Caught = (v: Verdict | "missing") => boolean;
export const notAllowed: Caught = (v) => v !== "allow" && v !== "missing";
export const heldOrDenied: Caught = (v) => v === "verify" || v === "deny";

/** What counts as a miss: abuse not caught; a real person asked for more (petition) or denied (sign-ups). */
export interface MissRule {
  readonly caught: Caught;
  readonly realMiss: Caught;
}
export const PETITION_MISSES: MissRule = { caught: notAllowed, realMiss: (v) => v !== "allow" };
export const SIGNUP_MISSES: MissRule = { caught: heldOrDenied, realMiss: (v) => v === "deny" };

function empty(campaign: string, truth: Truth["truth"]): CampaignScore {
  return {
    campaign,
    truth,
    n: 0,
    by: { allow: 0, challenge: 0, verify: 0, deny: 0, missing: 0 },
    missReasons: new Map(),
    missIds: [],
  };
}

function add(s: CampaignScore, t: Truth, v: VerdictLine | undefined, o: MissRule): void {
  const verdict = v?.verdict ?? "missing";
  s.n++;
  s.by[verdict]++;
  if (t.truth === "real" ? o.realMiss(verdict) : !o.caught(verdict)) {
    if (s.missIds.length < 5) s.missIds.push(t.id);
    for (const r of v?.reasons ?? ["(no verdict line)"])
      s.missReasons.set(r, (s.missReasons.get(r) ?? 0) + 1);
    if (v !== undefined && v.reasons.length === 0)
      s.missReasons.set("(no reason)", (s.missReasons.get("(no reason)") ?? 0) + 1);
  }
}

/** Joins verdicts and truth. An event without a verdict line counts as `missing` (a bug). */
export function score(
  truth: readonly Truth[],
  verdicts: ReadonlyMap<string, VerdictLine>,
  rule: MissRule = PETITION_MISSES,
): Scores {
  const byCampaign = new Map<string, CampaignScore>();
  const real = empty("all real", "real");
  const abuse = empty("all abuse", truth.find((t) => t.truth !== "real")?.truth ?? "fake");
  for (const t of truth) {
    let s = byCampaign.get(t.campaign);
    if (s === undefined) byCampaign.set(t.campaign, (s = empty(t.campaign, t.truth)));
    const v = verdicts.get(t.id);
    add(s, t, v, rule);
    add(t.truth === "real" ? real : abuse, t, v, rule);
  }
  const campaigns = [...byCampaign.values()].sort((a, b) =>
    a.truth === b.truth ? b.n - a.n : a.truth === "real" ? -1 : 1,
  );
  return { campaigns, real, abuse, rule };
}

export const pct = (part: number, whole: number): number =>
  whole === 0 ? 0 : (100 * part) / whole;
const fmt = (x: number): string => (x === 0 ? "0" : x < 0.01 ? "<0.01" : x.toFixed(2));

/** A markdown table: one row per campaign, then the totals. */
export function table(s: Scores): string {
  const head =
    "| campaign | truth | events | allow % | challenge % | verify % | deny % | no verdict |\n" +
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |";
  const row = (c: CampaignScore): string =>
    `| ${c.campaign} | ${c.truth} | ${c.n} | ${fmt(pct(c.by.allow, c.n))} | ${fmt(pct(c.by.challenge, c.n))} | ` +
    `${fmt(pct(c.by.verify, c.n))} | ${fmt(pct(c.by.deny, c.n))} | ${c.by.missing} |`;
  return [head, ...s.campaigns.map(row), row(s.real), row(s.abuse)].join("\n");
}

/** The reasons behind the misses of each campaign that has any, most frequent first. */
export function missReport(s: Scores, top = 6): string {
  const out: string[] = [];
  for (const c of s.campaigns) {
    const caught = VERDICTS.reduce((a, v) => a + (s.rule.caught(v) ? c.by[v] : 0), 0);
    const misses =
      c.truth === "real"
        ? VERDICTS.reduce((a, v) => a + (s.rule.realMiss(v) ? c.by[v] : 0), 0)
        : c.n - caught;
    if (misses === 0) continue;
    const reasons = [...c.missReasons.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([r, n]) => `${r} ${n}`)
      .join(", ");
    const what = c.truth === "real" ? "missed" : "let through";
    out.push(
      `- ${c.campaign}: ${misses} ${what}; reasons: ${reasons || "none"}; e.g. ${c.missIds.join(" ")}`,
    );
  }
  return out.join("\n");
}

export interface Target {
  readonly name: string;
  readonly value: number;
  readonly limit: number;
  /** `max`: value ≤ limit; `min`: value ≥ limit. */
  readonly kind: "max" | "min";
}

export const met = (t: Target): boolean =>
  t.kind === "max" ? t.value <= t.limit : t.value >= t.limit;

export function targetLines(targets: readonly Target[]): string {
  return targets
    .map(
      (t) =>
        `- ${t.name}: ${t.value.toFixed(3)} % (target ${t.kind === "max" ? "≤" : "≥"} ${t.limit} %) → ${met(t) ? "met" : "MISSED"}`,
    )
    .join("\n");
}

/** The petition's targets (issue #5): fakes allowed, real denied, real asked for more. */
export function petitionTargets(s: Scores): Target[] {
  const fakesAllowed = s.abuse.by.allow + s.abuse.by.missing;
  return [
    { name: "fakes allowed", value: pct(fakesAllowed, s.abuse.n), limit: 0.5, kind: "max" },
    { name: "real signers denied", value: pct(s.real.by.deny, s.real.n), limit: 0.2, kind: "max" },
    {
      name: "real signers asked for more than the invisible proof of work",
      value: pct(s.real.n - s.real.by.allow, s.real.n),
      limit: 5,
      kind: "max",
    },
  ];
}

/** The sign-ups' targets (issue #5): scripted held or refused, real people denied. */
export function signupTargets(s: Scores): Target[] {
  return [
    {
      name: "scripted sign-ups verify or deny",
      value: pct(s.abuse.by.verify + s.abuse.by.deny, s.abuse.n),
      limit: 99,
      kind: "min",
    },
    { name: "real people denied", value: pct(s.real.by.deny, s.real.n), limit: 0.5, kind: "max" },
  ];
}

/** The bench's guard secret: fixed, so the generated tokens and solutions verify in replay. */
export const BENCH_SECRET = "5e1f0c2a9b7d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f";

/** Which guard configuration a bench replays with. */
export type BenchVariant = "docs" | "recommended";

/**
 * The configuration the benchmarks replay with, the bench's secret and the generated Tor exit
 * list. `docs`: the example of docs/guard.md as it stands. `recommended`: what the benchmarks
 * show a petition and a paid sign-up need (bench/guard-accuracy.md): a petition's identity is
 * the signer's name only (short comments such as "Bravo" are shared by many real people), and
 * a sign-up is held until its e-mail is confirmed or its payment clears (seed 001: nothing
 * local tells a scripted sign-up through a residential proxy or a real bank account from a
 * person; the payment does).
 */
export function benchConfig(
  dataDir: string,
  torFile?: string,
  variant: BenchVariant = "recommended",
): string {
  const tor =
    torFile === undefined ? "" : `\n  networks:\n    tor: { file: ${JSON.stringify(torFile)} }`;
  const identities =
    variant === "docs" ? "[[first_name, last_name], [comment]]" : "[[first_name, last_name]]";
  const held =
    variant === "docs"
      ? ""
      : `
    - name: signups-held-until-paid
      when: 'type == "signup"'
      verdict: verify`;
  return `data_dir: ${JSON.stringify(dataDir)}
guard:
  pow: { secret: "${BENCH_SECRET}" }${tor}
  night: { from: 0, to: 6, timezone: Europe/Paris }
  forms:
    petition:
      kind: form.submit
      identities: ${identities}
      unique_email: true
      email_weight: 0.5
      tor: challenge
    signup:
      kind: signup
      identities: [[first_name, last_name]]
      unique_email: true
      tor: deny
      hosting_at_night: verify
      min_fill: 5s
  policies:
    - name: hosting-signups-at-night
      when: 'type == "signup" && fields.hosting && fields.night'
      verdict: verify${held}
`;
}
