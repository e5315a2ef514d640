/**
 * The DNSBL enforcer asked by the real `dig` (Debian dnsutils) over UDP and TCP, on 127.0.0.1
 * with a random port: listed IPv4 and IPv6, a range, TXT, the RFC 5782 test entries, NXDOMAIN,
 * REFUSED, and a decision added then removed through the feed. .ci/run installs dnsutils.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { ManualClock, type Decision } from "../../src/core/index.ts";
import { DecisionBook, DecisionFeed } from "../../src/decisions/index.ts";
import {
  createDnsbl,
  DnsblConfigSchema,
  type DnsblService,
} from "../../src/enforcers/dnsbl/index.ts";

const run = promisify(execFile);
const missing =
  spawnSync("dig", ["-v"]).error !== undefined
    ? "needs dig (Debian package dnsutils) to query the DNSBL"
    : false;

const NOW = Date.parse("2026-01-01T00:00:00Z");
const decision = (id: string, value: string, more: Partial<Decision> = {}): Decision =>
  Object.freeze({
    id,
    action: "ban",
    scope: value.includes("/") ? "range" : "ip",
    value,
    createdAt: NOW,
    expiresAt: NOW + 3_600_000,
    origin: "scenario",
    scenario: "mail-bruteforce",
    reason: "SASL password guessing",
    offence: 0,
    tzOffset: 0,
    ...more,
  });

const book = new DecisionBook();
const feed = new DecisionFeed();
const clock = new ManualClock(NOW);
let service: DnsblService | undefined;

before(async () => {
  if (missing) return;
  for (const d of [
    decision("v4", "192.0.2.1"),
    decision("v6", "2001:db8::1"),
    decision("net", "198.51.100.0/24", { action: "challenge", reason: "botnet range" }),
  ])
    book.add(d);
  service = createDnsbl(
    DnsblConfigSchema.parse({
      listen: "127.0.0.1:0",
      zone: "bl.example.org",
      lookup_url: "https://rbl.example.org/lookup?ip={ip}",
    }),
    { book, feed, clock, log: () => undefined },
  );
  await service.start();
});

after(async () => {
  await service?.stop();
});

/** `dig +short`-like lines, plus the status, from the real dig. */
async function dig(name: string, type = "A", tcp = false) {
  const args = ["@127.0.0.1", "-p", String(service!.port), name, type, "+tries=1", "+time=2"];
  if (tcp) args.push("+tcp");
  const { stdout } = await run("dig", args);
  const status = /status: ([A-Z]+)/.exec(stdout)?.[1];
  const answers = stdout
    .split("\n")
    .filter((l) => l.length > 0 && !l.startsWith(";"))
    .map((l) => l.split(/\s+/).slice(3).join(" "));
  return { status, answers, stdout };
}

for (const tcp of [false, true]) {
  const via = tcp ? "TCP" : "UDP";

  test(
    `${via}: listed IPv4 and IPv6, an address in a banned range, TXT`,
    { skip: missing },
    async () => {
      assert.deepEqual((await dig("1.2.0.192.bl.example.org", "A", tcp)).answers, ["A 127.0.0.2"]);
      const v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.example.org";
      assert.deepEqual((await dig(v6, "A", tcp)).answers, ["A 127.0.0.2"]);
      assert.deepEqual((await dig("77.100.51.198.bl.example.org", "A", tcp)).answers, [
        "A 127.0.0.3",
      ]);
      const txt = await dig("1.2.0.192.bl.example.org", "TXT", tcp);
      assert.deepEqual(txt.answers, [
        'TXT "SASL password guessing; see https://rbl.example.org/lookup?ip=192.0.2.1"',
      ]);
      assert.match(txt.stdout, /flags: qr aa rd;/, "authoritative");
    },
  );

  test(`${via}: RFC 5782 test entries, NXDOMAIN, REFUSED, SOA`, { skip: missing }, async () => {
    assert.deepEqual((await dig("2.0.0.127.bl.example.org", "A", tcp)).answers, ["A 127.0.0.2"]);
    const mapped = "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.example.org";
    assert.deepEqual((await dig(mapped, "A", tcp)).answers, ["A 127.0.0.2"]);
    assert.equal((await dig("1.0.0.127.bl.example.org", "A", tcp)).status, "NXDOMAIN");
    assert.equal((await dig("2.2.0.192.bl.example.org", "A", tcp)).status, "NXDOMAIN");
    assert.equal((await dig("1.2.0.192.bl.example.net", "A", tcp)).status, "REFUSED");
    const soa = await dig("bl.example.org", "SOA", tcp);
    assert.match(soa.answers[0] ?? "", /^SOA localhost\. hostmaster\.bl\.example\.org\. \d+ /);
  });
}

test("several queries on one TCP connection", { skip: missing }, async () => {
  const { stdout } = await run("dig", [
    "@127.0.0.1",
    "-p",
    String(service!.port),
    "+tcp",
    "+keepopen",
    "+short",
    "1.2.0.192.bl.example.org",
    "2.0.0.127.bl.example.org",
    "77.100.51.198.bl.example.org",
  ]);
  assert.deepEqual(stdout.trim().split("\n"), ["127.0.0.2", "127.0.0.2", "127.0.0.3"]);
});

test(
  "a decision added, then removed, through the feed changes the answer",
  { skip: missing },
  async () => {
    const name = "9.113.0.203.bl.example.org";
    assert.equal((await dig(name)).status, "NXDOMAIN");
    const d = decision("late", "203.0.113.0/28", { reason: "form spam" });
    book.add(d);
    feed.push("added", d, NOW);
    assert.deepEqual((await dig(name)).answers, ["A 127.0.0.2"]);
    assert.deepEqual((await dig(name, "TXT", true)).answers, [
      'TXT "form spam; see https://rbl.example.org/lookup?ip=203.0.113.9"',
    ]);
    book.remove("late");
    feed.push("removed", d, NOW + 1);
    assert.equal((await dig(name)).status, "NXDOMAIN");
    assert.equal((await dig(name, "A", true)).status, "NXDOMAIN");

    // One address: the zone drops that address's cached answer only.
    const one = decision("one", "203.0.113.9", { action: "challenge" });
    book.add(one);
    feed.push("added", one, NOW + 2);
    assert.deepEqual((await dig(name)).answers, ["A 127.0.0.3"]);
    assert.deepEqual((await dig("1.2.0.192.bl.example.org")).answers, ["A 127.0.0.2"]);
    book.remove("one");
    feed.push("removed", one, NOW + 3);
    assert.equal((await dig(name)).status, "NXDOMAIN");
  },
);
