/**
 * In-process address look-ups against 1M mixed prefixes (issue 3's 10M look-ups/s target):
 * PrefixMap from text and from words (both families, each alone, and one look-up waiting on the
 * last), a Patricia trie on the same data (a design not taken), 100 changes on the 1M map,
 * and DecisionBook.match({ ip }) with 1M active decisions, before (BigInt, commit d3fa6eb) and
 * after the PrefixMap, all in one run on the same data.
 *
 *   taskset -c 0 node --expose-gc bench/lookup.ts [--prefixes N] [--queries N] [--rounds N]
 *
 * Data (seeded): 70% IPv4 /32, 20% IPv4 /16–/24 (uniform), 10% IPv6 (half /128, half /64, /56,
 * /48 at 50/20/30%) in 2000::/3. Queries: 90% IPv4, 10% IPv6; half inside a stored prefix (a
 * random host of it), half uniform random (mostly misses), shuffled — no locality, so every
 * look-up pays its cache misses.
 */
import { execSync } from "node:child_process";
import type { Decision } from "../src/core/index.ts";
import { DecisionBook } from "../src/decisions/index.ts";
import {
  bigIntToIp,
  formatWords,
  newAddressWords,
  parseAddressWords,
  PrefixMap,
} from "../src/net/index.ts";
import { DecisionBook as BaselineBook } from "./lookup-baseline-book.ts";
import { PatriciaTrie } from "./lookup-trie.ts";
import { prng } from "../test/support/mail-log.ts";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg("prefixes", 1_000_000);
const Q = arg("queries", 2_000_000);
const ROUNDS = arg("rounds", 5);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");

// The fixtures' mulberry32, as 32-bit words: the same data on every run.
const rnd = prng(0x5eed);
const rand32 = (): number => Math.floor(rnd() * 4294967296);
const random = (): number => rand32() / 4294967296;
const maskWord = (w: number, keep: number): number =>
  keep >= 32 ? w : keep <= 0 ? 0 : (w & (-1 << (32 - keep))) >>> 0;
const v6Text = (w: ArrayLike<number>, bits: number): string => {
  const n =
    (BigInt(w[0]!) << 96n) | (BigInt(w[1]!) << 64n) | (BigInt(w[2]!) << 32n) | BigInt(w[3]!);
  const ip = bigIntToIp(n, 6);
  return bits === 128 ? ip : `${ip}/${bits}`;
};

// Prefixes.
const pWords = new Uint32Array(4 * N);
const pBits = new Uint8Array(N);
const pFamily = new Uint8Array(N);
const pText: string[] = [];
const byFamily: Record<4 | 6, number[]> = { 4: [], 6: [] };
for (let i = 0; i < N; i++) {
  const r = random();
  const w = pWords.subarray(4 * i, 4 * i + 4);
  if (r < 0.9) {
    const bits = r < 0.7 ? 32 : 16 + Math.floor(random() * 9);
    w[0] = maskWord(rand32(), bits);
    pBits[i] = bits;
    pFamily[i] = 4;
    pText.push(bits === 32 ? formatWords(w, 4) : formatWords(w, 4, bits));
    byFamily[4].push(i);
  } else {
    const s = random();
    const bits = r < 0.95 ? 128 : s < 0.5 ? 64 : s < 0.7 ? 56 : 48;
    w[0] = 0x20000000 | (rand32() & 0x1fffffff);
    for (let k = 1; k < 4; k++) w[k] = maskWord(rand32(), bits - 32 * k);
    pBits[i] = bits;
    pFamily[i] = 6;
    pText.push(v6Text(w, bits));
    byFamily[6].push(i);
  }
}

// Queries.
const qWords = new Uint32Array(4 * Q);
const qFamily = new Uint8Array(Q);
const qText: string[] = [];
for (let i = 0; i < Q; i++) {
  const fam: 4 | 6 = random() < 0.1 ? 6 : 4;
  const w = qWords.subarray(4 * i, 4 * i + 4);
  const list = byFamily[fam];
  if (random() < 0.5 && list.length > 0) {
    const p = list[Math.floor(random() * list.length)]!;
    for (let k = 0; k < (fam === 4 ? 1 : 4); k++) {
      const keep = pBits[p]! - 32 * k;
      const host = keep >= 32 ? 0 : keep <= 0 ? rand32() : rand32() & (0xffffffff >>> keep);
      w[k] = (pWords[4 * p + k]! | host) >>> 0;
    }
  } else if (fam === 4) w[0] = rand32();
  else {
    w[0] = 0x20000000 | (rand32() & 0x1fffffff);
    for (let k = 1; k < 4; k++) w[k] = rand32();
  }
  qFamily[i] = fam;
  // Flat, as text read from a socket is: a template's rope costs an indirection per character.
  qText.push(Buffer.from(fam === 4 ? formatWords(w, 4) : v6Text(w, 128)).toString("latin1"));
}

/** Heap plus typed arrays after full collections; freed array buffers go asynchronously. */
const memory = async (): Promise<number> => {
  for (let k = 0; k < 3; k++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;
const lines: string[] = [];
const say = (line: string): void => {
  lines.push(line);
  console.log(line);
};

/**
 * Runs `fn` over `count` items ROUNDS times after a warm-up; prints the median and spread of the
 * wall-clock rate and of the rate per CPU second of this process (on a shared core the wall
 * clock counts the time other processes held it; CPU time does not, though their cache
 * pollution still shows).
 */
const measure = (name: string, count: number, fn: () => number): void => {
  let check = fn();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    check += fn();
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    wall.push(count / secs);
    cpu.push(count / ((c.user + c.system) / 1e6));
  }
  const f = (x: number): string => (x / 1e6).toFixed(2);
  const stat = (xs: number[]): string => {
    xs.sort((a, b) => a - b);
    return `${f(xs[Math.floor(xs.length / 2)]!)} M/s | ${f(xs[0]!)}–${f(xs[xs.length - 1]!)}`;
  };
  say(
    `| ${name} | ${stat(cpu)} | ${stat(wall)} | ${count.toLocaleString("en")} × ${ROUNDS} | ${check % 1000} |`,
  );
};

say(
  `node ${process.version}, ${N.toLocaleString("en")} prefixes (${byFamily[4].length.toLocaleString("en")} IPv4, ${byFamily[6].length.toLocaleString("en")} IPv6), ${Q.toLocaleString("en")} queries, load: ${execSync("uptime").toString().trim()}`,
);

// PrefixMap.
let before = await memory();
let t0 = performance.now();
const map = new PrefixMap<number>();
for (let i = 0; i < N; i++) map.set(pText[i]!, i);
const mapBuild = performance.now() - t0;
const mapBytes = (await memory()) - before;
say(
  `PrefixMap: ${map.size.toLocaleString("en")} entries, built in ${(mapBuild / 1000).toFixed(2)} s, ${mb(mapBytes)} (heap + typed arrays)`,
);

// The trie on the same prefixes, ids = prefix index.
before = await memory();
t0 = performance.now();
const trie4 = new PatriciaTrie(32);
const trie6 = new PatriciaTrie(128);
for (let i = 0; i < N; i++)
  (pFamily[i] === 4 ? trie4 : trie6).insert(pWords.subarray(4 * i, 4 * i + 4), pBits[i]!, i);
const trieBuild = performance.now() - t0;
say(
  `Patricia trie: ${(trie4.nodes + trie6.nodes).toLocaleString("en")} nodes, built in ${(trieBuild / 1000).toFixed(2)} s, ${mb((await memory()) - before)}`,
);

// Both must give the same answers.
const one = new Uint32Array(4);
let agree = 0;
for (let i = 0; i < Q; i++) {
  const a = qWords[4 * i]!;
  let viaMap: number | undefined;
  let viaTrie: number;
  if (qFamily[i] === 4) {
    viaMap = map.longest4(a);
    viaTrie = trie4.longest(a, 0, 0, 0);
  } else {
    one.set(qWords.subarray(4 * i, 4 * i + 4));
    viaMap = map.longest6(one);
    viaTrie = trie6.longest(a, qWords[4 * i + 1]!, qWords[4 * i + 2]!, qWords[4 * i + 3]!);
  }
  if ((viaMap ?? -1) === viaTrie && map.longest(qText[i]!) === viaMap) agree++;
}
if (agree !== Q) throw new Error(`PrefixMap and trie disagree on ${Q - agree} queries`);
let hits = 0;
for (let i = 0; i < Q; i++) if (map.longest(qText[i]!) !== undefined) hits++;
say(
  `answers agree on all ${Q.toLocaleString("en")} queries; ${((100 * hits) / Q).toFixed(1)}% hit a prefix`,
);

say("");
say(
  "| look-up | per CPU s, median | min–max | wall clock, median | min–max | per round × rounds | check |",
);
say("|---|---|---|---|---|---|---|");
measure("PrefixMap.longest(text) — parse + look-up", Q, () => {
  let h = 0;
  for (let i = 0; i < Q; i++) if (map.longest(qText[i]!) !== undefined) h++;
  return h;
});
measure("PrefixMap.matchInto(text) — all matching prefixes", Q, () => {
  const out: number[] = [];
  let h = 0;
  for (let i = 0; i < Q; i++) {
    h += map.matchInto(qText[i]!, out);
    out.length = 0;
  }
  return h;
});
measure("parseAddressWords(text) alone", Q, () => {
  const w = newAddressWords();
  let h = 0;
  for (let i = 0; i < Q; i++) h += parseAddressWords(qText[i]!, w);
  return h;
});
measure("PrefixMap.longest4/longest6(words)", Q, () => {
  let h = 0;
  for (let i = 0; i < Q; i++) {
    let v: number | undefined;
    if (qFamily[i] === 4) v = map.longest4(qWords[4 * i]!);
    else {
      one[0] = qWords[4 * i]!;
      one[1] = qWords[4 * i + 1]!;
      one[2] = qWords[4 * i + 2]!;
      one[3] = qWords[4 * i + 3]!;
      v = map.longest6(one);
    }
    if (v !== undefined) h++;
  }
  return h;
});
measure("Patricia trie longest(words)", Q, () => {
  let h = 0;
  for (let i = 0; i < Q; i++) {
    const v =
      qFamily[i] === 4
        ? trie4.longest(qWords[4 * i]!, 0, 0, 0)
        : trie6.longest(qWords[4 * i]!, qWords[4 * i + 1]!, qWords[4 * i + 2]!, qWords[4 * i + 3]!);
    if (v >= 0) h++;
  }
  return h;
});

const v4 = Int32Array.from(
  [...qFamily.keys()].filter((i) => qFamily[i] === 4).map((i) => qWords[4 * i]! | 0),
);
const v6 = Uint32Array.from(
  [...qFamily.keys()]
    .filter((i) => qFamily[i] === 6)
    .flatMap((i) => [...qWords.subarray(4 * i, 4 * i + 4)]),
);
measure("PrefixMap.longest4(words), IPv4 queries only", v4.length, () => {
  let h = 0;
  for (let i = 0; i < v4.length; i++) if (map.longest4(v4[i]!) !== undefined) h++;
  return h;
});
measure("PrefixMap.longest6(words), IPv6 queries only", v6.length / 4, () => {
  let h = 0;
  for (let i = 0; i < v6.length; i += 4) {
    one[0] = v6[i]!;
    one[1] = v6[i + 1]!;
    one[2] = v6[i + 2]!;
    one[3] = v6[i + 3]!;
    if (map.longest6(one) !== undefined) h++;
  }
  return h;
});
// Each address depends on the answer before: no overlap between look-ups, so this is the
// latency a single check pays (the text loops above come close to it: parsing between two
// look-ups leaves the processor no room to run ahead into the next one).
const zero = new Int32Array(1);
measure("PrefixMap.longest4, each query waiting on the last answer", v4.length, () => {
  let h = 0;
  const z = zero[0]!;
  for (let i = 0; i < v4.length; i++) h += map.longest4(v4[i]! ^ (h & z)) ?? 0;
  return h;
});

// 100 changes on the 1M map (50 new prefixes, 50 deletes of held ones, mixed as the data),
// each followed by a look-up of an address it covers, which pays the rebuild of its /16.
{
  const fresh: string[] = [];
  const w = new Uint32Array(4);
  while (fresh.length < 50) {
    const r = random();
    const bits = r < 0.7 ? 32 : r < 0.9 ? 16 + Math.floor(random() * 9) : 0;
    if (bits > 0) {
      w[0] = maskWord(rand32(), bits);
      fresh.push(bits === 32 ? formatWords(w, 4) : formatWords(w, 4, bits));
    } else {
      w[0] = 0x20000000 | (rand32() & 0x1fffffff);
      for (let k = 1; k < 4; k++) w[k] = rand32();
      fresh.push(v6Text(w, 128));
    }
  }
  const held = Array.from({ length: 50 }, (_, k) => pText[Math.floor((k * N) / 50)]!);
  const probe = (p: string): string => p.replace(/\/\d+$/, "");
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let k = 0; k < 50; k++) {
      map.set(fresh[k]!, -1);
      map.longest(probe(fresh[k]!));
      map.delete(held[k]!);
      map.longest(probe(held[k]!));
    }
    times.push(performance.now() - t);
    for (let k = 0; k < 50; k++) {
      map.delete(fresh[k]!);
      map.set(held[k]!, k);
    }
  }
  times.sort((a, b) => a - b);
  say("");
  say(
    `100 changes (50 sets, 50 deletes) on the 1M map, each followed by a look-up in the changed place: median ${times[2]!.toFixed(2)} ms (${times[0]!.toFixed(2)}–${times[4]!.toFixed(2)}), 5 runs`,
  );
}

// DecisionBook with 1M active decisions: addresses as `ip`, the rest as `range`.
before = await memory();
const decisions: Decision[] = [];
for (let i = 0; i < N; i++) {
  const full = pBits[i] === (pFamily[i] === 4 ? 32 : 128);
  decisions.push(
    Object.freeze({
      id: `d${i}`,
      action: "ban",
      scope: full ? "ip" : "range",
      value: pText[i]!,
      createdAt: 0,
      expiresAt: 1e15,
      origin: "import",
      scenario: "bench",
      reason: "bench",
      offence: 0,
      tzOffset: 0,
    }),
  );
}
say("");
say(`${N.toLocaleString("en")} decision objects: ${mb((await memory()) - before)}`);
const subjects = qText.map((ip) => ({ ip }));
const now = 1e12;

before = await memory();
t0 = performance.now();
const book = new DecisionBook();
for (const d of decisions) book.add(d);
say(
  `DecisionBook (PrefixMap): built in ${((performance.now() - t0) / 1000).toFixed(2)} s, index ${mb((await memory()) - before)}`,
);
before = await memory();
t0 = performance.now();
const old = new BaselineBook();
for (const d of decisions) old.add(d);
say(
  `DecisionBook before (d3fa6eb): built in ${((performance.now() - t0) / 1000).toFixed(2)} s, index ${mb((await memory()) - before)}`,
);

const sample = Math.min(Q, 100_000);
for (let i = 0; i < sample; i++) {
  const a = book
    .match(subjects[i]!, now)
    .map((d) => d.id)
    .sort()
    .join();
  const b = old
    .match(subjects[i]!, now)
    .map((d) => d.id)
    .sort()
    .join();
  if (a !== b) throw new Error(`books disagree on ${subjects[i]!.ip}: ${a} vs ${b}`);
}
say(`both books give the same decisions on ${sample.toLocaleString("en")} queries`);
say("");
say(
  "| DecisionBook.match({ ip }) | per CPU s, median | min–max | wall clock, median | min–max | per round × rounds | check |",
);
say("|---|---|---|---|---|---|---|");
measure("with PrefixMap", Q, () => {
  let h = 0;
  for (let i = 0; i < Q; i++) h += book.match(subjects[i]!, now).length;
  return h;
});
const oldQ = Math.min(Q, 200_000);
measure("before (BigInt masks, string keys)", oldQ, () => {
  let h = 0;
  for (let i = 0; i < oldQ; i++) h += old.match(subjects[i]!, now).length;
  return h;
});
say(`load after: ${execSync("uptime").toString().trim()}`);
