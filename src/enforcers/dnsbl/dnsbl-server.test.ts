import assert from "node:assert/strict";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { test } from "node:test";
import * as packet from "dns-packet";
import { ManualClock, type Decision } from "../../core/index.ts";
import { DecisionBook } from "../../decisions/index.ts";
import { DnsblServer } from "./dnsbl-server.ts";
import { DnsblZone } from "./dnsbl-zone.ts";

const NOW = 1_000_000;

function setup() {
  const book = new DecisionBook();
  for (let i = 0; i < 20; i++)
    book.add(
      Object.freeze({
        id: `d${i}`,
        action: "ban",
        scope: "ip",
        value: `192.0.2.${i}`,
        createdAt: NOW,
        expiresAt: null,
        origin: "scenario",
        scenario: "mail-bruteforce",
        reason: `reason ${i}`,
        offence: 0,
        tzOffset: 0,
      } satisfies Decision),
    );
  const options = {
    zone: "bl.example.org",
    ttl: 60,
    codes: { ban: "127.0.0.2" },
    scenarioCodes: {},
    nameservers: ["localhost"],
    cacheEntries: 100,
  };
  // The server's zone, and a twin that computes the expected bytes.
  const clock = new ManualClock(NOW);
  return { zone: new DnsblZone(book, clock, options), twin: new DnsblZone(book, clock, options) };
}

function query(id: number, host: number, type: "A" | "TXT"): Buffer {
  return packet.encode({
    type: "query",
    id,
    questions: [{ name: `${host}.2.0.192.bl.example.org`, type, class: "IN" }],
  });
}

/** Sends every query from its own socket (own source port) and collects the answers by id. */
async function askAll(port: number, queries: Buffer[]): Promise<Map<number, Buffer>> {
  const answers = new Map<number, Buffer>();
  const sockets: Socket[] = [];
  try {
    await Promise.all(
      queries.map(async (q) => {
        const s = createSocket("udp4");
        sockets.push(s);
        s.send(q, port, "127.0.0.1");
        const [msg] = (await once(s, "message")) as [Buffer];
        answers.set(msg.readUInt16BE(0), msg);
      }),
    );
  } finally {
    for (const s of sockets) s.close();
  }
  return answers;
}

test("with threads, every UDP socket answers what the zone answers", async () => {
  const { zone, twin } = setup();
  const server = new DnsblServer(zone, {
    listen: { host: "127.0.0.1", port: 0, family: 4 },
    tcpIdleMs: 1000,
    tcpMaxConnections: 4,
    threads: 3,
    log: (line) => assert.fail(line),
  });
  await server.start();
  try {
    const queries = Array.from({ length: 48 }, (_, i) => query(i, i % 30, i % 2 ? "TXT" : "A"));
    const answers = await askAll(server.port, queries);
    assert.equal(answers.size, queries.length);
    for (const [i, q] of queries.entries())
      assert.deepEqual(answers.get(i), twin.answer(q, false), `query ${i}`);
    // 48 source ports over 3 sockets: the kernel gives the workers their share.
    assert.ok(server.workerQueries > 0, "worker threads answered some queries");
    assert.ok(server.workerQueries < queries.length, "the main thread's socket answered some");
  } finally {
    await server.stop();
  }
});

test("one thread: no worker, and the port stays exclusive", async () => {
  const { zone } = setup();
  const server = new DnsblServer(zone, {
    listen: { host: "127.0.0.1", port: 0, family: 4 },
    tcpIdleMs: 1000,
    tcpMaxConnections: 4,
    log: (line) => assert.fail(line),
  });
  await server.start();
  try {
    const answers = await askAll(server.port, [query(7, 7, "A")]);
    assert.equal(answers.size, 1);
    assert.equal(server.workerQueries, 0);
    const intruder = createSocket({ type: "udp4", reusePort: true });
    intruder.bind(server.port, "127.0.0.1");
    const [err] = (await once(intruder, "error")) as [NodeJS.ErrnoException];
    assert.equal(err.code, "EADDRINUSE");
    intruder.close();
  } finally {
    await server.stop();
  }
});
