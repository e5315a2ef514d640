/**
 * A deterministic 1M-entry blocklist for the DNSBL benchmark: mixed IPv4/IPv6, single addresses
 * and ranges, written as rbldnsd ip4trie/ip6trie zones and as a plain list for Rempart, plus a
 * dnsperf query file mixing listed and unlisted addresses.
 *
 *   node bench/dnsbl-gen.ts [--entries 1000000] [--queries 200000] [--seed 1] [--out bench/out/dnsbl]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { formatGroups } from "../src/net/index.ts";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { dnsblName } from "../test/support/dnsbl-names.ts";

const { values } = parseArgs({
  options: {
    entries: { type: "string", default: "1000000" },
    queries: { type: "string", default: "200000" },
    seed: { type: "string", default: "1" },
    out: { type: "string", default: "bench/out/dnsbl" },
  },
});
const ENTRIES = Number(values.entries);
const QUERIES = Number(values.queries);
const ZONE = "bl.example.org";

let state = Number(values.seed) >>> 0 || 1;
/** mulberry32: small, fast, the same sequence everywhere. */
function rand(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n: number): number => Math.floor(rand() * n);

// Public-looking space only: 11.0.0.0–126.255.255.255 for IPv4, 2a00::/12 for IPv6.
const v4 = (): number => (11 + int(116)) * 16777216 + int(16777216);
const v4text = (n: number): string =>
  `${Math.floor(n / 16777216)}.${Math.floor(n / 65536) & 255}.${Math.floor(n / 256) & 255}.${n & 255}`;
const v6groups = (): number[] => [
  0x2a00 | int(16),
  int(65536),
  int(65536),
  int(65536),
  int(65536),
  int(65536),
  int(65536),
  int(65536),
];
const v6text = formatGroups;
function maskV6(g: readonly number[], bits: number): number[] {
  return g.map((x, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    return keep === 0 ? 0 : x & ((0xffff << (16 - keep)) & 0xffff);
  });
}

interface Entry {
  family: 4 | 6;
  text: string;
  sample: () => string;
}
const v4lines: string[] = [
  `:127.0.0.2:Listed by the benchmark list; see https://rbl.example.org/lookup?ip=$`,
];
const v6lines: string[] = [
  `:127.0.0.2:Listed by the benchmark list; see https://rbl.example.org/lookup?ip=$`,
];
const plain: string[] = [];
const entries: Entry[] = [];
for (let i = 0; i < ENTRIES; i++) {
  const range = rand() < 0.1;
  if (rand() < 0.7) {
    const n = v4();
    if (range) {
      const bits = 20 + int(10); // /20 … /29
      const size = 2 ** (32 - bits);
      const start = n - (n % size);
      const text = `${v4text(start)}/${bits}`;
      v4lines.push(text);
      plain.push(text);
      entries.push({ family: 4, text, sample: () => v4text(start + int(size)) });
    } else {
      const text = v4text(n);
      v4lines.push(text);
      plain.push(text);
      entries.push({ family: 4, text, sample: () => text });
    }
  } else {
    const g = v6groups();
    if (range) {
      const bits = 48 + int(17); // /48 … /64
      const start = maskV6(g, bits);
      const text = `${v6text(start)}/${bits}`;
      v6lines.push(text);
      plain.push(text);
      entries.push({
        family: 6,
        text,
        sample: () => v6text(start.map((x, k) => (k >= 4 ? int(65536) : x))),
      });
    } else {
      const text = v6text(g);
      v6lines.push(text);
      plain.push(text);
      entries.push({ family: 6, text, sample: () => text });
    }
  }
}

// Half listed (an entry, or an address inside a listed range), half random (almost never listed).
const queries: string[] = [];
for (let i = 0; i < QUERIES; i++) {
  let ip: string;
  if (rand() < 0.5) ip = entries[int(entries.length)]!.sample();
  else ip = rand() < 0.7 ? v4text(v4()) : v6text(v6groups());
  queries.push(`${dnsblName(ip, ZONE)} A`);
}

mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, "v4.zone"), v4lines.join("\n") + "\n");
writeFileSync(join(values.out, "v6.zone"), v6lines.join("\n") + "\n");
writeFileSync(join(values.out, "list.txt"), plain.join("\n") + "\n");
writeFileSync(join(values.out, "queries.txt"), queries.join("\n") + "\n");
console.log(
  `dnsbl-gen: ${ENTRIES} entries (${v4lines.length - 1} IPv4, ${v6lines.length - 1} IPv6), ${QUERIES} queries in ${values.out}`,
);
