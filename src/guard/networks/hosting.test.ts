import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import {
  HOSTING_ASNS_FILE,
  HostingClassifier,
  hostingByName,
  parseHostingAsns,
  readHostingAsns,
} from "./hosting.ts";

describe("the curated hosting list", () => {
  it("parses, names every network it lists, and lists each once", async () => {
    const text = await readFile(HOSTING_ASNS_FILE, "utf8");
    const asns = await readHostingAsns();
    assert.ok(asns.ok);
    assert.ok(asns.value.length >= 40, `${asns.value.length} networks`);
    assert.equal(new Set(asns.value).size, asns.value.length, "an AS is listed twice");
    for (const line of text.split("\n")) {
      if (!/^\d/.test(line)) continue;
      assert.match(line, /^\d+\s+# \S.{2,}/, `no name for: ${line}`);
    }
  });

  it("holds the well-known hosting networks and none of the residential ISPs", async () => {
    const asns = await readHostingAsns();
    assert.ok(asns.ok);
    const set = new Set(asns.value);
    for (const a of [
      16276, 24940, 14061, 16509, 14618, 396982, 8075, 63949, 20473, 51167, 12876, 9009, 60781,
      16265,
    ])
      assert.ok(set.has(a), `AS${a} missing`);
    // Orange, Free, SFR, Bouygues, Maroc Telecom, Elisa, Deutsche Telekom, BT; and the CDNs
    // that iCloud Private Relay and WARP users browse from.
    for (const a of [3215, 12322, 15557, 5410, 36903, 719, 3320, 2856, 13335, 36183, 54113])
      assert.ok(!set.has(a), `AS${a} listed`);
  });

  it("refuses a line that is not an AS number, with its line number", () => {
    const r = parseHostingAsns("16276 # OVH\n\nOVH SAS\n", "x.txt");
    assert.ok(!r.ok);
    assert.equal(r.error.line, 3);
    assert.match(
      r.error.message,
      /^x\.txt, line 3: expected one AS number per line, got "OVH SAS"/,
    );
    assert.ok(!parseHostingAsns("0\n", "x").ok);
    assert.ok(!parseHostingAsns("4294967296\n", "x").ok);
    const ok = parseHostingAsns("AS16276\n  24940   # Hetzner\n", "x");
    assert.deepEqual(ok.ok && ok.value, [16276, 24940]);
  });

  it("says why when the file cannot be read", async () => {
    const r = await readHostingAsns("/nonexistent/hosting.txt");
    assert.ok(!r.ok);
    assert.match(r.error.message, /cannot read \/nonexistent\/hosting\.txt/);
  });
});

describe("hostingByName", () => {
  it("recognises hosting firms by their names", () => {
    for (const name of [
      "Hosting Tornado LLC",
      "Johan Karlsson trading as SweHosting",
      "Ace Data Centers, Inc.",
      "Datum Datacentres Limited",
      "Charlotte Colocation Center LLc",
      "UK Dedicated Servers Limited",
      "Andreas Fahl trading as Megaservers.de",
      "Serverius Holding B.V.",
      "OzVPS",
      "VDS NET",
    ])
      assert.ok(hostingByName(name), name);
  });

  it("leaves alone names where the words mean something else", () => {
    for (const name of [
      "Wasserversorgung Bayerischer Wald", // a water utility: "server" inside a word
      "White Cloud Communications US, LLC", // a fibre ISP: "cloud" is not a hosting word
      "Colombia Movil", // "colo"
      "Dedicated Freight Corridor Corporation of India Limited",
      "Orange S.A.",
      "Free SAS",
      "Societe Francaise Du Radiotelephone - SFR SA",
      "Bouygues Telecom SA",
      "Elisa Oyj",
    ])
      assert.ok(!hostingByName(name), name);
  });

  it("does not classify a name that also names an access network", () => {
    for (const name of [
      "VPS Broadband And Telecommunications Pvt Ltd",
      "Server ISP",
      "HOSTING TELECOM LTD",
      "Ubx Datacenter e Telecomunicacoes LTDA",
      "Revtelecom-Hosting Revtelecom Group SAS",
    ])
      assert.ok(!hostingByName(name), name);
  });
});

describe("HostingClassifier", () => {
  it("applies exceptions first, then the list, then the name", () => {
    const c = new HostingClassifier([16276, 64500], [64501, 16276]);
    assert.equal(c.isHosting(16276, "OVH SAS"), false, "an exception beats the list");
    assert.equal(c.isHosting(64500, "Some ISP"), true, "the list beats the name");
    assert.equal(c.isHosting(64501, "Best Hosting Ltd"), false, "an exception beats the name");
    assert.equal(c.isHosting(64502, "Best Hosting Ltd"), true);
    assert.equal(c.isHosting(64503, "Some ISP"), false);
  });
});
