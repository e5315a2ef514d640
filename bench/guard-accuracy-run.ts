/**
 * What bench/guard-petition.ts and bench/guard-signups.ts share: their options, writing the
 * generated log and its ground truth, `rempart replay --type json` with the bench
 * configuration, the score against the truth and the report. Each script names its case.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { guardBrowser } from "../test/support/guard-browser.ts";
import {
  BENCH_SECRET,
  benchConfig,
  met,
  missReport,
  readTruth,
  replayVerdicts,
  score,
  table,
  targetLines,
  type MissRule,
  type Scores,
  type Target,
} from "../test/support/guard-score.ts";
import { prng, type Browser } from "../test/support/guard-world.ts";

export interface GenerateOptions {
  readonly real: number;
  readonly scale: number;
  readonly seed: number;
  readonly browser: Browser;
}

export interface AccuracyCase {
  /** `petition`: the script is bench/guard-<name>.ts, its files <name>.jsonl and so on. */
  readonly name: string;
  readonly title: string;
  readonly defaults: { readonly real: number; readonly seed: number };
  /** Whether the case writes a Tor exit list the configuration reads. */
  readonly tor: boolean;
  generate(
    events: string,
    truth: string,
    tor: string | undefined,
    options: GenerateOptions,
  ): Promise<{ readonly events: number; readonly assessed?: number }>;
  targets(s: Scores): Target[];
  readonly misses?: MissRule;
  /** What the events were: "1,000 events (…)". */
  describe(written: { readonly events: number; readonly assessed?: number }, s: Scores): string;
}

/** Runs the case as its script's command line asks; exits 1 when a target is missed. */
export async function runAccuracyBench(c: AccuracyCase): Promise<void> {
  const { values } = parseArgs({
    options: {
      real: { type: "string", default: String(c.defaults.real) },
      scale: { type: "string", default: "1" },
      seed: { type: "string", default: String(c.defaults.seed) },
      config: { type: "string", default: "recommended" },
      dir: { type: "string", default: `bench/out/guard-${c.name}` },
    },
  });
  const real = Number(values.real);
  const scale = Number(values.scale);
  const seed = Number(values.seed);
  const variant = values.config === "docs" ? "docs" : "recommended";
  const dir = resolve(values.dir);
  await mkdir(join(dir, "data"), { recursive: true });
  const events = join(dir, `${c.name}.jsonl`);
  const truthFile = join(dir, `${c.name}.truth.jsonl`);
  const tor = c.tor ? join(dir, "tor-exits.txt") : undefined;
  const config = join(dir, "rempart.yaml");
  const out = join(dir, "verdicts.jsonl");

  const genStart = performance.now();
  const browser = guardBrowser({ secret: BENCH_SECRET, rnd: prng(seed + 1000) });
  const written = await c.generate(events, truthFile, tor, { real, scale, seed, browser });
  const genSeconds = (performance.now() - genStart) / 1000;
  await writeFile(config, benchConfig(join(dir, "data"), tor, variant));

  const run = await replayVerdicts(events, config, out);
  const s = score(await readTruth(truthFile), run.verdicts, c.misses);
  const targets = c.targets(s);
  const command = `node bench/guard-${c.name}.ts --real ${real} --scale ${scale} --seed ${seed} --config ${variant}`;
  process.stdout.write(
    `## ${c.title} (${command})\n\n` +
      `${c.describe(written, s)}; generated in ${genSeconds.toFixed(1)} s; ` +
      `replay ${run.seconds.toFixed(1)} s wall with start-up, ${Math.round(written.events / run.seconds)} events/s; ` +
      `${run.verdicts.size} verdict lines, other lines ${JSON.stringify(run.otherLines)}\n` +
      `rempart: ${run.stderr.split("\n")[0] ?? ""}\n\n` +
      `${table(s)}\n\n${targetLines(targets)}\n\nMisses:\n${missReport(s) || "- none"}\n`,
  );
  process.exitCode = targets.every(met) ? 0 : 1;
}
