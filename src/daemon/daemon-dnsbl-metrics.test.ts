/**
 * The DNSBL's counts reach /metrics: a real daemon (SQLite) with the dnsbl enforcer, asked over
 * UDP, then scraped through the API's metrics registry.
 */
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as packet from "dns-packet";
import { createMetrics } from "../http/metrics.ts";
import { ConfigSchema, type Config } from "./config.ts";
import { Daemon } from "./daemon.ts";

/** A port free on loopback for both UDP and TCP (the DNSBL listens on both). */
async function freePort(): Promise<number> {
  const tcp = createServer();
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
  const { port } = tcp.address() as { port: number };
  const udp = createSocket("udp4");
  await new Promise<void>((resolve) => udp.bind(port, "127.0.0.1", resolve));
  udp.close();
  await new Promise<void>((resolve) => tcp.close(() => resolve()));
  return port;
}

async function ask(port: number, id: number, name: string): Promise<string> {
  const s = createSocket("udp4");
  try {
    s.send(
      packet.encode({ type: "query", id, questions: [{ name, type: "A" }] }),
      port,
      "127.0.0.1",
    );
    const [msg] = (await once(s, "message")) as [Buffer];
    // dns-packet's types leave out the response code it decodes.
    return (packet.decode(msg) as { rcode?: string }).rcode ?? "";
  } finally {
    s.close();
  }
}

test("the DNSBL's answers are counted in /metrics, by kind", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-dnsbl-metrics-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const port = await freePort();
  const parsed = ConfigSchema.parse({
    data_dir: join(dir, "data"),
    sources: [],
    enforcers: { dnsbl: { zone: "bl.example.org", listen: `127.0.0.1:${port}` } },
  });
  const config: Config = { ...parsed, sources: [], origin: "test", autodetected: false };
  const daemon = await Daemon.open(config, { hostAddresses: [], log: () => undefined });
  await daemon.start();
  t.after(() => daemon.stop());
  const added = await daemon.addDecision({
    action: "ban",
    scope: "ip",
    value: "192.0.2.7",
    durationMs: 3_600_000,
    reason: "test",
    author: "test",
  });
  assert.equal(added.kind, "created", JSON.stringify(added));

  assert.equal(await ask(port, 1, "7.2.0.192.bl.example.org"), "NOERROR");
  assert.equal(await ask(port, 2, "7.2.0.192.bl.example.org"), "NOERROR");
  assert.equal(await ask(port, 3, "8.2.0.192.bl.example.org"), "NXDOMAIN");
  assert.equal(await ask(port, 4, "example.com"), "REFUSED");

  const text = await createMetrics(() => daemon.counters()).registry.metrics();
  for (const line of [
    'rempart_dnsbl_queries_total{answer="listed"} 2',
    'rempart_dnsbl_queries_total{answer="not_listed"} 1',
    'rempart_dnsbl_queries_total{answer="refused"} 1',
    'rempart_dnsbl_queries_total{answer="formerr"} 0',
    'rempart_dnsbl_queries_total{answer="other"} 0',
    // The second question for 192.0.2.7 came from the answer cache.
    "rempart_dnsbl_cache_hits_total 1",
    "rempart_dnsbl_udp_dropped_total 0",
  ])
    assert.ok(text.includes(`\n${line}\n`), `missing ${line} in\n${text}`);
});
