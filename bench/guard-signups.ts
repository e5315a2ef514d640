/**
 * Issue #5's sign-up target: two months of an Iroco-like provider's sign-ups
 * (test/support/signup-log.ts: real people, scripted sign-ups at night from VPSs, Tor, throw-away
 * addresses, residential proxies, a Moroccan operator's fake bank accounts) through
 * `rempart replay --type json`, scored against the ground truth. Prints the verdicts per
 * campaign, the targets, the reasons behind the misses and the replay's speed; exits 1 when a
 * target is missed.
 *
 *   node bench/guard-signups.ts [--real 1500] [--scale 1] [--seed 1] [--config recommended|docs] [--dir bench/out/guard-signups]
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
  SIGNUP_MISSES,
  signupTargets,
  table,
  targetLines,
} from "../test/support/guard-score.ts";
import { prng } from "../test/support/guard-world.ts";
import { writeSignups } from "../test/support/signup-log.ts";

const { values } = parseArgs({
  options: {
    real: { type: "string", default: "1500" },
    scale: { type: "string", default: "1" },
    seed: { type: "string", default: "1" },
    config: { type: "string", default: "recommended" },
    dir: { type: "string", default: "bench/out/guard-signups" },
  },
});
const real = Number(values.real);
const scale = Number(values.scale);
const seed = Number(values.seed);
const variant = values.config === "docs" ? "docs" : "recommended";
const dir = resolve(values.dir);
await mkdir(join(dir, "data"), { recursive: true });
const events = join(dir, "signups.jsonl");
const truthFile = join(dir, "signups.truth.jsonl");
const tor = join(dir, "tor-exits.txt");
const config = join(dir, "rempart.yaml");
const out = join(dir, "verdicts.jsonl");

const genStart = performance.now();
const browser = guardBrowser({ secret: BENCH_SECRET, rnd: prng(seed + 1000) });
const written = await writeSignups(events, truthFile, tor, { real, scale, seed, browser });
const genSeconds = (performance.now() - genStart) / 1000;
await writeFile(config, benchConfig(join(dir, "data"), tor, variant));

const run = await replayVerdicts(events, config, out);
const truth = await readTruth(truthFile);
const s = score(truth, run.verdicts, SIGNUP_MISSES);
const targets = signupTargets(s);
const command = `node bench/guard-signups.ts --real ${real} --scale ${scale} --seed ${seed} --config ${variant}`;
process.stdout.write(
  `## Sign-ups replay (${command})\n\n` +
    `${written.events} events, ${written.assessed} sign-ups (${s.real.n} real, ${s.abuse.n} scripted); generated in ${genSeconds.toFixed(1)} s; ` +
    `replay ${run.seconds.toFixed(1)} s wall with start-up, ${Math.round(written.events / run.seconds)} events/s; ` +
    `${run.verdicts.size} verdict lines, other lines ${JSON.stringify(run.otherLines)}\n` +
    `rempart: ${run.stderr.split("\n")[0] ?? ""}\n\n` +
    `${table(s)}\n\n${targetLines(targets)}\n\nMisses:\n${missReport(s) || "- none"}\n`,
);
process.exitCode = targets.every(met) ? 0 : 1;
