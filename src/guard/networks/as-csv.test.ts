import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { bigIntToIp, formatWords } from "../../net/index.ts";
import { AsCsvLineParser, readAsCsv, type AsCsvRow } from "./as-csv.ts";

interface Plain {
  family: 4 | 6;
  start: number[];
  end: number[];
  asn: number;
  name: string;
}
const plain = (r: AsCsvRow): Plain => ({
  family: r.family,
  start: [...r.start.subarray(0, 4)],
  end: [...r.end.subarray(0, 4)],
  asn: r.asn,
  name: r.name,
});
const parse = (line: string): Plain | string | undefined => {
  const r = new AsCsvLineParser().parse(line);
  return r === undefined || typeof r === "string" ? r : plain(r);
};

describe("AsCsvLineParser", () => {
  it("reads the package's text rows, quoted names and doubled quotes included", () => {
    assert.deepEqual(parse('1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."'), {
      family: 4,
      start: [0x01000000, 0, 0, 0],
      end: [0x010000ff, 0, 0, 0],
      asn: 13335,
      name: "Cloudflare, Inc.",
    });
    assert.equal(
      (parse('2.26.200.0,2.26.215.255,201907,"LLC ""SPUTNIK"""') as Plain).name,
      'LLC "SPUTNIK"',
    );
    assert.deepEqual(parse("2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project"), {
      family: 6,
      start: [0x20010200, 0, 0, 0],
      end: [0x20010200, 0x01b9ffff, 0xffffffff, 0xffffffff],
      asn: 2500,
      name: "WIDE Project",
    });
  });

  it("accepts AS-prefixed numbers, quoted addresses and a missing name", () => {
    const r = parse('"192.0.2.0","192.0.2.255",AS64500') as Plain;
    assert.equal(r.asn, 64500);
    assert.equal(r.name, "");
  });

  it("skips blank and comment lines", () => {
    assert.equal(parse(""), undefined);
    assert.equal(parse("   "), undefined);
    assert.equal(parse("# a comment"), undefined);
  });

  it("says what is wrong with a bad line", () => {
    assert.match(parse("1.0.0.0,1.0.0.255") as string, /expected start,end,asn,name; got 2 fields/);
    assert.match(parse("1.0.0.300,1.0.0.255,1,x") as string, /"1\.0\.0\.300" is not an address/);
    assert.match(parse("1.0.0.9,1.0.0.1,1,x") as string, /ends before it starts/);
    assert.match(parse("1.0.0.0,2001:db8::,1,x") as string, /different address families/);
    assert.match(parse("1.0.0.0,1.0.0.1,x1,x") as string, /"x1" is not an AS number/);
    assert.match(parse("1.0.0.0,1.0.0.1,4294967296,x") as string, /is not an AS number/);
    assert.match(parse('1.0.0.0,1.0.0.1,1,"open') as string, /not closed/);
    assert.match(parse('1.0.0.0,1.0.0.1,1,"a"b') as string, /other than a comma/);
  });

  it("reads the -num files' decimal addresses as the text ones", () => {
    const v4 = fc.tuple(fc.nat({ max: 2 ** 32 - 1 }), fc.nat({ max: 2 ** 32 - 1 }));
    fc.assert(
      fc.property(v4, ([a, b]) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const text = `${bigIntToIp(BigInt(lo), 4)},${bigIntToIp(BigInt(hi), 4)},7,n`;
        assert.deepEqual(parse(`${lo},${hi},7,n`), parse(text));
      }),
    );
    // IPv6 numbers are at least 2^32 in practice (below that a number is read as IPv4); the
    // IPv4-mapped /96 is drawn often, because it reads as IPv4 in both forms.
    const mapped = 0xffffn << 32n;
    const v6 = fc.oneof(
      fc.bigInt({ min: 1n << 32n, max: (1n << 128n) - 1n }),
      fc.bigInt({ min: mapped, max: mapped + 0xffffffffn }),
    );
    fc.assert(
      fc.property(v6, v6, (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const text = `${bigIntToIp(lo, 6)},${bigIntToIp(hi, 6)},7,n`;
        assert.deepEqual(parse(`${lo},${hi},7,n`), parse(text));
      }),
    );
  });

  it("refuses a number wider than 128 bits", () => {
    assert.match(parse(`1,${2n ** 128n},7,n`) as string, /is not an address/);
  });
});

describe("readAsCsv", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "rempart-as-csv-"));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it("streams a file larger than its chunks, CRLF and a header included, without losing a row", async () => {
    // About 3 MB: rows cross the 1 MB chunk boundaries at arbitrary places.
    const lines = [
      "ip_range_start,ip_range_end,autonomous_system_number,autonomous_system_organization",
    ];
    const n = 60_000;
    for (let i = 0; i < n; i++)
      lines.push(
        `${formatWords([i * 256], 4)},${formatWords([i * 256 + 255], 4)},${i + 1},"Network number ${i}, a long name to make the file big"`,
      );
    const file = join(dir, "big.csv");
    await writeFile(file, lines.join("\r\n"));
    const seen: number[] = [];
    let names = 0;
    const problem = await readAsCsv(file, (r) => {
      assert.equal(r.start[0], (r.asn - 1) * 256);
      if (r.name === `Network number ${r.asn - 1}, a long name to make the file big`) names++;
      seen.push(r.asn);
    });
    assert.equal(problem, undefined);
    assert.equal(seen.length, n);
    assert.equal(names, n);
  });

  it("stops at the first bad line and names the file and the line", async () => {
    const file = join(dir, "bad.csv");
    await writeFile(
      file,
      "1.0.0.0,1.0.0.255,1,a\n\n1.0.1.0,1.0.1.255,2,b\n1.0.2.0,nope,3,c\n1.0.3.0,1.0.3.255,4,d\n",
    );
    let rows = 0;
    const problem = await readAsCsv(file, () => rows++);
    assert.deepEqual(problem, { file, line: 4, message: '"nope" is not an address' });
    assert.equal(rows, 2);
  });

  it("does not take a bad first data line for a header", async () => {
    const file = join(dir, "bad-first.csv");
    await writeFile(file, "1.0.0.0,1.0.0.x,1,a\n");
    assert.equal((await readAsCsv(file, () => undefined))?.line, 1);
  });

  it("says so when the file cannot be read", async () => {
    const problem = await readAsCsv(join(dir, "absent.csv"), () => undefined);
    assert.match(problem?.message ?? "", /cannot read it: ENOENT/);
  });
});
