/**
 * The MX checker against a real DNS server on 127.0.0.1 (dns-packet over UDP), through
 * node:dns's real resolver. Every name is under .test (RFC 6761), and the resolver knows only
 * the loopback server, whose query log the tests check.
 */
import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import * as packet from "dns-packet";
import { ManualClock } from "../../core/index.ts";
import { DnsMxChecker, type DnsMxCheckerOptions } from "./mx-checker.ts";

interface Reply {
  readonly rcode?: "NOERROR" | "NXDOMAIN" | "SERVFAIL";
  readonly answers?: packet.Answer[];
  readonly delayMs?: number;
}

const mx = (name: string, exchange: string, preference = 10): packet.Answer => ({
  type: "MX",
  name,
  ttl: 300,
  data: { preference, exchange },
});

/** What the loopback server answers, by name and type; anything else is NXDOMAIN. */
function zone(name: string, type: string): Reply {
  switch (name) {
    case "mx.example.test":
    case "shared.example.test":
    case "lru-a.example.test":
    case "lru-b.example.test":
    case "lru-c.example.test":
      return type === "MX" ? { answers: [mx(name, "mail.example.test")] } : {};
    case "nullmx.example.test":
      return type === "MX" ? { answers: [mx(name, ".", 0)] } : {};
    case "a-only.example.test":
      return type === "A" ? { answers: [{ type: "A", name, ttl: 300, data: "192.0.2.25" }] } : {};
    case "aaaa-only.example.test":
      return type === "AAAA"
        ? { answers: [{ type: "AAAA", name, ttl: 300, data: "2001:db8::25" }] }
        : {};
    case "empty.example.test":
      return {};
    case "broken.example.test":
      return { rcode: "SERVFAIL" };
    case "slow.example.test":
    case "slow2.example.test":
      return {
        delayMs: SLOW_MS,
        ...(type === "MX" ? { answers: [mx(name, "mail.example.test")] } : {}),
      };
    default:
      return { rcode: "NXDOMAIN" };
  }
}

/** How late the slow names are answered: well past the checker's bound, within c-ares'. */
const SLOW_MS = 1200;

let server: Socket;
const timers = new Set<NodeJS.Timeout>();
let port = 0;
const queries: { name: string; type: string; from: string }[] = [];
const asked = (name: string, type = "MX"): number =>
  queries.filter((q) => q.name === name && q.type === type).length;

before(async () => {
  server = createSocket("udp4");
  server.on("message", (msg, rinfo) => {
    let query: packet.Packet;
    try {
      query = packet.decode(msg);
    } catch {
      return;
    }
    const q = query.questions?.[0];
    if (q === undefined) return;
    queries.push({ name: q.name.toLowerCase(), type: q.type, from: rinfo.address });
    const reply = zone(q.name.toLowerCase(), q.type);
    const rcode = reply.rcode ?? "NOERROR";
    const response = packet.encode({
      id: query.id ?? 0,
      type: "response",
      flags: packet.AUTHORITATIVE_ANSWER | (query.flags ?? 0) | rcodeFlag(rcode),
      questions: [q],
      answers: reply.answers ?? [],
    });
    const send = (): void => server.send(response, rinfo.port, rinfo.address);
    if (reply.delayMs === undefined) {
      send();
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      send();
    }, reply.delayMs);
    timers.add(timer);
  });
  server.bind(0, "127.0.0.1");
  await once(server, "listening");
  port = server.address().port;
});

after(() => {
  for (const t of timers) clearTimeout(t);
  server.close();
  // Nothing was asked of any server but ours, from anywhere but loopback.
  assert.ok(queries.length > 0);
  assert.ok(queries.every((q) => q.from === "127.0.0.1" && q.name.endsWith(".test")));
});

const rcodeFlag = (rcode: string): number =>
  rcode === "NXDOMAIN" ? 3 : rcode === "SERVFAIL" ? 2 : 0;

const checker = (options: DnsMxCheckerOptions = {}): DnsMxChecker =>
  new DnsMxChecker({
    servers: [`127.0.0.1:${port}`],
    timeoutMs: 300,
    resolverTimeoutMs: 3000,
    ...options,
  });

describe("DnsMxChecker", () => {
  it("tells ok, none and unknown apart as RFC 5321 and 7505 say", async () => {
    const c = checker({ timeoutMs: 5000 }); // correctness here, not the bound: a busy host is slow
    const cases: readonly (readonly [string, string])[] = [
      ["mx.example.test", "ok"],
      ["MX.Example.TEST.", "ok"],
      ["a-only.example.test", "ok"], // the A record is the implicit MX
      ["aaaa-only.example.test", "ok"],
      ["nullmx.example.test", "none"], // null MX: takes no mail
      ["empty.example.test", "none"], // exists, but no MX, A nor AAAA
      ["missing.example.test", "none"], // NXDOMAIN
      ["broken.example.test", "unknown"], // SERVFAIL
      ["not a domain", "none"],
    ];
    for (const [domain, state] of cases) assert.equal(await c.check(domain), state, domain);
    assert.equal(asked("not a domain"), 0, "a malformed name is never asked");
    c.close();
  });

  it("answers unknown after the time bound, and fills the cache in the background", async () => {
    const c = checker();
    const started = performance.now();
    assert.equal(await c.check("slow.example.test"), "unknown");
    const waited = performance.now() - started;
    assert.ok(waited >= 280 && waited < SLOW_MS - 100, `waited ${waited} ms`);
    await sleep(SLOW_MS + 300);
    assert.equal(c.pending, 0);
    const before = asked("slow.example.test");
    assert.equal(await c.check("slow.example.test"), "ok");
    assert.equal(asked("slow.example.test"), before, "answered from the cache");
    c.close();
  });

  it("shares one query among concurrent checks of a domain", async () => {
    const c = checker();
    const states = await Promise.all(
      Array.from({ length: 10 }, () => c.check("shared.example.test")),
    );
    assert.deepEqual(new Set(states), new Set(["ok"]));
    assert.equal(asked("shared.example.test"), 1);
    c.close();
  });

  it("keeps answers for their lifetime, by the injected clock", async () => {
    const clock = new ManualClock(1_000_000);
    const c = checker({ clock, okTtlMs: 60_000, noneTtlMs: 10_000 });
    const mx0 = asked("mx.example.test");
    const none0 = asked("missing.example.test");
    await c.check("mx.example.test");
    await c.check("missing.example.test");
    clock.advance(1_009_000);
    await c.check("mx.example.test");
    await c.check("missing.example.test");
    assert.equal(asked("mx.example.test"), mx0 + 1);
    assert.equal(asked("missing.example.test"), none0 + 1);
    clock.advance(1_011_000);
    await c.check("missing.example.test");
    assert.equal(asked("missing.example.test"), none0 + 2, "the negative answer expired");
    await c.check("mx.example.test");
    assert.equal(asked("mx.example.test"), mx0 + 1, "the positive one did not");
    clock.advance(1_061_000);
    await c.check("mx.example.test");
    assert.equal(asked("mx.example.test"), mx0 + 2);
    c.close();
  });

  it("bounds its cache, dropping the least recently used domain", async () => {
    const c = checker({ cacheSize: 2 });
    await c.check("lru-a.example.test");
    await c.check("lru-b.example.test");
    await c.check("lru-a.example.test"); // a is now the most recent
    await c.check("lru-c.example.test"); // b goes
    assert.equal(c.cached, 2);
    const a = asked("lru-a.example.test");
    const b = asked("lru-b.example.test");
    await c.check("lru-a.example.test");
    await c.check("lru-b.example.test");
    assert.equal(asked("lru-a.example.test"), a);
    assert.equal(asked("lru-b.example.test"), b + 1);
    c.close();
  });

  it("answers unknown without asking when too many look-ups are in flight", async () => {
    const c = checker({ maxPending: 1 });
    const slow = c.check("slow2.example.test");
    assert.equal(await c.check("lru-c.example.test"), "unknown");
    assert.equal(c.pending, 1);
    assert.equal(await slow, "unknown");
    c.close();
  });

  it("answers unknown after close, without asking", async () => {
    const c = checker();
    c.close();
    const before = queries.length;
    assert.equal(await c.check("mx.example.test"), "unknown");
    assert.equal(queries.length, before);
  });
});
