/**
 * Keeping a 60K-address list current for a day, in bytes on the wire, against downloading it
 * whole every 3 hours (seed 000). The list changes every hour (0.5–2 % churn, seeded); a
 * node:http server on 127.0.0.1 publishes it with ETag/Last-Modified and, when asked,
 * rempart-delta (RFC 3229). Simulated time: 24 hours run in seconds. Bytes are counted on the
 * server's sockets (request and response, headers included).
 *
 *   node bench/lists.ts [--size 60000] [--seed 1] [--min-churn 0.005] [--max-churn 0.02]
 */
import { createServer, type Server } from "node:http";
import { prng } from "../test/support/mail-log.ts";
import type { Socket } from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { ManualClock, type Decision } from "../src/core/index.ts";
import type { ManualDecision, ManualOutcome } from "../src/daemon/runtime.ts";
import { ListPublisher, ListRefresher, ListSourceSchema } from "../src/lists/index.ts";

const { values: args } = parseArgs({
  options: {
    size: { type: "string", default: "60000" },
    seed: { type: "string", default: "1" },
    "min-churn": { type: "string", default: "0.005" },
    "max-churn": { type: "string", default: "0.02" },
  },
});
const SIZE = Number(args.size);
const HOUR = 3_600_000;

/** The same day for every run with the same seed. */
const rng = prng;
const random = rng(Number(args.seed));
const address = (): string =>
  `${1 + Math.floor(random() * 222)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`;

/** The 25 versions of the list: hour 0, then one per hour. */
const versions: string[][] = [];
const churns: number[] = [];
{
  const current = new Set<string>();
  while (current.size < SIZE) current.add(address());
  versions.push([...current]);
  const lo = Number(args["min-churn"]);
  const hi = Number(args["max-churn"]);
  for (let h = 1; h <= 24; h++) {
    const churn = lo + random() * (hi - lo);
    churns.push(churn);
    const changes = Math.round((churn * SIZE) / 2);
    const list = [...current];
    for (let i = 0; i < changes; i++) current.delete(list[Math.floor(random() * list.length)]!);
    while (current.size < SIZE) current.add(address());
    versions.push([...current]);
  }
}

/** A list server on loopback whose sockets count the bytes both ways. */
async function listServer(publisher: ListPublisher, delta: boolean) {
  const sockets = new Set<Socket>();
  let bytes = 0;
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    const headers = { ...req.headers };
    if (!delta) delete headers["a-im"]; // a publisher that offers nothing but the whole file
    const a = publisher.respond(headers);
    res.writeHead(a.status, a.headers);
    res.end(a.body);
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => {
      bytes += s.bytesRead + s.bytesWritten;
      sockets.delete(s);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/drop.txt`,
    requests: () => requests,
    bytes: () => {
      let open = 0;
      for (const s of sockets) open += s.bytesRead + s.bytesWritten;
      return bytes + open;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** Just enough of a Runtime to hold the list's decisions in memory. */
function memoryRuntime(clock: ManualClock) {
  const byId = new Map<string, Decision>();
  const byValue = new Map<string, string>();
  let n = 0;
  return {
    clock,
    activeDecisions: () => [...byId.values()],
    addDecision: (w: ManualDecision): Promise<ManualOutcome> => {
      const d: Decision = {
        id: String(++n),
        action: w.action,
        scope: w.scope,
        value: w.value,
        createdAt: clock.now(),
        expiresAt: w.durationMs === null ? null : clock.now() + w.durationMs,
        origin: w.origin ?? "manual",
        scenario: w.author,
        reason: w.reason,
        offence: 0,
        tzOffset: 0,
      };
      const old = byValue.get(w.value);
      if (old !== undefined) byId.delete(old);
      byValue.set(w.value, d.id);
      byId.set(d.id, d);
      return Promise.resolve({ kind: "created", decision: d });
    },
    deleteDecision: (id: string) => {
      const d = byId.get(id);
      if (d && byValue.get(d.value) === id) byValue.delete(d.value);
      return Promise.resolve(byId.delete(id));
    },
  };
}

interface Run {
  name: string;
  bytes: number;
  requests: number;
  staleHours: number;
  transports: string;
}

/** One strategy over 24 simulated hours; the client already holds the hour-0 version. */
async function simulate(name: string, refreshHours: number, delta: boolean): Promise<Run> {
  const publisher = new ListPublisher();
  const start = Date.parse("2024-05-01T00:00:00Z");
  publisher.publish(versions[0]!, start);
  const server = await listServer(publisher, delta);
  const dir = await mkdtemp(join(tmpdir(), "rempart-bench-lists-"));
  const clock = new ManualClock(start);
  const refresher = new ListRefresher(
    ListSourceSchema.parse({
      name: "bench",
      url: server.url,
      format: "plain",
      duration: "24h",
      refresh: `${refreshHours}h`,
      delta,
    }),
    { runtime: memoryRuntime(clock), dir, log: () => undefined },
  );
  await refresher.load();
  await refresher.refresh(); // the first download, not counted: both strategies had it
  const before = server.bytes();
  const requestsBefore = server.requests();
  const transports = new Map<string, number>();
  let stale = 0;
  for (let h = 1; h <= 24; h++) {
    clock.advance(start + h * HOUR);
    publisher.publish(versions[h]!, clock.now());
    if (h % refreshHours === 0) {
      const r = await refresher.refresh();
      if (r.entries !== versions[h]!.length) throw new Error(`hour ${h}: ${r.entries} entries`);
      transports.set(r.transport, (transports.get(r.transport) ?? 0) + 1);
    } else stale++;
  }
  const run = {
    name,
    bytes: server.bytes() - before,
    requests: server.requests() - requestsBefore,
    staleHours: stale,
    transports: [...transports].map(([k, v]) => `${v}× ${k}`).join(", "),
  };
  await server.close();
  await rm(dir, { recursive: true, force: true });
  return run;
}

/** The seed's way: the whole file, unconditionally, every 3 hours. */
async function baseline(): Promise<Run> {
  const publisher = new ListPublisher();
  const server = await listServer(publisher, false);
  for (let h = 3; h <= 24; h += 3) {
    publisher.publish(versions[h]!, 0);
    const res = await fetch(server.url);
    await res.arrayBuffer();
  }
  const run = {
    name: "whole file every 3 h (baseline)",
    bytes: server.bytes(),
    requests: server.requests(),
    staleHours: 16,
    transports: "8× full",
  };
  await server.close();
  return run;
}

const fullText = versions[0]!.map((v) => `${v}\n`).join("");
console.log(
  `list: ${SIZE} addresses, ${fullText.length} bytes (${gzipSync(fullText).length} gzipped); hourly churn ${(Math.min(...churns) * 100).toFixed(2)}–${(Math.max(...churns) * 100).toFixed(2)} %, mean ${((churns.reduce((a, b) => a + b, 0) / churns.length) * 100).toFixed(2)} %`,
);
const base = await baseline();
const runs = [
  base,
  await simulate("conditional (ETag), every 3 h, publisher offers the whole file only", 3, false),
  await simulate("conditional (ETag), every 1 h, publisher offers the whole file only", 1, false),
  await simulate("rempart-delta (RFC 3229), every 3 h", 3, true),
  await simulate("rempart-delta (RFC 3229), every 1 h", 1, true),
];
console.log("| strategy | requests | bytes/day | share of baseline | hours behind | answers |");
console.log("|---|---:|---:|---:|---:|---|");
for (const r of runs)
  console.log(
    `| ${r.name} | ${r.requests} | ${r.bytes.toLocaleString("en")} | ${((r.bytes / base.bytes) * 100).toFixed(2)} % | ${r.staleHours} | ${r.transports} |`,
  );
