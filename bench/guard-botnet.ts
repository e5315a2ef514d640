/**
 * The botnet target of issue #5: on an access log with a 4,000-address botnet under per-IP
 * limits, at least 90 % of the botnet's hits fall under a decision after its first minutes,
 * and at most 1 % of real visitors' hits.
 *
 *   node bench/guard-botnet.ts            # the full log: ~3 million botnet hits in 2 hours
 *   node bench/guard-botnet.ts --small    # the small version the integration test replays
 *   node bench/guard-botnet.ts --seed 7
 *
 * Generates the log (test/support/botnet-log.ts), runs `rempart replay --type nginx` on it as a
 * user would, reads the decision lines, and counts which hits fell under an active decision at
 * their time (address under an ip decision, its /24 under a range one, its AS under an AS one).
 */
import { execFile } from "node:child_process";
import { createReadStream, createWriteStream, mkdirSync, readFileSync } from "node:fs";
import { promisify } from "node:util";
import {
  CoverageCounter,
  FULL,
  generateBotnetLog,
  SMALL,
  type DecisionRecord,
} from "../test/support/botnet-log.ts";

const args = process.argv.slice(2);
const small = args.includes("--small");
const seedAt = args.indexOf("--seed");
const options = {
  ...(small ? SMALL : FULL),
  ...(seedAt >= 0 ? { seed: Number(args[seedAt + 1]) } : {}),
};
const GRACE_MIN = 5;

const out = new URL("./out/", import.meta.url).pathname;
mkdirSync(out, { recursive: true });
const name = `botnet-${small ? "small" : "full"}-s${options.seed}`;
const log = `${out}${name}.log`;
const decisionsFile = `${out}${name}.out`;

const g0 = performance.now();
const file = createWriteStream(log);
const truth = generateBotnetLog(options, (chunk) => file.write(chunk));
await new Promise<void>((resolve, reject) =>
  file.end((e?: Error | null) => (e ? reject(e) : resolve())),
);
const genS = (performance.now() - g0) / 1000;
console.error(
  `generated ${log}: ${truth.lines} lines (${truth.botHits} botnet hits from ${truth.bots.size} addresses, ${truth.visitorHits} from ${truth.visitors.size} real visitors) in ${genS.toFixed(1)} s`,
);

const bin = new URL("../bin/rempart.js", import.meta.url).pathname;
const r0 = performance.now();
const { stderr } = await promisify(execFile)(
  process.execPath,
  [bin, "replay", "--type", "nginx", "--output", decisionsFile, log],
  { maxBuffer: 64 << 20 },
);
const replayS = (performance.now() - r0) / 1000;
console.error(stderr.trim());

const decisions = readFileSync(decisionsFile, "utf8")
  .split("\n")
  .filter((l) => l.startsWith('{"kind":"decision"'))
  .map((l) => JSON.parse(l) as DecisionRecord);
const counter = new CoverageCounter(truth, decisions, GRACE_MIN);
for await (const chunk of createReadStream(log, { encoding: "utf8", highWaterMark: 1 << 20 }))
  counter.add(chunk as string);
const c = counter.result();

const pct = (a: number, b: number): string => `${((100 * a) / Math.max(b, 1)).toFixed(2)} %`;
const botShare = c.botCovered / Math.max(c.botHits, 1);
const visitorShare = c.visitorCovered / Math.max(c.visitorHits, 1);
console.log(`botnet log ${name}: ${truth.lines} lines, ${truth.bots.size} bots, ${truth.visitors.size} real visitors
- botnet hits after its first ${GRACE_MIN} min under a decision: ${c.botCovered} / ${c.botHits} = ${pct(c.botCovered, c.botHits)} (target ≥ 90 %)
- real visitors' hits under a decision: ${c.visitorCovered} / ${c.visitorHits} = ${pct(c.visitorCovered, c.visitorHits)} over the log, ${c.visitorCoveredDuring} / ${c.visitorHitsDuring} = ${pct(c.visitorCoveredDuring, c.visitorHitsDuring)} during the attack (target ≤ 1 %)
- first decision ${c.firstDecisionS.toFixed(1)} s after the botnet's first hit; decisions by scope: ${JSON.stringify(c.decisions)}
- replay: ${replayS.toFixed(1)} s wall, ${Math.round(truth.lines / replayS)} lines/s (process start included)
- target ${botShare >= 0.9 && visitorShare <= 0.01 ? "MET" : "NOT MET"}`);
