import assert from "node:assert/strict";
import { test } from "node:test";
import * as packet from "dns-packet";
import fc from "fast-check";
import { ManualClock, type Decision } from "../../core/index.ts";
import { DecisionBook } from "../../decisions/index.ts";
import { formatGroups, normalizeIp } from "../../net/index.ts";
import { DnsblConfigSchema, parseListen } from "./dnsbl-config.ts";
import { DnsblZone } from "./dnsbl-zone.ts";

const decision = (id: string, value: string, more: Partial<Decision> = {}): Decision =>
  Object.freeze({
    id,
    action: "ban",
    scope: value.includes("/") ? "range" : "ip",
    value,
    createdAt: 0,
    expiresAt: null,
    origin: "scenario",
    scenario: "mail-bruteforce",
    reason: "password guessing on submission",
    offence: 0,
    tzOffset: 0,
    ...more,
  });

function setup(decisions: Decision[] = [], now = 1_000_000) {
  const book = new DecisionBook();
  for (const d of decisions) book.add(d);
  const clock = new ManualClock(now);
  const zone = new DnsblZone(book, clock, {
    zone: "bl.example.org",
    ttl: 60,
    codes: { ban: "127.0.0.2", challenge: "127.0.0.3" },
    scenarioCodes: { "spamhaus-drop": "127.0.0.10" },
    lookupUrl: "https://rbl.example.org/lookup?ip={ip}",
    nameservers: ["ns1.example.org", "ns2.example.org"],
    cacheEntries: 1000,
  });
  return { book, clock, zone };
}

type Question = { name: string; type?: string; edns?: boolean; id?: number };

function ask(zone: DnsblZone, q: Question, tcp = false): packet.Packet {
  const query = packet.encode({
    type: "query",
    id: q.id ?? 4242,
    flags: packet.RECURSION_DESIRED,
    questions: [{ name: q.name, type: (q.type ?? "A") as "A", class: "IN" }],
    ...(q.edns ? { additionals: [{ type: "OPT", name: ".", udpPayloadSize: 4096 }] } : {}),
  } as packet.Packet);
  const out = zone.answer(query, tcp);
  assert.ok(out, "an answer");
  if (tcp) {
    assert.equal(out.readUInt16BE(0), out.length - 2, "length prefix");
    return packet.decode(out.subarray(2));
  }
  return packet.decode(out);
}

const rcode = (p: packet.Packet): string | undefined => (p as { rcode?: string }).rcode;
const aData = (p: packet.Packet): string[] =>
  (p.answers ?? []).filter((a) => a.type === "A").map((a) => (a as { data: string }).data);
const txtData = (p: packet.Packet): string[] =>
  (p.answers ?? [])
    .filter((a) => a.type === "TXT")
    .map((a) => Buffer.concat((a as { data: Buffer[] }).data).toString());

/** The nibble name of an IPv6 address. */
function v6name(ip: string, zone = "bl.example.org"): string {
  const full = ip.includes("::")
    ? (() => {
        const [l, r] = ip.split("::") as [string, string];
        const left = l ? l.split(":") : [];
        const right = r ? r.split(":") : [];
        return [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
      })()
    : ip.split(":");
  const hex = full.map((g) => g.padStart(4, "0")).join("");
  return `${Array.from(hex, (c) => c)
    .reverse()
    .join(".")}.${zone}`;
}

test("a banned IPv4 address is listed with its code, reason and lookup URL", () => {
  const { zone } = setup([decision("a", "192.0.2.1")]);
  const p = ask(zone, { name: "1.2.0.192.bl.example.org" });
  assert.equal(rcode(p), "NOERROR");
  assert.ok(p.flags !== undefined && (p.flags & packet.AUTHORITATIVE_ANSWER) !== 0);
  assert.deepEqual(aData(p), ["127.0.0.2"]);
  assert.equal(p.answers?.[0]?.name, "1.2.0.192.bl.example.org");
  assert.equal((p.answers?.[0] as { ttl: number }).ttl, 60);
  assert.equal(p.id, 4242);
  const t = ask(zone, { name: "1.2.0.192.bl.example.org", type: "TXT" });
  assert.deepEqual(txtData(t), [
    "password guessing on submission; see https://rbl.example.org/lookup?ip=192.0.2.1",
  ]);
});

test("IPv6 by nibbles, an address inside a banned range, and scenario codes", () => {
  const { zone } = setup([
    decision("a", "2001:db8::1"),
    decision("b", "2001:db8:1::/48", { action: "challenge" }),
    decision("c", "198.51.100.0/24", { scenario: "spamhaus-drop", reason: "DROP list" }),
  ]);
  assert.deepEqual(aData(ask(zone, { name: v6name("2001:db8::1") })), ["127.0.0.2"]);
  assert.equal(rcode(ask(zone, { name: v6name("2001:db8::2") })), "NXDOMAIN");
  assert.deepEqual(aData(ask(zone, { name: v6name("2001:db8:1:2::99") })), ["127.0.0.3"]);
  assert.deepEqual(aData(ask(zone, { name: "77.100.51.198.bl.example.org" })), ["127.0.0.10"]);
  const any = ask(zone, { name: "77.100.51.198.bl.example.org", type: "ANY" });
  assert.deepEqual(aData(any), ["127.0.0.10"]);
  assert.match(txtData(any)[0] ?? "", /^DROP list; see .*ip=198\.51\.100\.77$/);
});

test("two decisions with two codes give two A records; unpublished actions are not listed", () => {
  const { zone } = setup([
    decision("a", "192.0.2.1"),
    decision("b", "192.0.2.0/24", { action: "challenge" }),
    decision("c", "192.0.2.9", { action: "throttle" }),
  ]);
  assert.deepEqual(aData(ask(zone, { name: "1.2.0.192.bl.example.org" })), [
    "127.0.0.2",
    "127.0.0.3",
  ]);
  assert.equal(txtData(ask(zone, { name: "1.2.0.192.bl.example.org", type: "TXT" })).length, 2);
  // throttle has no code in this zone, but the /24 challenge covers .9.
  assert.deepEqual(aData(ask(zone, { name: "9.2.0.192.bl.example.org" })), ["127.0.0.3"]);
});

test("RFC 5782 test entries: 127.0.0.2 and ::FFFF:7F00:2 listed, 127.0.0.1 not", () => {
  const { zone } = setup();
  assert.deepEqual(aData(ask(zone, { name: "2.0.0.127.bl.example.org" })), ["127.0.0.2"]);
  assert.equal(txtData(ask(zone, { name: "2.0.0.127.bl.example.org", type: "TXT" })).length, 1);
  assert.equal(rcode(ask(zone, { name: "1.0.0.127.bl.example.org" })), "NXDOMAIN");
  assert.deepEqual(aData(ask(zone, { name: v6name("::ffff:7f00:2") })), ["127.0.0.2"]);
  assert.equal(rcode(ask(zone, { name: v6name("::ffff:7f00:1") })), "NXDOMAIN");
});

test("NXDOMAIN with the SOA for unlisted and malformed names; NODATA for other types", () => {
  const { zone } = setup([decision("a", "192.0.2.1"), decision("b", "2001:db8::1")]);
  // 32 labels, as an IPv6 name, but not 32 nibbles: one label of two, or a byte that is no digit.
  const listed6 = v6name("2001:db8::1").split(".");
  const nibbles = (edit: (labels: string[]) => void): string => {
    const labels = [...listed6];
    edit(labels);
    return labels.join(".");
  };
  assert.deepEqual(aData(ask(zone, { name: listed6.join(".") })), ["127.0.0.2"]);
  for (const name of [
    "2.2.0.192.bl.example.org",
    "01.2.0.192.bl.example.org",
    "256.2.0.192.bl.example.org",
    "x.1.2.0.192.bl.example.org",
    "www.bl.example.org",
    nibbles((l) => (l[0] = "10")),
    // Read two bytes apart from the start, this one would spell the listed address.
    nibbles((l) => l.splice(0, 32, `${l[0]}f${l[1]}`, ...l.slice(2, 32), "0")),
    nibbles((l) => (l[17] = "01")),
    nibbles((l) => (l[31] = "20")),
    nibbles((l) => (l[5] = "g")),
    nibbles((l) => (l[30] = ":")),
  ]) {
    const p = ask(zone, { name });
    assert.equal(rcode(p), "NXDOMAIN", name);
    assert.equal(p.authorities?.[0]?.type, "SOA", name);
    assert.equal(p.answers?.length, 0);
  }
  const aaaa = ask(zone, { name: "1.2.0.192.bl.example.org", type: "AAAA" });
  assert.equal(rcode(aaaa), "NOERROR");
  assert.equal(aaaa.answers?.length, 0);
  assert.equal(aaaa.authorities?.[0]?.type, "SOA");
});

test("the apex answers SOA and NS; other zones are REFUSED; case is kept as asked", () => {
  const { zone } = setup();
  const soa = ask(zone, { name: "bl.example.org", type: "SOA" });
  assert.equal(soa.answers?.[0]?.type, "SOA");
  const data = (soa.answers?.[0] as { data: { mname: string; rname: string; minimum: number } })
    .data;
  assert.equal(data.mname, "ns1.example.org");
  assert.equal(data.rname, "hostmaster.bl.example.org");
  assert.equal(data.minimum, 60);
  const ns = ask(zone, { name: "BL.Example.ORG", type: "NS" });
  assert.deepEqual(
    (ns.answers ?? []).map((a) => (a as { data: string }).data),
    ["ns1.example.org", "ns2.example.org"],
  );
  assert.equal(ns.questions?.[0]?.name, "BL.Example.ORG");
  assert.equal(rcode(ask(zone, { name: "1.2.0.192.bl.example.net" })), "REFUSED");
  assert.equal(rcode(ask(zone, { name: "example.org" })), "REFUSED");
  assert.equal(rcode(ask(zone, { name: "bl.example.org", type: "AXFR" })), "REFUSED");
  assert.equal(rcode(ask(zone, { name: "2.0.0.127.BL.EXAMPLE.org" })), "NOERROR");
  // An IXFR carries the client's SOA in the authority section (RFC 1995): refused, as AXFR.
  const clientSoa = {
    name: "bl.example.org",
    type: "SOA",
    data: {
      mname: "ns1.example.org",
      rname: "hostmaster.example.org",
      serial: 1,
      refresh: 1,
      retry: 1,
      expire: 1,
      minimum: 1,
    },
  };
  const ixfr = (type: string) =>
    packet.decode(
      zone.answer(
        packet.encode({
          type: "query",
          id: 7,
          questions: [{ name: "bl.example.org", type, class: "IN" }],
          authorities: [clientSoa],
        } as unknown as packet.Packet),
        false,
      )!,
    );
  assert.equal(rcode(ixfr("IXFR")), "REFUSED");
  // Any other question with an authority section is malformed.
  assert.equal(rcode(ixfr("A")), "FORMERR");
});

test("TTL never runs past the expiry of the decision behind the answer", () => {
  const { zone, clock } = setup([decision("a", "192.0.2.1", { expiresAt: 1_000_000 + 25_500 })]);
  const ttl = (): number =>
    (ask(zone, { name: "1.2.0.192.bl.example.org" }).answers?.[0] as { ttl: number }).ttl;
  assert.equal(ttl(), 25);
  clock.advance(1_000_000 + 20_000);
  assert.equal(ttl(), 5, "from the cache too");
  clock.advance(1_000_000 + 26_000);
  assert.equal(rcode(ask(zone, { name: "1.2.0.192.bl.example.org" })), "NXDOMAIN");
});

test("answers change when the book changes and the zone is told", () => {
  const { zone, book } = setup();
  const before = zone.serial;
  assert.equal(rcode(ask(zone, { name: "1.2.0.192.bl.example.org" })), "NXDOMAIN");
  book.add(decision("a", "192.0.2.0/24"));
  zone.invalidate();
  assert.ok(zone.serial > before, "the SOA serial moves");
  assert.deepEqual(aData(ask(zone, { name: "1.2.0.192.bl.example.org" })), ["127.0.0.2"]);
  book.remove("a");
  zone.invalidate();
  assert.equal(rcode(ask(zone, { name: "1.2.0.192.bl.example.org" })), "NXDOMAIN");
});

test("the SOA serial is the second of the last change, and grows with every change", () => {
  const { zone, book, clock } = setup([], 1_000_000);
  const soaSerial = (): number => {
    const p = ask(zone, { name: "bl.example.org", type: "SOA" });
    return (p.answers?.[0] as { data: { serial: number } }).data.serial;
  };
  assert.equal(soaSerial(), 1000);
  clock.advance(5_000_000);
  const d = decision("a", "192.0.2.1");
  book.add(d);
  zone.changed(d);
  // Asked later, the serial still says when the zone changed.
  clock.advance(9_000_000);
  assert.equal(soaSerial(), 5000);
  assert.equal(zone.serial, 5000);
  // Two changes within one second: the serial still moves, by one.
  zone.changed(book.remove("a")!);
  assert.equal(soaSerial(), 9000);
  book.add(d);
  zone.changed(d);
  assert.equal(soaSerial(), 9001);
  // A change outside the zone's scopes changes nothing in it.
  zone.changed(decision("e", "mallory@example.org", { scope: "email" }));
  assert.equal(soaSerial(), 9001);
});

test("a change to one address drops only that address's answer; a range drops them all", () => {
  const { zone, book } = setup([decision("old", "192.0.2.9")]);
  const names = ["1.2.0.192", "2.2.0.192", "9.2.0.192", "4.3.2.1"].map(
    (n) => `${n}.bl.example.org`,
  );
  const v6 = v6name("2001:db8::1");
  const mapped = v6name("::ffff:c633:6407"); // 198.51.100.7
  const codes = (name: string): string => {
    const p = ask(zone, { name });
    return rcode(p) === "NXDOMAIN" ? "-" : aData(p).join();
  };
  const all = (): string[] => [...names, v6, mapped].map(codes);
  assert.deepEqual(all(), ["-", "-", "127.0.0.2", "-", "-", "-"]);
  const hits = (): number => zone.stats.cacheHits;
  const serial = zone.serial;

  // Adding and removing single addresses, IPv4, IPv6 and IPv4-mapped, as the feed tells them.
  const add = (d: Decision): void => {
    book.add(d);
    zone.changed(d);
  };
  const remove = (id: string): void => zone.changed(book.remove(id)!);
  add(decision("a", "192.0.2.1"));
  add(decision("b", "2001:db8::1", { action: "challenge" }));
  add(decision("c", "::ffff:198.51.100.7"));
  remove("old");
  assert.ok(zone.serial > serial, "the SOA serial moves");
  let before = hits();
  assert.deepEqual(all(), ["127.0.0.2", "-", "-", "-", "127.0.0.3", "127.0.0.2"]);
  // The four changed addresses were asked again; the two others came from the cache.
  assert.equal(hits() - before, 2);

  // Decisions outside the zone's scopes leave every answer cached.
  add(decision("e", "mallory@example.org", { scope: "email" }));
  add(decision("f", "AS64500", { scope: "as" }));
  before = hits();
  assert.deepEqual(all(), ["127.0.0.2", "-", "-", "-", "127.0.0.3", "127.0.0.2"]);
  assert.equal(hits() - before, 6);

  // A range may hold any address: every answer is asked again.
  add(decision("r", "192.0.2.0/24", { action: "challenge" }));
  before = hits();
  assert.deepEqual(all(), [
    "127.0.0.2,127.0.0.3",
    "127.0.0.3",
    "127.0.0.3",
    "-",
    "127.0.0.3",
    "127.0.0.2",
  ]);
  assert.equal(hits() - before, 0);
  remove("r");
  assert.deepEqual(all(), ["127.0.0.2", "-", "-", "-", "127.0.0.3", "127.0.0.2"]);
});

test("EDNS is echoed; TCP answers carry the length prefix", () => {
  const { zone } = setup([decision("a", "192.0.2.1")]);
  const p = ask(zone, { name: "1.2.0.192.bl.example.org", edns: true });
  assert.equal(p.additionals?.[0]?.type, "OPT");
  assert.deepEqual(aData(ask(zone, { name: "1.2.0.192.bl.example.org" }, true)), ["127.0.0.2"]);
});

test("a long reason is cut into 255-byte strings and a large answer truncates on UDP", () => {
  const reasons = ["é".repeat(400), "x".repeat(600), "y".repeat(600)];
  const { zone } = setup([
    decision("a", "192.0.2.1", { reason: reasons[0]! }),
    decision("b", "192.0.2.0/24", { action: "challenge", reason: reasons[1]! }),
    decision("c", "192.0.0.0/16", { scenario: "spamhaus-drop", reason: reasons[2]! }),
  ]);
  const tcp = ask(zone, { name: "1.2.0.192.bl.example.org", type: "TXT" }, true);
  const txt = txtData(tcp);
  assert.equal(txt.length, 3);
  assert.ok(txt[0]!.startsWith("é".repeat(300)), "cut on character boundaries");
  const udp = ask(zone, { name: "1.2.0.192.bl.example.org", type: "TXT" });
  assert.ok(udp.flags !== undefined && (udp.flags & packet.TRUNCATED_RESPONSE) !== 0);
  assert.equal(udp.answers?.length, 0);
});

test("garbage gets FORMERR or is dropped, never an exception", () => {
  const { zone } = setup([decision("a", "192.0.2.1"), decision("b", "2001:db8::/32")]);
  assert.equal(zone.answer(Buffer.alloc(5), false), undefined, "no header: dropped");
  const response = Buffer.alloc(12);
  response[2] = 0x80;
  assert.equal(zone.answer(response, false), undefined, "a response is never answered");
  const twoQuestions = Buffer.alloc(12);
  twoQuestions.writeUInt16BE(2, 4);
  assert.equal(rcode(packet.decode(zone.answer(twoQuestions, false)!)), "FORMERR");
  const pointer = Buffer.from([0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1]);
  assert.equal(rcode(packet.decode(zone.answer(pointer, false)!)), "FORMERR");

  const valid = packet.encode({
    type: "query",
    id: 1,
    questions: [{ name: v6name("2001:db8::5"), type: "A", class: "IN" }],
  });
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 600 }),
        // Valid queries with some bytes changed reach deeper than random bytes.
        fc
          .array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
            maxLength: 6,
          })
          .map((edits) => {
            const b = Uint8Array.from(valid);
            for (const [i, v] of edits) b[i] = v;
            return b;
          }),
      ),
      fc.boolean(),
      (bytes, tcp) => {
        const out = zone.answer(Buffer.from(bytes), tcp);
        if (out === undefined) return;
        const msg = tcp ? out.subarray(2) : out;
        assert.ok(msg.length >= 12);
        assert.equal(msg[0], bytes[0], "same id");
        assert.ok((msg[2]! & 0x80) !== 0, "a response");
        packet.decode(msg); // what we send is well formed
      },
    ),
    { numRuns: 5000 },
  );
});

test("the IPv6 text of an address read from nibbles is the project's normal form", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
        minLength: 8,
        maxLength: 8,
      }),
      (groups) => {
        const g = Uint16Array.from(groups);
        const text = groups.map((x) => x.toString(16)).join(":");
        const norm = normalizeIp(text);
        // normalizeIp turns ::ffff:a.b.c.d into IPv4; the zone handles those before formatting.
        if (norm !== undefined && !norm.includes(":")) return;
        assert.equal(formatGroups(g), norm);
      },
    ),
    { numRuns: 3000 },
  );
});

test("configuration: defaults, listen addresses, bad codes", () => {
  const c = DnsblConfigSchema.parse({ zone: "BL.example.org." });
  assert.equal(c.zone, "bl.example.org");
  assert.equal(c.listen, "127.0.0.1:5353");
  assert.deepEqual(c.codes, { ban: "127.0.0.2", challenge: "127.0.0.3", throttle: "127.0.0.4" });
  assert.deepEqual(parseListen("[::1]:53"), { host: "::1", port: 53, family: 6 });
  assert.equal(parseListen("localhost:53"), undefined);
  assert.equal(
    DnsblConfigSchema.safeParse({ zone: "bl.example.org", codes: { ban: "10.0.0.2" } }).success,
    false,
  );
  assert.equal(DnsblConfigSchema.safeParse({ zone: "bl.example.org", extra: 1 }).success, false);
  assert.equal(DnsblConfigSchema.safeParse({ zone: "bad..zone" }).success, false);
});
