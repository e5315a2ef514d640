/**
 * Memory as distinct attacker keys grow into the millions: a botnet where every address tries
 * a password a couple of times and never comes back, through the daemon's own pipeline with
 * the built-in scenarios. Prints RSS and live heap after each million addresses; the target is
 * that they stay flat (CrowdSec's replay keeps every bucket and grows to gigabytes).
 *
 *   node --max-semi-space-size=1 --expose-gc bench/memory-keys.ts [millions=4]
 */
import type { Event } from "../src/core/index.ts";
import { buildDetection } from "../src/daemon/compose.ts";
import { defaultConfig } from "../src/daemon/config.ts";
import { Pipeline } from "../src/daemon/pipeline.ts";

const millions = Number(process.argv[2] ?? 4);
const gc = (globalThis as { gc?: () => void }).gc;
let seq = 0;
const newId = (): string => `m${++seq}`;
const detection = await buildDetection(
  defaultConfig(() => false),
  [],
  newId,
);
let decisions = 0;
const pipeline = new Pipeline({
  ...detection,
  newId,
  output: {
    decision: () => {
      decisions++;
    },
    ended: () => undefined,
    alert: () => undefined,
  },
});

const T0 = Date.UTC(2024, 8, 28);
const rows: string[] = [];
const started = performance.now();
for (let n = 0; n < millions * 1_000_000; n++) {
  // Addresses spread over 198.18.0.0/15 and beyond; each appears twice, a minute apart, among
  // 2,000 events a second: no single address ever reaches a threshold.
  const ip = `${100 + (n >>> 22)}.${(n >>> 14) & 255}.${(n >>> 6) & 255}.${(n & 63) + 1}`;
  const time = T0 + Math.floor(n / 2);
  for (const dt of [0, 60_000]) {
    const e: Event = {
      id: `e${n}-${dt}`,
      type: "auth.failure",
      time: time + dt,
      tzOffset: 0,
      service: "postfix",
      ip,
      account: `user${n % 5000}@example.org`,
      fields: {},
    };
    pipeline.ingest(e);
  }
  if ((n + 1) % 1_000_000 === 0) {
    gc?.();
    const m = process.memoryUsage();
    const keys = Object.values(pipeline.engine.stats().keys).reduce((a, b) => a + b, 0);
    rows.push(
      `| ${(n + 1) / 1_000_000}M | ${(m.rss / 2 ** 20).toFixed(0)} | ${(m.heapUsed / 2 ** 20).toFixed(0)} | ${keys} | ${pipeline.engine.stats().evicted} |`,
    );
    process.stderr.write(`${rows.at(-1)!}\n`);
  }
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `| distinct addresses | RSS MB | live heap MB (after GC) | keys held | keys evicted |\n| ---: | ---: | ---: | ---: | ---: |\n${rows.join("\n")}\n\n` +
    `${millions * 2}M events in ${seconds.toFixed(1)} s (${Math.round((millions * 2e6) / seconds)} events/s), ${decisions} decisions\n`,
);
