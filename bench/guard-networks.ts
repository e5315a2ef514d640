/**
 * The guard's network signals: loading the @ip-location-db/asn data (time, CPU, memory) and
 * the cost of a look-up (AS by address, Tor exit set, an address's /24 or /48), the target
 * being well under 5 µs.
 *
 *   node --expose-gc bench/guard-networks.ts [--queries N] [--rounds N]
 *
 * Queries (seeded, shuffled, no locality): IPv4 uniform over the whole space (most hit a
 * range); IPv6 half inside a range of the data (a random address of its first /64), half
 * uniform in 2000::/3 (mostly misses). All are normalised text, as a Submission carries.
 */
import { execSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  bigIntToIp,
  ipPrefix,
  newAddressWords,
  normalizeIp,
  parseAddressWords,
} from "../src/net/index.ts";
import { AsDatabase, PACKAGE_AS_FILES, TorExits } from "../src/guard/networks/index.ts";
import { readAsCsv } from "../src/guard/networks/as-csv.ts";
import { prng } from "../test/support/mail-log.ts";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const Q = arg("queries", 1_000_000);
const ROUNDS = arg("rounds", 5);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc");

// The fixtures' mulberry32, as 32-bit words: the same data on every run.
const rnd = prng(0x5eed);
const rand32 = (): number => Math.floor(rnd() * 4294967296);
const rand64 = (): bigint => (BigInt(rand32()) << 32n) | BigInt(rand32());

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

async function load(label: string, files: readonly string[]): Promise<AsDatabase> {
  gc!();
  const m0 = process.memoryUsage();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const db = new AsDatabase({ files });
  const report = await db.start();
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  gc!();
  const m1 = process.memoryUsage();
  console.log(
    `load ${label}: ${Math.round(wall)} ms wall, ${Math.round((cpu.user + cpu.system) / 1000)} ms CPU; ` +
      `${report.v4} IPv4 + ${report.v6} IPv6 ranges, ${report.ases} ASes (${report.hostingAses} hosting); ` +
      `heap +${mb(m1.heapUsed - m0.heapUsed)} MB, typed arrays +${mb(m1.arrayBuffers - m0.arrayBuffers)} MB ` +
      `(${mb(db.bytes)} MB of them the table), RSS +${mb(m1.rss - m0.rss)} MB`,
  );
  return db;
}

const pkgDir = fileURLToPath(new URL("../node_modules/@ip-location-db/asn/", import.meta.url));
const numDb = await load("-num files", [`${pkgDir}asn-ipv4-num.csv`, `${pkgDir}asn-ipv6-num.csv`]);
const db = await load("text files (the default)", PACKAGE_AS_FILES);

// Queries.
const v4: string[] = [];
for (let i = 0; i < Q; i++) v4.push(bigIntToIp(BigInt(rand32()), 4));
const starts: bigint[] = [];
await readAsCsv(PACKAGE_AS_FILES[1]!, (r) => {
  starts.push((BigInt(r.start[0]!) << 32n) | BigInt(r.start[1]!));
});
const v6: string[] = [];
for (let i = 0; i < Q; i++) {
  const hi =
    i % 2 === 0
      ? starts[rand32() % starts.length]!
      : (0x2000n << 48n) | (rand64() & ((1n << 61n) - 1n));
  v6.push(bigIntToIp((hi << 64n) | rand64(), 6));
}

/**
 * As flat strings, the way addresses arrive (parsed from a JSON body): the template literals
 * above build rope strings, whose reading allocates, which the daemon's input never is.
 */
const flat = (a: string[]): string[] => JSON.parse(JSON.stringify(a)) as string[];
const v4q = flat(v4);
const v6q = flat(v6);

function run(label: string, queries: readonly string[], f: (ip: string) => unknown): void {
  let hits = 0;
  for (let i = 0; i < 100_000; i++) if (f(queries[i % queries.length]!) !== undefined) hits++; // warm-up
  const rates: number[] = [];
  let allocated = 0;
  for (let r = 0; r < ROUNDS; r++) {
    gc!();
    const h0 = process.memoryUsage().heapUsed;
    hits = 0;
    const t0 = performance.now();
    for (const q of queries) if (f(q) !== undefined) hits++;
    const ms = performance.now() - t0;
    allocated = Math.max(allocated, process.memoryUsage().heapUsed - h0);
    rates.push(queries.length / (ms / 1000));
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  console.log(
    `${label}: ${(median / 1e6).toFixed(2)} M look-ups/s median of ${ROUNDS} (${(1e9 / median).toFixed(0)} ns/op; best ${(rates.at(-1)! / 1e6).toFixed(2)} M/s), ` +
      `${((hits / queries.length) * 100).toFixed(0)} % found, heap growth over a round ${(allocated / queries.length).toFixed(2)} B/look-up`,
  );
}

// What parsing the text costs alone (net/address-words.ts), to tell it from the search.
const words = newAddressWords();
run("parse only, IPv4", v4q, (ip) => (parseAddressWords(ip, words) === 0 ? undefined : true));
run("parse only, IPv6", v6q, (ip) => (parseAddressWords(ip, words) === 0 ? undefined : true));
// The address as a submission gives it, normalised (each a new one: the memo never hits).
run("normalise, IPv6", v6q, (ip) => normalizeIp(ip));
// The network an assessment and the surge detector count each address under (/24, /48).
run("network prefix, IPv4 /24", v4q, (ip) => ipPrefix(ip, 24));
run("network prefix, IPv6 /48", v6q, (ip) => ipPrefix(ip, 48));
run("AS look-up, IPv4 uniform", v4q, (ip) => db.lookup(ip));
run("AS look-up, IPv6 (half in ranges)", v6q, (ip) => db.lookup(ip));

// The Tor set at its real size (~1,500 exits, a tenth of them IPv6), loaded from a bulk list
// file; a tenth of the queries are exits.
const exits: string[] = [];
for (let i = 0; i < 1500; i++)
  exits.push(i % 10 === 0 ? bigIntToIp((0x2a0bn << 112n) | rand64(), 6) : v4[rand32() % Q]!);
const dir = await mkdtemp(join(tmpdir(), "rempart-bench-tor-"));
await writeFile(join(dir, "torbulkexitlist"), exits.join("\n"));
const tor = new TorExits({ source: { file: join(dir, "torbulkexitlist") }, refreshMs: 3_600_000 });
console.log("Tor list:", await tor.refresh(0));
await rm(dir, { recursive: true });
const torQueries = flat(v4q.map((ip, i) => (i % 10 === 0 ? exits[i % exits.length]! : ip)));
run("Tor exit set", torQueries, (ip) => (tor.has(ip) ? true : undefined));

// Both tables stay alive to the end, so each load's memory is measured on its own. A full
// collection with them loaded: what every mark-compact of a daemon pays for its AS data (this
// process holds little else; the query arrays are flat strings in a few arrays).
const full: number[] = [];
for (let i = 0; i < 7; i++) {
  const t = performance.now();
  gc();
  full.push(performance.now() - t);
}
full.sort((a, b) => a - b);
console.log(
  `tables held: ${numDb.counts.ases + db.counts.ases} ASes; a full collection: ${full[3]!.toFixed(1)} ms median of 7 (${full[0]!.toFixed(1)}–${full[6]!.toFixed(1)}), heap ${mb(process.memoryUsage().heapUsed)} MB`,
);
const load1 = execSync("cat /proc/loadavg").toString().trim();
console.log(`node ${process.version}, ${Q} queries per round, load average ${load1}`);
