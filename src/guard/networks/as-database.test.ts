import assert from "node:assert/strict";
import { mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { isRempartError } from "../../core/index.ts";
import { formatWords } from "../../net/index.ts";
import { AsDatabase, PACKAGE_AS_FILES } from "./as-database.ts";
import { readAsCsv } from "./as-csv.ts";
import { AsConfigSchema } from "./networks-config.ts";

let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "rempart-asdb-"));
});
after(() => rm(dir, { recursive: true, force: true }));

const V1 = [
  "192.0.2.0,192.0.2.255,64500,Example Hosting Ltd",
  "198.51.100.0,198.51.100.255,64501,Example Broadband",
  "2001:db8::,2001:db8:ffff:ffff:ffff:ffff:ffff:ffff,64502,Example Cloud",
].join("\n");

/** Writes a file with a given modification time (seconds), so that a change is always seen. */
async function put(name: string, text: string, mtime: number): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  await utimes(file, mtime, mtime);
  return file;
}

describe("AsDatabase on a configured file", () => {
  it("answers nothing before start, then AS, name and hosting flag", async () => {
    const file = await put("v1.csv", V1, 1000);
    const logs: string[] = [];
    const db = AsDatabase.fromConfig(AsConfigSchema.parse({ file, hosting_asns: [64502] }), (l) =>
      logs.push(l),
    );
    assert.equal(db.lookup("192.0.2.7"), undefined);
    const report = await db.start();
    assert.equal(report.v4, 2);
    assert.equal(report.v6, 1);
    assert.equal(report.hostingAses, 2);
    assert.deepEqual(db.lookup("192.0.2.7"), {
      asn: 64500,
      name: "Example Hosting Ltd",
      hosting: true,
    });
    assert.deepEqual(db.lookup("198.51.100.1"), {
      asn: 64501,
      name: "Example Broadband",
      hosting: false,
    });
    assert.equal(db.lookup("2001:db8:1::5")?.hosting, true, "hosting_asns adds to the list");
    assert.equal(db.lookup("203.0.113.1"), undefined);
    assert.match(logs.join("\n"), /2 IPv4 and 1 IPv6 ranges, 3 ASes \(2 hosting\)/);
  });

  it("reloads when the file changes, keeps the old data when the new one is bad", async () => {
    const file = await put("v2.csv", V1, 1000);
    const logs: string[] = [];
    const db = new AsDatabase({ files: [file], notHostingAsns: [64500], log: (l) => logs.push(l) });
    await db.start();
    assert.equal(db.lookup("192.0.2.7")?.hosting, false, "not_hosting_asns beats the name");
    assert.deepEqual(await db.reload(), { kind: "unchanged" });

    await put("v2.csv", `${V1}\n203.0.113.0,203.0.113.255,64503,New Net`, 2000);
    const loaded = await db.reload();
    assert.equal(loaded.kind, "loaded");
    assert.equal(db.lookup("203.0.113.9")?.asn, 64503);

    await put(
      "v2.csv",
      `${V1}\n203.0.113.0,203.0.113.255,64503,New Net\n10.0.0.0,10.0.0.x,1,Bad`,
      3000,
    );
    const failed = await db.reload();
    assert.deepEqual(failed, {
      kind: "failed",
      message: `${file}, line 5: "10.0.0.x" is not an address`,
    });
    assert.equal(db.lookup("203.0.113.9")?.asn, 64503, "the data held stays");
    assert.match(logs.at(-1) ?? "", /line 5: .*; keeping the 4 ASes loaded before$/);

    // The same bad file is tried again at the next check, not taken as loaded.
    assert.equal((await db.reload()).kind, "failed");
  });

  it("shares one load between concurrent reloads", async () => {
    const file = await put("v3.csv", V1, 1000);
    const logs: string[] = [];
    const db = new AsDatabase({ files: [file], log: (l) => logs.push(l) });
    const [a, b] = await Promise.all([db.reload({ force: true }), db.reload({ force: true })]);
    assert.equal(a, b);
    assert.equal(logs.length, 1);
  });

  it("refuses to start on a file it cannot use, naming it", async () => {
    const empty = await put("empty.csv", "# nothing\n", 1000);
    for (const [files, message] of [
      [[], /no AS data file/],
      [[join(dir, "absent.csv")], /absent\.csv: cannot read it/],
      [[empty], /empty\.csv: no ranges at all/],
    ] as const) {
      const db = new AsDatabase({ files });
      await assert.rejects(db.start(), (e: unknown) => {
        assert.ok(isRempartError(e));
        assert.equal(e.code, "CONFIG_INVALID");
        assert.match(e.message, message);
        return true;
      });
    }
    const bad = new AsDatabase({
      files: [await put("ok.csv", V1, 1000)],
      hostingFile: empty + ".absent",
    });
    await assert.rejects(bad.start(), /cannot read .*absent/);
  });

  it("watches the file and picks up a change", async () => {
    const file = await put("v4.csv", V1, 1000);
    const db = new AsDatabase({ files: [file] });
    await db.start();
    const watch = db.watch(20);
    await put("v4.csv", `${V1}\n203.0.113.0,203.0.113.255,64503,New Net`, 2000);
    const until = Date.now() + 5000;
    while (db.lookup("203.0.113.1") === undefined && Date.now() < until)
      await new Promise((r) => setTimeout(r, 10));
    await watch.stop();
    assert.equal(db.lookup("203.0.113.1")?.asn, 64503);
    assert.throws(() => db.watch("soon"), /not a duration/);
  });
});

describe("AsDatabase on the @ip-location-db/asn data", () => {
  const db = new AsDatabase({ files: PACKAGE_AS_FILES });
  before(() => db.start());

  it("holds the whole table and finds a range's AS from its first to its last address", async () => {
    const c = db.counts;
    assert.ok(c.v4 > 100_000 && c.v6 > 10_000 && c.ases > 50_000, JSON.stringify(c));
    // Every 997th row of the IPv4 file: its first and last address answer its AS (the one
    // overlap of the data aside, where the earlier row wins).
    let checked = 0;
    let row = 0;
    await readAsCsv(PACKAGE_AS_FILES[0]!, (r) => {
      if (row++ % 997 !== 0) return;
      assert.equal(db.lookup(formatWords(r.start, 4))?.asn, r.asn);
      assert.equal(db.lookup(formatWords(r.end, 4))?.asn, r.asn);
      checked++;
    });
    assert.ok(checked > 100);
  });

  it("does not count residential ISPs as hosting, and counts the big hosts", async () => {
    // An address of each AS, taken from the data itself.
    const wanted = new Map<number, string>([
      [3215, "Orange"],
      [12322, "Free"],
      [15557, "SFR"],
      [5410, "Bouygues Telecom"],
      [36903, "Maroc Telecom"],
      [719, "Elisa"],
      [3320, "Deutsche Telekom"],
      [16276, "OVH"],
      [24940, "Hetzner"],
      [14061, "DigitalOcean"],
      [16509, "Amazon"],
    ]);
    const sample = new Map<number, string>();
    for (const file of PACKAGE_AS_FILES)
      await readAsCsv(file, (r) => {
        if (wanted.has(r.asn) && !sample.has(r.asn))
          sample.set(r.asn, formatWords(r.start, r.family));
      });
    for (const [asn, who] of wanted) {
      const ip = sample.get(asn);
      assert.ok(ip !== undefined, `no range of AS${asn} (${who}) in the data`);
      const info = db.lookup(ip);
      assert.equal(info?.asn, asn, `${ip} (${who})`);
      const hosting = [16276, 24940, 14061, 16509].includes(asn);
      assert.equal(
        info.hosting,
        hosting,
        `AS${asn} ${info.name} (${who}) hosting should be ${hosting}`,
      );
    }
  });

  it("answers the same frozen object for two addresses of one AS", () => {
    const a = db.lookup("5.9.0.1");
    assert.ok(a);
    assert.ok(Object.isFrozen(a));
    assert.equal(db.lookup("5.9.0.2"), a);
  });
});
