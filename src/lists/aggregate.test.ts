import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { formatCidr, parseCidr, type IpRange } from "../net/index.ts";
import { aggregate } from "./aggregate.ts";
import { compareRanges } from "./entry.ts";

const cidrs = (texts: string[]): string[] =>
  aggregate(texts.map((t) => parseCidr(t)!)).map(formatCidr);

test("merges siblings, drops contained prefixes, keeps families apart", () => {
  assert.deepEqual(
    cidrs([
      "192.0.2.0/25",
      "192.0.2.128/25",
      "192.0.2.7/32",
      "198.51.100.1",
      "2001:db8::/33",
      "2001:db8:8000::/33",
      "198.51.100.0",
    ]),
    ["192.0.2.0/24", "198.51.100.0/31", "2001:db8::/32"],
  );
  assert.deepEqual(cidrs(["0.0.0.0/0", "1.2.3.4"]), ["0.0.0.0/0"]);
  assert.deepEqual(cidrs(["10.0.0.1", "10.0.0.2"]), ["10.0.0.1/32", "10.0.0.2/32"]);
  assert.deepEqual(cidrs([]), []);
});

/**
 * The naive reference, on a small universe (a /22 of IPv4, a /120 of IPv6): enumerate the
 * covered addresses; the fewest-prefix cover is every prefix fully covered whose parent is not.
 */
function naive(ranges: readonly IpRange[], family: 4 | 6, base: bigint, rootBits: number) {
  const width = family === 4 ? 32 : 128;
  const covered = new Set<bigint>();
  for (const r of ranges) {
    const size = 1n << BigInt(width - r.bits);
    for (let a = r.start; a < r.start + size; a++) covered.add(a);
  }
  const full = (start: bigint, bits: number): boolean => {
    const size = 1n << BigInt(width - bits);
    for (let a = start; a < start + size; a++) if (!covered.has(a)) return false;
    return true;
  };
  const out: IpRange[] = [];
  for (let bits = rootBits; bits <= width; bits++) {
    const size = 1n << BigInt(width - bits);
    const count = 1n << BigInt(bits - rootBits);
    for (let i = 0n; i < count; i++) {
      const start = base + i * size;
      if (!full(start, bits)) continue;
      const parentBits = bits - 1;
      const parentStart = start & ~((1n << BigInt(width - parentBits)) - 1n);
      if (bits > rootBits && full(parentStart, parentBits)) continue;
      out.push({ family, start, bits });
    }
  }
  return { covered, out: out.sort(compareRanges).map(formatCidr) };
}

function coverage(ranges: readonly IpRange[], width: number): Set<bigint> {
  const s = new Set<bigint>();
  for (const r of ranges)
    for (let a = r.start; a < r.start + (1n << BigInt(width - r.bits)); a++) s.add(a);
  return s;
}

for (const [family, baseText, rootBits] of [
  [4, "198.51.100.0", 22],
  [6, "2001:db8::", 120],
] as const) {
  test(`aggregate covers the same addresses as the input, in the fewest prefixes (IPv${family})`, () => {
    const width = family === 4 ? 32 : 128;
    const base = parseCidr(baseText)!.start;
    const prefix = fc
      .tuple(
        fc.integer({ min: rootBits, max: width }),
        fc.bigInt(0n, (1n << BigInt(width - rootBits)) - 1n),
      )
      .map(([bits, offset]): IpRange => {
        const hostBits = BigInt(width - bits);
        return { family, start: (base + offset) & ~((1n << hostBits) - 1n), bits };
      });
    fc.assert(
      fc.property(fc.array(prefix, { maxLength: 40 }), (ranges) => {
        const got = aggregate(ranges);
        const ref = naive(ranges, family, base, rootBits);
        assert.deepEqual(coverage(got, width), ref.covered);
        assert.deepEqual(got.map(formatCidr), ref.out);
      }),
      { numRuns: 200 },
    );
  });
}
