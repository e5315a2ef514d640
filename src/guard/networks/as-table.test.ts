import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bigIntToIp } from "../../net/index.ts";
import type { AsCsvRow } from "./as-csv.ts";
import { AsTableBuilder } from "./as-table.ts";

interface Row {
  start: bigint;
  end: bigint;
  asn: number;
}

const words = (n: bigint, family: 4 | 6): Uint32Array => {
  const w = new Uint32Array(5);
  if (family === 4) w[0] = Number(n);
  else for (let k = 0; k < 4; k++) w[k] = Number((n >> BigInt(96 - 32 * k)) & 0xffffffffn);
  return w;
};

const asRow = (r: Row, family: 4 | 6): AsCsvRow => ({
  family,
  start: words(r.start, family),
  end: words(r.end, family),
  asn: r.asn,
  name: asName(r.asn),
});

/** Names of different lengths, some past Latin-1, so that each AS's slice of the names shows. */
const asName = (asn: number): string =>
  `AS${asn} ${"Ré".repeat(asn)}${asn % 2 === 0 ? "网络" : ""}`;

/** The specification: sorted by start (stable), the first row that contains the address wins. */
function reference(rows: readonly Row[], x: bigint): number | undefined {
  const sorted = [...rows].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return sorted.find((r) => r.start <= x && x <= r.end && r.asn !== 0)?.asn;
}

/**
 * Rows drawn from a small window so that they overlap, touch and repeat ASes often, at the
 * bottom or the top of the address space (the edges are where off-by-ones live).
 */
const table = (family: 4 | 6) => {
  const max = family === 4 ? 0xffffffffn : (1n << 128n) - 1n;
  return fc.boolean().chain((top) => {
    const base = top ? max - 200n : family === 4 ? 0n : 0x20010db8n << 96n;
    const offset = fc.bigInt({ min: 0n, max: 200n });
    const row = fc
      .tuple(offset, offset, fc.integer({ min: 0, max: 4 }))
      .map(([a, b, asn]) => ({ start: base + (a < b ? a : b), end: base + (a < b ? b : a), asn }));
    return fc.tuple(
      fc.array(row, { maxLength: 30 }),
      fc.array(offset, { minLength: 1, maxLength: 40 }),
      fc.constant(base),
    );
  });
};

describe("AsTable", () => {
  for (const family of [4, 6] as const) {
    it(`answers the first range containing an IPv${family} address, whatever the order and overlaps`, () => {
      fc.assert(
        fc.property(table(family), ([rows, queries, base]) => {
          const b = new AsTableBuilder();
          for (const r of rows) b.add(asRow(r, family));
          const { table: t, stats } = b.build((asn) => asn === 3);
          for (const q of queries) {
            const x = base + q;
            const ip = bigIntToIp(x, family);
            const got = t.lookup(ip);
            const want = reference(rows, x);
            assert.equal(
              got?.asn,
              want,
              `${ip} in ${JSON.stringify(rows, (_k, v: unknown) => (typeof v === "bigint" ? String(v - base) : v))}`,
            );
            if (got) {
              assert.equal(got.hosting, got.asn === 3);
              assert.equal(got.name, asName(got.asn));
            }
          }
          assert.equal(stats.unrouted, rows.filter((r) => r.asn === 0).length);
          assert.ok(t.counts.v4 + t.counts.v6 <= rows.length);
        }),
        { numRuns: 300 },
      );
    });
  }

  it("merges neighbouring rows of one AS and answers the same object each time", () => {
    const b = new AsTableBuilder();
    b.add(asRow({ start: 0x0a000000n, end: 0x0a0000ffn, asn: 7 }, 4));
    b.add(asRow({ start: 0x0a000100n, end: 0x0a0001ffn, asn: 7 }, 4));
    b.add(asRow({ start: 0x0a000200n, end: 0x0a0002ffn, asn: 8 }, 4));
    const { table: t } = b.build(() => false);
    assert.deepEqual(t.counts, { v4: 2, v6: 0, ases: 2 });
    const a = t.lookup("10.0.0.1");
    assert.equal(t.lookup("10.0.1.255"), a);
    assert.ok(Object.isFrozen(a));
  });

  it("keeps 32-bit AS numbers and the names of the first and last AS whole", () => {
    const b = new AsTableBuilder();
    b.add({ ...asRow({ start: 0x0a000000n, end: 0x0a0000ffn, asn: 1 }, 4), asn: 4_200_000_000 });
    b.add(asRow({ start: 0x0b000000n, end: 0x0b0000ffn, asn: 4 }, 4));
    const { table: t } = b.build((asn) => asn > 65_535);
    assert.deepEqual(
      { ...t.lookup("10.0.0.9") },
      { asn: 4_200_000_000, name: asName(1), hosting: true },
    );
    assert.deepEqual({ ...t.lookup("11.0.0.9") }, { asn: 4, name: asName(4), hosting: false });
    assert.equal(t.hostingCount(), 1);
  });

  it("reads IPv4-mapped IPv6 as IPv4 and answers nothing for what is not an address", () => {
    const b = new AsTableBuilder();
    b.add(asRow({ start: 0xc0000200n, end: 0xc00002ffn, asn: 64500 }, 4));
    const { table: t } = b.build(() => false);
    assert.equal(t.lookup("::ffff:192.0.2.9")?.asn, 64500);
    assert.equal(t.lookup("[192.0.2.9]")?.asn, 64500);
    assert.equal(t.lookup("not an address"), undefined);
    assert.equal(t.lookup(""), undefined);
    assert.equal(t.lookup("2001:db8::1"), undefined);
  });
});
