/**
 * The zone's hand-written encoder against a reference: random queries (EDNS or not, odd types and
 * classes, mixed case, names in and out of the zone) and random changes of decisions; every
 * answer is decoded with dns-packet and compared with what RFC 5782 and docs/dnsbl.md say it
 * must hold, computed here the slow, obvious way from the DecisionBook.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as packet from "dns-packet";
import fc from "fast-check";
import { ManualClock, type Action, type Decision } from "../../core/index.ts";
import { DecisionBook } from "../../decisions/index.ts";
import { normalizeIp } from "../../net/index.ts";
import { DnsblZone } from "./dnsbl-zone.ts";
import { v6Nibbles } from "../../../test/support/dnsbl-names.ts";

const ZONE = "bl.example.org";
const TTL = 60;
const START = 1_000_000_000;
const CODES: Partial<Record<Action, string>> = { ban: "127.0.0.2", challenge: "127.0.0.3" };
const SCENARIO_CODES: Record<string, string> = { "spamhaus-drop": "127.0.0.10" };
const URL = "https://rbl.example.org/lookup?ip={ip}";

// A few addresses and ranges that overlap, so that queries find one, two or no decisions.
const V4 = ["192.0.2.1", "192.0.2.77", "198.51.100.9", "203.0.113.200"];
const V4_RANGES = ["192.0.2.0/24", "198.51.100.0/28", "203.0.113.0/25"];
const V6 = ["2001:db8::1", "2001:db8:1::99", "2001:db8:ffff::abcd"];
const V6_RANGES = ["2001:db8::/48", "2001:db8:1::/64"];
const ACTIONS_USED: readonly Action[] = ["ban", "challenge", "throttle"];
const SCENARIOS = ["mail-bruteforce", "spamhaus-drop"];

const mixCase = (name: string, mask: number): string =>
  Array.from(name, (c, i) => ((mask >> (i % 31)) & 1 ? c.toUpperCase() : c)).join("");

/** Names the zone must tell apart: listed or not, v4 or v6, malformed, the apex, elsewhere. */
const nameArb = fc.oneof(
  fc.constantFrom(...V4).map((ip) => `${ip.split(".").reverse().join(".")}.${ZONE}`),
  fc
    .tuple(fc.constantFrom("192.0.2", "198.51.100", "203.0.113", "10.1.2"), fc.nat(255))
    .map(([net, o]) => `${o}.${net.split(".").reverse().join(".")}.${ZONE}`),
  fc.constantFrom(...V6).map((ip) => `${v6Nibbles(ip)}.${ZONE}`),
  fc
    .tuple(fc.constantFrom("2001:db8:0:0", "2001:db8:1:0", "2001:db9:0:0"), fc.nat(0xffff))
    .map(([net, g]) => `${v6Nibbles(`${net}:0:0:0:${g.toString(16)}`)}.${ZONE}`),
  fc.constantFrom(
    `2.0.0.127.${ZONE}`,
    `1.0.0.127.${ZONE}`,
    `${v6Nibbles("::ffff:7f00:2")}.${ZONE}`,
    `${v6Nibbles("::ffff:c000:201")}.${ZONE}`,
    `01.2.0.192.${ZONE}`,
    `256.2.0.192.${ZONE}`,
    `x.1.2.0.192.${ZONE}`,
    `2.0.192.${ZONE}`,
    `www.${ZONE}`,
    `g.${v6Nibbles("2001:db8::1").slice(2)}.${ZONE}`,
    ZONE,
    "example.org",
    `1.2.0.192.bl.example.net`,
    `1.2.0.192.xbl.example.org`,
    ".",
  ),
);

const queryArb = fc.record({
  id: fc.nat(0xffff),
  /** Index into the run's few names, so that a name is asked again after changes. */
  name: fc.nat(),
  caseMask: fc.nat(),
  type: fc.oneof(
    fc.constantFrom(1, 16, 255, 28, 15, 6, 2, 252, 251),
    fc.integer({ min: 1, max: 0xffff }),
  ),
  klass: fc.oneof(fc.constantFrom(1, 1, 255, 3, 4), fc.integer({ min: 0, max: 0xffff })),
  rd: fc.boolean(),
  edns: fc.option(fc.integer({ min: 0, max: 0xffff })),
  tcp: fc.boolean(),
});
type Query = Omit<typeof queryArb extends fc.Arbitrary<infer T> ? T : never, "name"> & {
  name: string;
};

const decisionArb = fc.record({
  value: fc.constantFrom(...V4, ...V4_RANGES, ...V6, ...V6_RANGES),
  action: fc.constantFrom(...ACTIONS_USED),
  scenario: fc.constantFrom(...SCENARIOS),
  reason: fc.string({ maxLength: 40 }),
  life: fc.option(fc.integer({ min: 1, max: 200_000 })),
});

const opArb = fc.oneof(
  { weight: 6, arbitrary: queryArb.map((q) => ({ kind: "query" as const, q })) },
  { weight: 3, arbitrary: decisionArb.map((d) => ({ kind: "add" as const, d })) },
  { weight: 1, arbitrary: fc.nat().map((i) => ({ kind: "remove" as const, i })) },
  { weight: 1, arbitrary: fc.nat(90_000).map((ms) => ({ kind: "wait" as const, ms })) },
);

/** The wire query: dns-packet builds the common part; the class is patched in by hand. */
function encodeQuery(q: Query): Buffer {
  const name = q.name === "." ? "." : mixCase(q.name, q.caseMask);
  const msg = Buffer.from(
    packet.encode({
      type: "query",
      id: q.id,
      flags: q.rd ? packet.RECURSION_DESIRED : 0,
      questions: [{ name, type: "A", class: "IN" }],
      ...(q.edns === null
        ? {}
        : { additionals: [{ type: "OPT", name: ".", udpPayloadSize: q.edns }] }),
    } as packet.Packet),
  );
  const qEnd = 12 + nameLength(name);
  msg.writeUInt16BE(q.type, qEnd);
  msg.writeUInt16BE(q.klass, qEnd + 2);
  return msg;
}

/** Bytes of a name in a question: its labels with their lengths, and the root's zero. */
const nameLength = (name: string): number => (name === "." ? 1 : Buffer.byteLength(name) + 2);

interface Rr {
  type: number;
  ttl: number;
  data: string;
}
interface Expected {
  rcode: number;
  aa: boolean;
  answers: Rr[];
  authority: "soa" | "none";
}

/** What the zone must answer, from the book, without any of the zone's code. */
function reference(book: DecisionBook, now: number, q: Query): Expected {
  const refused: Expected = { rcode: 5, aa: false, answers: [], authority: "none" };
  if (q.klass !== 1 && q.klass !== 255) return refused;
  const name = q.name === "." ? "" : q.name.toLowerCase();
  if (name !== ZONE && !name.endsWith(`.${ZONE}`)) return refused;
  if (q.type === 252 || q.type === 251) return refused;
  const nodata: Expected = { rcode: 0, aa: true, answers: [], authority: "soa" };
  if (name === ZONE) {
    const soa = { type: 6, ttl: TTL, data: "soa" };
    const ns = { type: 2, ttl: 3600, data: "localhost" };
    if (q.type === 6) return { ...nodata, answers: [soa], authority: "none" };
    if (q.type === 2) return { ...nodata, answers: [ns], authority: "none" };
    if (q.type === 255) return { ...nodata, answers: [soa, ns], authority: "none" };
    return nodata;
  }
  const nx: Expected = { rcode: 3, aa: true, answers: [], authority: "soa" };
  const labels = name.slice(0, -ZONE.length - 1).split(".");
  let ip: string | undefined;
  if (labels.length === 4 && labels.every((l) => /^(0|[1-9]\d{0,2})$/.test(l) && Number(l) < 256))
    ip = [...labels].reverse().join(".");
  else if (labels.length === 32 && labels.every((l) => /^[0-9a-f]$/.test(l))) {
    const hex = [...labels].reverse().join("");
    // IPv4-mapped addresses are looked up as IPv4 (docs/dnsbl.md).
    if (hex.startsWith("0".repeat(20) + "ffff"))
      ip = (hex.slice(24).match(/../g) ?? []).map((b) => parseInt(b, 16)).join(".");
    else ip = normalizeIp(hex.match(/.{4}/g)!.join(":"));
  }
  if (ip === undefined || ip === "127.0.0.1") return nx;
  let entries: { code: number; text: string }[];
  let expiresAt = Infinity;
  if (ip === "127.0.0.2") entries = [{ code: 2, text: "RFC 5782 test entry: always listed" }];
  else {
    const byCode = new Map<number, string>();
    for (const d of book.match({ ip }, now)) {
      const code = SCENARIO_CODES[d.scenario] ?? CODES[d.action];
      if (code === undefined) continue;
      if (d.expiresAt !== null) expiresAt = Math.min(expiresAt, d.expiresAt);
      const byte = Number(code.split(".")[3]);
      const url = URL.replaceAll("{ip}", ip);
      const text = `${d.reason}; see ${url}`.replace(/[\u0000-\u001f\u007f]/g, " ");
      if (!byCode.has(byte)) byCode.set(byte, text);
    }
    entries = [...byCode].sort((a, b) => a[0] - b[0]).map(([code, text]) => ({ code, text }));
  }
  if (entries.length === 0) return nx;
  const ttl = Math.max(0, Math.min(TTL, Math.floor((expiresAt - now) / 1000)));
  const a = entries.map((e) => ({ type: 1, ttl, data: `127.0.0.${e.code}` }));
  const txt = entries.map((e) => ({ type: 16, ttl, data: e.text }));
  if (q.type === 1) return { ...nodata, answers: a, authority: "none" };
  if (q.type === 16) return { ...nodata, answers: txt, authority: "none" };
  if (q.type === 255) return { ...nodata, answers: [...a, ...txt], authority: "none" };
  return nodata;
}

const TYPE_NUMBERS: { [name: string]: number } = { A: 1, NS: 2, SOA: 6, TXT: 16 };

function recordOf(r: packet.Answer): Rr {
  const type = TYPE_NUMBERS[r.type] ?? -1;
  const ttl = (r as { ttl: number }).ttl;
  let data: string;
  if (r.type === "TXT") data = Buffer.concat((r as { data: Buffer[] }).data).toString();
  else if (r.type === "SOA") data = "soa";
  else data = String((r as { data: unknown }).data);
  return { type, ttl, data };
}

test("the zone's answers decode to the reference answers, for random queries and changes", () => {
  fc.assert(
    fc.property(
      fc.array(nameArb, { minLength: 1, maxLength: 4 }),
      fc.array(opArb, { minLength: 1, maxLength: 60 }),
      fc.boolean(),
      (names, ops, cache) => {
        const book = new DecisionBook();
        const clock = new ManualClock(START);
        const zone = new DnsblZone(book, clock, {
          zone: ZONE,
          ttl: TTL,
          codes: CODES,
          scenarioCodes: SCENARIO_CODES,
          lookupUrl: URL,
          nameservers: ["localhost"],
          cacheEntries: cache ? 64 : 0,
        });
        const ids: string[] = [];
        let next = 0;
        for (const op of ops) {
          if (op.kind === "add") {
            const id = `d${next++}`;
            const { value, action, scenario, reason, life } = op.d;
            const d: Decision = Object.freeze({
              id,
              action,
              scope: value.includes("/") ? "range" : "ip",
              value,
              createdAt: clock.now(),
              expiresAt: life === null ? null : clock.now() + life,
              origin: "scenario",
              scenario,
              reason,
              offence: 0,
              tzOffset: 0,
            });
            book.add(d);
            ids.push(id);
            // As the feed tells it: one decision at a time.
            zone.changed(d);
          } else if (op.kind === "remove") {
            if (ids.length === 0) continue;
            zone.changed(book.remove(ids.splice(op.i % ids.length, 1)[0]!)!);
          } else if (op.kind === "wait") {
            clock.advance(clock.now() + op.ms);
          } else {
            // Twice: the second answer may come from the cache and must not differ.
            const q = { ...op.q, name: names[op.q.name % names.length]! };
            for (let i = 0; i < 2; i++) check(zone, book, clock.now(), q);
          }
        }
      },
    ),
    { numRuns: 1000 },
  );
});

function check(zone: DnsblZone, book: DecisionBook, now: number, q: Query): void {
  const query = encodeQuery(q);
  const out = zone.answer(query, q.tcp);
  assert.ok(out !== undefined, "every query with a header is answered");
  if (q.tcp) assert.equal(out.readUInt16BE(0), out.length - 2, "TCP length prefix");
  const wire = q.tcp ? out.subarray(2) : out;
  const got = packet.decode(wire);
  const want = reference(book, now, q);
  const flags = got.flags ?? 0;
  const label = `${q.name} type ${q.type} class ${q.klass}`;
  assert.equal(got.id, q.id, label);
  assert.equal(got.type, "response", label);
  assert.equal((wire[3]! & 0x0f) | ((wire[2]! & 0x78) << 1), want.rcode, `${label}: rcode`);
  assert.equal((flags & packet.AUTHORITATIVE_ANSWER) !== 0, want.aa, `${label}: AA`);
  assert.equal((flags & packet.TRUNCATED_RESPONSE) !== 0, false, `${label}: TC`);
  assert.equal((flags & packet.RECURSION_DESIRED) !== 0, q.rd, `${label}: RD echoed`);
  assert.equal((flags & packet.RECURSION_AVAILABLE) !== 0, false, `${label}: no recursion`);
  // The question comes back as sent, case and all.
  assert.equal(got.questions?.length, 1);
  const sentName = q.name === "." ? "." : mixCase(q.name, q.caseMask);
  assert.equal(got.questions[0]!.name, sentName === "." ? "." : sentName, `${label}: qname`);
  assert.equal(wire.readUInt16BE(12 + nameLength(sentName)), q.type);
  assert.equal(wire.readUInt16BE(14 + nameLength(sentName)), q.klass);
  const answers = got.answers ?? [];
  for (const r of answers) {
    assert.equal(r.name.toLowerCase(), sentName.toLowerCase().replace(/^\.$/, ""), label);
    assert.equal((r as { class: string }).class, "IN");
  }
  assert.deepEqual(answers.map(recordOf), want.answers, `${label}: answers`);
  const authorities = got.authorities ?? [];
  assert.deepEqual(
    authorities.map((r) => r.type),
    want.authority === "soa" ? ["SOA"] : [],
    `${label}: authority`,
  );
  for (const r of [...answers, ...authorities].filter((r) => r.type === "SOA")) {
    const soa = (r as { data: { serial: number; minimum: number; mname: string } }).data;
    assert.equal(soa.serial, zone.serial);
    assert.equal(soa.minimum, TTL);
    assert.equal(soa.mname, "localhost");
  }
  const opt = (got.additionals ?? []).filter((r) => r.type === "OPT");
  assert.equal(opt.length, q.edns === null ? 0 : 1, `${label}: OPT echoed`);
  if (q.edns !== null) assert.equal((opt[0] as { udpPayloadSize: number }).udpPayloadSize, 1232);
  assert.equal((got.additionals ?? []).length, opt.length);
}
