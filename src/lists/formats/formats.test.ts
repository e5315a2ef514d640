import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import fc from "fast-check";
import { LIST_FORMATS, type ListFormat } from "./index.ts";

const fixture = (name: string): string =>
  readFileSync(new URL(`fixtures/${name}`, import.meta.url), "utf8");

function values(format: ListFormat, text: string): string[] {
  const r = LIST_FORMATS[format](text);
  if (!r.ok) assert.fail(r.error.message);
  return r.value.entries.map((e) => e.value);
}

test("plain: addresses and CIDRs, comments, blanks, IPv6 canonical, /32 is an address", () => {
  assert.deepEqual(values("plain", fixture("plain.txt")), [
    "198.51.100.7",
    "198.51.100.8",
    "203.0.113.0/24",
    "2001:db8::1",
    "2001:db8:1::/48",
    "203.0.113.5",
  ]);
});

test("plain: a bad line is refused with its line number, or skipped when asked", () => {
  const text = "198.51.100.7\n\n198.51.100.300\n203.0.113.9\n";
  const r = LIST_FORMATS.plain(text);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.error.line, 3);
    assert.match(r.error.message, /line 3: "198\.51\.100\.300" is not an IP address/);
  }
  const s = LIST_FORMATS.plain(text, { skipInvalid: true });
  assert.ok(s.ok);
  assert.equal(s.value.entries.length, 2);
  assert.equal(s.value.skipped, 1);
  assert.equal(s.value.problems[0]?.line, 3);
});

test("an HTML page is never a list, even when skipping bad lines", () => {
  const r = LIST_FORMATS.plain("\n<!DOCTYPE html>\n<html>…", { skipInvalid: true });
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.error.message, /line 2: this looks like an HTML page/);
});

test("spamhaus-drop: CIDRs with their SBL id, header fields in meta", () => {
  const r = LIST_FORMATS["spamhaus-drop"](fixture("drop.txt"));
  assert.ok(r.ok);
  assert.equal(r.value.entries.length, 4);
  assert.deepEqual(r.value.entries[0], { value: "1.10.16.0/20", note: "SBL256894" });
  assert.equal(r.value.meta["last-modified"], "Wed, 1 May 2024 12:46:41 GMT");
});

test("spamhaus-json: entries with sblid and rir; metadata checked against the count", () => {
  const text = fixture("drop_v6.json");
  const r = LIST_FORMATS["spamhaus-json"](text);
  assert.ok(r.ok);
  assert.deepEqual(r.value.entries[1], { value: "2401:3c00::/22", note: "SBL563547 apnic" });
  assert.equal(r.value.meta.records, "3");
  // A download cut after the first line: the metadata no longer matches.
  const lines = text.split("\n");
  const cut = [lines[0], lines[3]].join("\n");
  const t = LIST_FORMATS["spamhaus-json"](cut);
  assert.equal(t.ok, false);
  if (!t.ok) assert.match(t.error.message, /line 2: the metadata says 3 records but 1 were read/);
  const broken = LIST_FORMATS["spamhaus-json"](`${lines[0]!}\n{"cidr":"2a06:e48`);
  assert.equal(broken.ok, false);
  if (!broken.ok) assert.equal(broken.error.line, 2);
  // Cut at a line's end, the metadata line (the last) is what goes missing.
  const headless = LIST_FORMATS["spamhaus-json"](lines.slice(0, 2).join("\n"));
  assert.equal(headless.ok, false);
  if (!headless.ok) assert.match(headless.error.message, /no metadata line at its end/);
  // A bad record skipped with skip_invalid is still one of the records the metadata counts.
  const bad = [lines[0], '{"cidr":"not a range"}', lines[2], lines[3]].join("\n");
  const skipping = LIST_FORMATS["spamhaus-json"](bad, { skipInvalid: true });
  assert.ok(skipping.ok, skipping.ok ? "" : skipping.error.message);
  assert.equal(skipping.value.skipped, 1);
  assert.equal(skipping.value.entries.length, 2);
});

test("firehol: header fields and entries", () => {
  const r = LIST_FORMATS.firehol(fixture("level1.netset"));
  assert.ok(r.ok);
  assert.equal(r.value.meta.name, "firehol_level1");
  assert.equal(r.value.meta.type, "ipv4 hash:net ipset");
  assert.equal(r.value.meta.this_file_date, "Wed May  1 12:20:16 UTC 2024");
  assert.deepEqual(
    r.value.entries.map((e) => e.value),
    ["1.10.16.0/20", "1.19.0.0/16", "2.56.192.0/22", "5.134.128.0/19", "185.220.101.4"],
  );
});

test("tor-exit: ExitAddress lines, IPv4 and IPv6, the relay as note", () => {
  const r = LIST_FORMATS["tor-exit"](fixture("exit-addresses"));
  assert.ok(r.ok);
  assert.deepEqual(r.value.entries, [
    { value: "162.247.74.201", note: "exit 0011BD2485AD45D984EC4159C88FC066E5E3300E" },
    { value: "185.220.101.4", note: "exit 00C4B4731658D3B4987132A3F77100CFCB190D97" },
    { value: "2a0b:f4c2::4", note: "exit 00C4B4731658D3B4987132A3F77100CFCB190D97" },
  ]);
  const archived = LIST_FORMATS["tor-exit"](
    `@type tordnsel 1.0\nDownloaded 2024-05-01 15:00:00\n${fixture("exit-addresses")}`,
  );
  assert.deepEqual(archived.ok && archived.value.entries, r.value.entries);
  const bad = LIST_FORMATS["tor-exit"]("ExitNode AB\nExitAdress 1.2.3.4 2024-05-01 13:08:49\n");
  assert.equal(bad.ok, false);
  if (!bad.ok) assert.equal(bad.error.line, 2);
});

test("tor-bulk: addresses only, duplicates counted once", () => {
  const r = LIST_FORMATS["tor-bulk"](fixture("torbulkexitlist"));
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.entries.map((e) => e.value),
    ["162.247.74.201", "185.220.101.4", "2a0b:f4c2::4"],
  );
  assert.equal(r.value.duplicates, 1);
  assert.equal(LIST_FORMATS["tor-bulk"]("203.0.113.0/24\n").ok, false);
});

test("no parser throws, whatever it is given", () => {
  const line = fc.oneof(
    fc.string(),
    fc.ipV4(),
    fc.ipV6(),
    fc.constantFrom(
      "ExitAddress",
      '{"cidr":',
      "; SBL1",
      "# x : y",
      '{"type":"metadata","records":2}',
    ),
  );
  fc.assert(
    fc.property(fc.array(line, { maxLength: 20 }), fc.boolean(), (lines, skipInvalid) => {
      for (const parse of Object.values(LIST_FORMATS)) {
        const r = parse(lines.join("\n"), { skipInvalid });
        assert.equal(typeof r.ok, "boolean");
      }
    }),
    { numRuns: 300 },
  );
});

test("every valid address of a generated list is read back, IPv4 and IPv6", () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { maxLength: 30 }), (ips) => {
      const r = LIST_FORMATS.plain(ips.join("\n"));
      assert.ok(r.ok);
      assert.equal(r.value.entries.length + r.value.duplicates, ips.length);
    }),
  );
});
