/**
 * The Mail issue's replay target: a CLUB1-like week then the incident day (test/support/
 * club1-day.ts), through `rempart replay`. Prints how many spam messages the stolen account
 * sent before it was held, and every hold or suspension of anyone else, history days included.
 *
 *   node bench/club1-replay.ts
 */
import { club1Day } from "../test/support/club1-day.ts";
import { replayText } from "../test/support/replay.ts";

const day = club1Day();
const started = performance.now();
const { lines, stderr } = await replayText(day.text);
const seconds = (performance.now() - started) / 1000;
const holds = lines.filter(
  (l) => l.kind === "decision" && (l.action === "hold" || l.action === "suspend"),
);
const first = holds.find((d) => d.value === day.stolen);
const sent = first ? day.spamTimes.filter((t) => t <= Date.parse(first.at)).length : undefined;
const others = holds.filter((d) => d.value !== day.stolen);
process.stdout.write(
  `lines: ${day.text.split("\n").length - 1}; replay ${seconds.toFixed(1)} s (with start-up)\n` +
    `stolen account ${day.stolen}: held after ${sent ?? "never"} spam messages by ${first?.scenario ?? "-"} at ${first?.at ?? "-"}\n` +
    `other accounts held or suspended: ${others.length === 0 ? "none" : others.map((d) => `${d.value} ${d.at} (${d.scenario})`).join("; ")}\n` +
    `incident day only: ${others.filter((d) => Date.parse(d.at) >= day.incidentDay).length}\n` +
    stderr.split("\n")[0]! +
    "\n",
);
