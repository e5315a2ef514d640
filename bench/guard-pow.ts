/**
 * The guard's proof of work: what a challenge costs the server, what checking a solution costs
 * (the assessment's hot path, 100 µs budget), and how long people wait at each level.
 *
 *   node bench/guard-pow.ts [--verifications N] [--solves L0,L1,L2,L3]
 *
 * Solve times use altcha-lib's own solver in Node, one thread (node:crypto PBKDF2 through
 * libuv). The widget derives keys with WebCrypto in Web Workers: the per-derivation cost of
 * that call sequence (importKey, deriveKey, exportKey) is measured here in Node's WebCrypto as
 * the closest stand-in for a browser, and the expected widget time is the expected number of
 * derivations × that cost ÷ workers.
 */
import { randomBytes } from "node:crypto";
import { createChallenge } from "altcha-lib";
import { deriveKey } from "altcha-lib/algorithms/pbkdf2";
import {
  AltchaPow,
  deriveGuardKeys,
  MAX_POW_LEVEL,
  MemoryOnceStore,
  POW_DEFAULTS,
  solveAltcha,
} from "../src/guard/pow/index.ts";

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const VERIFICATIONS = Number(arg("verifications", "20000"));
const SOLVES = arg("solves", "12,6,3,2").split(",").map(Number);

const keys = deriveGuardKeys(randomBytes(32));
const T = Date.now();
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number, d = 1): string => x.toFixed(d);

// ── Challenge creation, per level (the counter changes, the single derivation does not) ──
const pow = new AltchaPow({ keys, store: new MemoryOnceStore() });
console.log(
  `defaults: ${POW_DEFAULTS.algorithm}, cost ${POW_DEFAULTS.cost}, counter ${POW_DEFAULTS.counter}`,
);
console.log("\nchallenge creation (sequential; wall µs and CPU µs of this process per challenge)");
for (let level = 0; level <= MAX_POW_LEVEL; level++) {
  for (let i = 0; i < 50; i++) await pow.challenge("petition", level, T); // warm-up
  const n = 1000;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await pow.challenge("petition", level, T);
  const wall = ((performance.now() - t0) * 1000) / n;
  const cpu = process.cpuUsage(cpu0);
  console.log(
    `  level ${level}: ${fmt(wall)} µs wall, ${fmt((cpu.user + cpu.system) / n)} µs CPU` +
      ` (counter ${pow.counterRange(level).join("–")})`,
  );
}

// ── Verification: distinct valid payloads (cheap challenges: verifying does not depend on cost) ──
const light = new AltchaPow({ keys, store: new MemoryOnceStore(), cost: 1, counter: 4 });
const payloads: string[] = [];
for (let i = 0; i < VERIFICATIONS; i++) {
  const solved = await solveAltcha(await light.challenge("petition", 0, T));
  payloads.push(solved!.payload);
}
async function timeVerify(label: string, inputs: readonly string[], expectOk: boolean) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let ok = 0;
  for (const p of inputs) if ((await light.verify(p, "petition", T + 1000)).ok) ok++;
  const us = ((performance.now() - t0) * 1000) / inputs.length;
  const cpu = process.cpuUsage(cpu0);
  if ((ok === inputs.length) !== expectOk) throw new Error(`${label}: ${ok} ok`);
  console.log(
    `  ${label}: ${fmt(us, 2)} µs wall, ${fmt((cpu.user + cpu.system) / inputs.length, 2)} µs CPU per verification (${inputs.length})`,
  );
}
console.log(`\nverification (in process, memory once-store, payload ${payloads[0]!.length} chars)`);
await timeVerify("valid, first use", payloads.slice(0, 2000), true); // warm-up
await timeVerify("valid, first use", payloads.slice(2000), true);
await timeVerify("valid, second use (reused)", payloads.slice(2000), false);
await timeVerify(
  "garbage (malformed)",
  payloads.slice(0, 5000).map((p) => p.slice(7)),
  false,
);

// ── Solve time per level with the defaults ──
const perDerivation = async (): Promise<[number, number]> => {
  const salt = randomBytes(16);
  const pw = randomBytes(20);
  const n = 400;
  let t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const k = await crypto.subtle.importKey("raw", pw, { name: "PBKDF2" }, false, ["deriveKey"]);
    const d = await crypto.subtle.deriveKey(
      { name: "PBKDF2", salt, iterations: POW_DEFAULTS.cost, hash: "SHA-256" },
      k,
      { name: "AES-GCM", length: 256 },
      true,
      ["encrypt"],
    );
    await crypto.subtle.exportKey("raw", d);
  }
  const subtle = ((performance.now() - t0) * 1000) / n;
  const params = (
    await createChallenge({ algorithm: POW_DEFAULTS.algorithm, cost: POW_DEFAULTS.cost, deriveKey })
  ).parameters;
  t0 = performance.now();
  for (let i = 0; i < n; i++) await deriveKey(params, salt, pw);
  return [subtle, ((performance.now() - t0) * 1000) / n];
};
const [subtleUs, nodeUs] = await perDerivation();
console.log(
  `\none derivation (PBKDF2/SHA-256 × ${POW_DEFAULTS.cost}): ${fmt(subtleUs)} µs WebCrypto (the widget's calls), ${fmt(nodeUs)} µs node:crypto`,
);
console.log("\nsolve time per level (altcha-lib solveChallenge, Node, one thread)");
for (let level = 0; level <= MAX_POW_LEVEL; level++) {
  const times: number[] = [];
  const cpuTimes: number[] = [];
  for (let i = 0; i < (SOLVES[level] ?? 1); i++) {
    const challenge = await pow.challenge("petition", level, T);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const solved = await solveAltcha(challenge, 300_000);
    times.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuTimes.push((cpu.user + cpu.system) / 1000);
    if (!solved || !(await pow.verify(solved.payload, "petition", T + 1000)).ok) {
      throw new Error("a solution was refused");
    }
  }
  const [lo, hi] = pow.counterRange(level);
  const expected = (lo + hi) / 2;
  const widget = (workers: number) => fmt((expected * subtleUs) / workers / 1000, 0);
  console.log(
    `  level ${level}: median ${fmt(median(times), 0)} ms wall, ${fmt(median(cpuTimes), 0)} ms CPU over ${times.length} (wall min ${fmt(Math.min(...times), 0)}, max ${fmt(Math.max(...times), 0)});` +
      ` expected ${expected} derivations → widget ≈ ${widget(1)} ms on 1 worker, ${widget(4)} ms on 4`,
  );
}
