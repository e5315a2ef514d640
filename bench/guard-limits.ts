/**
 * The guard's counters: CPU per key for `hit` (7 keys a call) and `distinct` (3 keys a call)
 * with 100k and 1M live keys in memory, and the heap each key costs; the longest calls while
 * 3M new keys arrive (`growth`); then, when
 * REMPART_TEST_REDIS_URL is set, Redis calls/s and latency over loopback with N calls in flight.
 *
 *   node --expose-gc bench/guard-limits.ts [memory|growth|redis|all=all]
 */
import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { formatDuration } from "../src/core/index.ts";
import { MemoryCounters, RedisCounters } from "../src/guard/limits/index.ts";

const what = process.argv[2] ?? "all";
const gc = (globalThis as { gc?: () => void }).gc;
const T0 = 1_700_000_000_000;
const WINDOW = 3_600_000;
const SLOTS = 20;

const cpuNs = (run: () => void): number => {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return (used.user + used.system) * 1000;
};

/** The JS heap plus the typed arrays' buffers, which live outside it. */
const heap = (): number => {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/** The `i`th of distinct keys shaped like the guard's (address, /24, AS, domain, fingerprint, form). */
function keyAt(i: number): string {
  switch (i % 7) {
    case 0:
      return `ip:${10 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
    case 1:
      return `ip24:${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}.0`;
    case 2:
      return `ip64:2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::`;
    case 3:
      return `as:${64_512 + i}`;
    case 4:
      return `edom:d${i}.example`;
    case 5:
      return `fp:name:${i.toString(36).padStart(12, "0")}`;
    default:
      return `form:f${i}`;
  }
}

const keys = (n: number): string[] => Array.from({ length: n }, (_, i) => keyAt(i));

/**
 * Every key is made anew for each call, as a request makes its keys: the heap figures are what
 * the counters hold (the key included), and the CPU figures include making the keys (105–119
 * ns each in a one-off loop on a 2-vCPU VM), as a request's do.
 */
function memory(live: number): void {
  const before = heap();
  const c = new MemoryCounters({ windowMs: WINDOW, slots: SLOTS, maxKeys: live });
  // Spread over the first half of the window, so every key stays live.
  const spread = WINDOW / 2 / live;
  for (let i = 0; i < live; i++) c.hitOne(keyAt(i), T0 + i * spread);
  const filled = heap();
  const now0 = T0 + WINDOW / 2;

  const calls = 200_000;
  const batch = new Array<string>(7);
  const out: number[] = [];
  let x = 12345;
  const hitNs = cpuNs(() => {
    for (let n = 0; n < calls; n++) {
      for (let k = 0; k < 7; k++) {
        x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
        batch[k] = keyAt(x % live);
      }
      c.hitSync(batch, now0 + n, out);
    }
  });
  const asyncNs = cpuNs(() => {
    for (let n = 0; n < calls / 4; n++) void c.hit(batch, now0 + calls + n);
  });

  // Distinct: a third of the keys get a few members each; a few fingerprints go past the bound.
  const d = new MemoryCounters({ windowMs: WINDOW, slots: SLOTS, maxKeys: live });
  const dBefore = heap();
  const dKeys = Math.floor(live / 3);
  for (let i = 0; i < dKeys; i++) d.distinctOne(keyAt(i), `192.0.2.${i & 255}`, T0 + i * spread);
  const dFilled = heap();
  const members = Array.from({ length: 4096 }, (_, i) => `198.51.${i >>> 8}.${i & 255}`);
  const triple = new Array<string>(3);
  const distinctNs = cpuNs(() => {
    for (let n = 0; n < calls; n++) {
      for (let k = 0; k < 3; k++) {
        x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
        // One call in 50 goes to one of 20 hot fingerprints that pass the bound.
        triple[k] = n % 50 === 0 ? `fp:hot:${x % 20}` : keyAt(x % dKeys);
      }
      d.distinctSync(triple, members[x & 4095]!, now0 + n, out);
    }
  });
  const round = (v: number): number => Math.round(v);
  console.log(
    JSON.stringify({
      backend: "memory",
      live_keys: live,
      slots: SLOTS,
      hit_ns_per_key: round(hitNs / calls / 7),
      hit_7_keys_us: +(hitNs / calls / 1000).toFixed(2),
      hit_async_ns_per_call: round(asyncNs / (calls / 4)),
      heap_bytes_per_key: round((filled - before) / live),
      distinct_ns_per_key: round(distinctNs / calls / 3),
      distinct_3_keys_us: +(distinctNs / calls / 1000).toFixed(2),
      heap_bytes_per_distinct_key_1_member: round((dFilled - dBefore) / dKeys),
      stats: c.stats(),
      distinct_stats: d.stats(),
    }),
  );
}

/**
 * The longest calls while keys arrive faster than they leave: a fresh counter with the
 * daemon's default bound (1,000,000 keys), then `total` new keys in calls of 7 like an
 * assessment's. The first million grows the index; the rest evicts at the bound. Every call's
 * wall time is kept: what a request waits when its hit lands on a growth, or on a rehash.
 */
function growth(total: number): void {
  const maxKeys = 1_000_000;
  const c = new MemoryCounters({ windowMs: WINDOW, slots: SLOTS, maxKeys });
  const calls = Math.floor(total / 7);
  const each = new Float64Array(calls);
  const batch = new Array<string>(7);
  const out: number[] = [];
  const t0 = performance.now();
  for (let n = 0; n < calls; n++) {
    // Made per call, as a request makes its keys: the counters hold what they keep, no more.
    for (let k = 0; k < 7; k++) batch[k] = keyAt(n * 7 + k);
    const t = performance.now();
    c.hitSync(batch, T0 + n, out);
    each[n] = performance.now() - t;
  }
  const seconds = (performance.now() - t0) / 1000;
  const firstMillion = Math.floor(maxKeys / 7);
  const part = (a: Float64Array): Record<string, number> => {
    const sorted = Float64Array.from(a).sort();
    const over = (ms: number): number => sorted.length - sorted.findIndex((v) => v > ms);
    return {
      calls: sorted.length,
      p99_9_ms: +sorted[Math.floor(sorted.length * 0.999)]!.toFixed(3),
      longest_ms: +sorted[sorted.length - 1]!.toFixed(1),
      over_5_ms: sorted[sorted.length - 1]! > 5 ? over(5) : 0,
      over_20_ms: sorted[sorted.length - 1]! > 20 ? over(20) : 0,
    };
  };
  console.log(
    JSON.stringify({
      backend: "memory",
      growth_keys: total,
      max_keys: maxKeys,
      keys_per_s: Math.round(total / seconds),
      growing: part(each.subarray(0, firstMillion)),
      at_the_bound: part(each.subarray(firstMillion)),
      heap_mb_at_the_end: +(heap() / 1e6).toFixed(1),
      stats: c.stats(),
    }),
  );
}

async function redis(url: string): Promise<void> {
  const prefix = `rempart-bench:${randomBytes(4).toString("hex")}:`;
  const c = new RedisCounters({ url, keyPrefix: prefix, windowMs: WINDOW, slots: SLOTS });
  await c.start();
  const all = keys(100_000);
  const seconds = 3;
  for (const [kind, inFlight] of [
    ["hit", 1],
    ["hit", 8],
    ["hit", 32],
    ["hit", 128],
    ["distinct", 32],
  ] as const) {
    const latencies: number[] = [];
    const stopAt = performance.now() + seconds * 1000;
    let x = 99;
    let n = 0;
    const worker = async (): Promise<void> => {
      while (performance.now() < stopAt) {
        const size = kind === "hit" ? 7 : 3;
        const batch = new Array<string>(size);
        for (let k = 0; k < size; k++) {
          x = (Math.imul(x, 1_103_515_245) + 12_345) >>> 0;
          batch[k] = all[x % all.length]!;
        }
        const t = performance.now();
        const now = T0 + n++;
        if (kind === "hit") await c.hit(batch, now);
        else await c.distinct(batch, `198.51.100.${x & 255}`, now);
        latencies.push(performance.now() - t);
      }
    };
    const cpu = process.cpuUsage();
    await Promise.all(Array.from({ length: inFlight }, worker));
    const used = process.cpuUsage(cpu);
    latencies.sort((a, b) => a - b);
    const at = (q: number): number =>
      +latencies[Math.floor(q * (latencies.length - 1))]!.toFixed(3);
    console.log(
      JSON.stringify({
        backend: "redis",
        call: kind === "hit" ? "hit 7 keys" : "distinct 3 keys",
        in_flight: inFlight,
        calls_per_s: Math.round(latencies.length / seconds),
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        node_cpu_us_per_call: Math.round((used.user + used.system) / latencies.length),
      }),
    );
  }
  await c.close();
  const client = createClient({ url });
  client.on("error", () => undefined);
  await client.connect();
  let bytes = 0;
  let sampled = 0;
  for (const key of all.slice(0, 700)) {
    const used = await client.memoryUsage(`${prefix}${formatDuration(WINDOW)}/${SLOTS}:c:${key}`);
    if (used !== null) {
      bytes += used;
      sampled++;
    }
  }
  let deleted = 0;
  for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (batch.length > 0) deleted += await client.del(batch);
  }
  await client.close();
  console.log(
    JSON.stringify({
      backend: "redis",
      memory_usage_bytes_per_counter_key: Math.round(bytes / Math.max(1, sampled)),
      sampled,
      keys_deleted: deleted,
    }),
  );
}

if (gc === undefined) console.error("run with --expose-gc for the heap figures");
if (what === "memory" || what === "all") {
  memory(100_000);
  memory(1_000_000);
}
if (what === "growth" || what === "all") growth(3_000_000);
if (what === "redis" || what === "all") {
  const url = process.env["REMPART_TEST_REDIS_URL"];
  if (url === undefined || url === "") console.error("REMPART_TEST_REDIS_URL unset: no Redis run");
  else await redis(url);
}
