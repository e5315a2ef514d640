/**
 * Issue #5's petition target: a We-Sign-It-like petition (test/support/petition-log.ts: real
 * signers over days, then the seed's 90,000 fakes and an evasive tail) through
 * `rempart replay --type json`, scored against the ground truth. Prints the verdicts per
 * campaign, the targets, the reasons behind the misses and the replay's speed; exits 1 when a
 * target is missed.
 *
 *   node bench/guard-petition.ts [--real 30000] [--scale 1] [--seed 4] [--config recommended|docs] [--dir bench/out/guard-petition]
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
  petitionTargets,
  readTruth,
  replayVerdicts,
  score,
  table,
  targetLines,
} from "../test/support/guard-score.ts";
import { prng } from "../test/support/guard-world.ts";
import { writePetition } from "../test/support/petition-log.ts";

const { values } = parseArgs({
  options: {
    real: { type: "string", default: "30000" },
    scale: { type: "string", default: "1" },
    seed: { type: "string", default: "4" },
    config: { type: "string", default: "recommended" },
    dir: { type: "string", default: "bench/out/guard-petition" },
  },
});
const real = Number(values.real);
const scale = Number(values.scale);
const seed = Number(values.seed);
const variant = values.config === "docs" ? "docs" : "recommended";
const dir = resolve(values.dir);
await mkdir(join(dir, "data"), { recursive: true });
const events = join(dir, "petition.jsonl");
const truthFile = join(dir, "petition.truth.jsonl");
const config = join(dir, "rempart.yaml");
const out = join(dir, "verdicts.jsonl");

const genStart = performance.now();
const browser = guardBrowser({ secret: BENCH_SECRET, rnd: prng(seed + 1000) });
const written = await writePetition(events, truthFile, { real, scale, seed, browser });
const genSeconds = (performance.now() - genStart) / 1000;
await writeFile(config, benchConfig(join(dir, "data"), undefined, variant));

const run = await replayVerdicts(events, config, out);
const truth = await readTruth(truthFile);
const s = score(truth, run.verdicts);
const targets = petitionTargets(s);
const command = `node bench/guard-petition.ts --real ${real} --scale ${scale} --seed ${seed} --config ${variant}`;
process.stdout.write(
  `## Petition replay (${command})\n\n` +
    `${written.events} events (${s.real.n} real signers, ${s.abuse.n} fakes); generated in ${genSeconds.toFixed(1)} s; ` +
    `replay ${run.seconds.toFixed(1)} s wall with start-up, ${Math.round(written.events / run.seconds)} events/s; ` +
    `${run.verdicts.size} verdict lines, other lines ${JSON.stringify(run.otherLines)}\n` +
    `rempart: ${run.stderr.split("\n")[0] ?? ""}\n\n` +
    `${table(s)}\n\n${targetLines(targets)}\n\nMisses:\n${missReport(s) || "- none"}\n`,
);
process.exitCode = targets.every(met) ? 0 : 1;
