/**
 * The surge detector under a flood, per event: how long `process` takes, and above all its
 * longest single call, which the daemon's thread spends without answering anyone (the
 * concentration is measured again every `evaluate_every`, inside the call of the event that
 * falls due).
 *
 *   node --expose-gc --max-semi-space-size=8 bench/surge-evaluate.ts [--rate 3000] [--minutes 6]
 *        [--runs 2] [--shapes abc]
 *
 * One form, 40 minutes of a person a minute, then `--minutes` of flood at `--rate`/s in three
 * shapes: (a) every submission from a new random address (a quarter of them IPv6), as
 * bench/guard-assess.ts sends; (b) a botnet of 4,000 addresses in 300 networks; (c) IPv6
 * addresses rotated within two /48s, with one /24 of 60 hosting addresses. The AS data is the
 * `@ip-location-db/asn` package's, as the daemon loads it. CPU from process.cpuUsage; each call
 * timed with performance.now(); the events are made a chunk at a time, outside the timing.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from "node:perf_hooks";
import type { Event } from "../src/core/index.ts";
import { AsDatabase, PACKAGE_AS_FILES } from "../src/guard/networks/index.ts";
import { SurgeConfigSchema, SurgeDetector, type SurgeFinding } from "../src/guard/surge/index.ts";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const RATE = arg("rate", 3000);
const MINUTES = arg("minutes", 6);
const RUNS = arg("runs", 2);
/** `--shapes b`: only the shapes whose letters are given. */
const SHAPE_LETTERS = process.argv.includes("--shapes")
  ? process.argv[process.argv.indexOf("--shapes") + 1]!
  : "abc";
const MIN = 60_000;
const T0 = Date.parse("2026-12-01T10:00:00Z");

let x = 0x5eed;
const r = (n: number): number => {
  x = (Math.imul(x, 1103515245) + 12345) >>> 0;
  return x % n;
};
const hex = (): string => (1 + r(0xfffe)).toString(16);
const v4 = (): string => `${1 + r(222)}.${r(256)}.${r(256)}.${1 + r(254)}`;

const SHAPES = {
  "(a) a new random address each time": (): string =>
    r(4) === 3 ? `2a0${r(10)}:${hex()}:${hex()}::${hex()}` : v4(),
  "(b) 4,000 addresses in 300 networks": (() => {
    const nets = Array.from({ length: 300 }, () => v4().split(".").slice(0, 3).join("."));
    const hosts = Array.from({ length: 4000 }, () => 1 + r(254));
    // Made anew for each event, as a log line's parser does: no hash cached in a string reused.
    return (): string => {
      const i = r(4000);
      return `${nets[i % 300]}.${hosts[i]}`;
    };
  })(),
  "(c) IPv6 rotated in two /48s, one /24 of 60": (): string =>
    r(5) === 0
      ? `51.77.8.${1 + r(60)}`
      : `2001:db8:${r(2)}:${hex()}:${hex()}:${hex()}:${hex()}:${hex()}`,
} as const;

/**
 * The run's events, made a chunk at a time: a list of them all (a million events, five
 * objects each) would be most of the heap, and each collection's marking would time it
 * rather than the detector's own memory.
 */
function* chunks(next: () => string): Generator<Event[]> {
  let seq = 0;
  let chunk: Event[] = [];
  const submit = (time: number, ip: string): void => {
    chunk.push({
      id: `e${++seq}`,
      type: "form.submit",
      time,
      tzOffset: 0,
      service: "app",
      ip,
      fields: { form: "petition" },
    });
  };
  for (let m = 0; m < 40; m++) submit(T0 + m * MIN, `81.10.${m}.7`);
  const f0 = T0 + 40 * MIN;
  const n = RATE * 60 * MINUTES;
  for (let i = 0; i < n; i++) {
    submit(f0 + Math.floor((i * 1000) / RATE), next());
    if (chunk.length === CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  yield chunk;
}
const CHUNK = 10_000;

const as = new AsDatabase({ files: PACKAGE_AS_FILES });
await as.start();
const config = SurgeConfigSchema.parse({});
console.log(
  `surge detector, ${RATE.toLocaleString("en-US")} submissions/s for ${MINUTES} min after 40 min of calm; ${RUNS} runs each; evaluate_every ${config.evaluate_every}`,
);
console.log(
  "| flood | CPU per event | longest call | calls over 5 ms | calls over 1 ms | GC pauses over 5 ms (longest) | network decisions |",
);
console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
// GC pauses, to tell them from the detector's own long calls.
let gcOver5 = 0;
let gcLongest = 0;
let gcLongestKind: string;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (entry.duration > 5) gcOver5++;
    if (entry.duration > gcLongest) {
      gcLongest = entry.duration;
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      gcLongestKind = kind === constants.NODE_PERFORMANCE_GC_MINOR ? "minor" : "major";
    }
  }
}).observe({ entryTypes: ["gc"] });
for (const [shape, next] of Object.entries(SHAPES)) {
  if (!SHAPE_LETTERS.includes(shape[1]!)) continue;
  for (let run = 0; run < RUNS; run++) {
    globalThis.gc?.();
    // Let the observer hear of that collection before counting starts.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const d = new SurgeDetector(config, as);
    const out: SurgeFinding[] = [];
    let events = 0;
    let cpuUs = 0;
    let longest = 0;
    let over5 = 0;
    let over1 = 0;
    gcOver5 = 0;
    gcLongest = 0;
    gcLongestKind = "";
    // The same addresses in each run of a shape.
    x = 0x5eed;
    for (const chunk of chunks(next)) {
      const c0 = process.cpuUsage();
      for (const e of chunk) {
        const t = performance.now();
        d.process(e, out);
        const dt = performance.now() - t;
        if (dt > longest) longest = dt;
        if (dt > 5) over5++;
        if (dt > 1) over1++;
      }
      const cpu = process.cpuUsage(c0);
      cpuUs += cpu.user + cpu.system;
      events += chunk.length;
    }
    // The observer hears of the last pauses a little later.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const nets = out.filter((f) => f.decision?.scope === "range" || f.decision?.scope === "as");
    console.log(
      `| ${shape} | ${(cpuUs / events).toFixed(2)} µs | ${longest.toFixed(1)} ms | ${over5} | ${over1} | ${gcOver5} (${gcLongest.toFixed(1)} ms, ${gcLongestKind}) | ${nets.length} |`,
    );
  }
}
