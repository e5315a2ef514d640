import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createDaemonRuntime } from "../http/test-runtime.ts";
import { ListSourceSchema } from "./list-config.ts";
import { ListRefresher } from "./list-refresher.ts";
import { ListPublisher } from "./publisher.ts";

/** A list server on loopback; `handler` decides each answer, `hits` records what was asked. */
let handler: (req: IncomingMessage, res: ServerResponse) => void = (_q, res) => res.end();
const hits: { status: number; inm: string | undefined; aim: string | undefined }[] = [];
const server = createServer((req, res) => {
  res.on("finish", () =>
    hits.push({
      status: res.statusCode,
      inm: req.headers["if-none-match"],
      aim: req.headers["a-im"] as string | undefined,
    }),
  );
  handler(req, res);
});
let url = "";
before(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/list.txt`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

const serve = (p: ListPublisher) => (req: IncomingMessage, res: ServerResponse) => {
  const a = p.respond(req.headers);
  res.writeHead(a.status, a.headers);
  res.end(a.body);
};

/** An ETag-only server: the whole list or 304, as most publishers offer. */
const serveWhole = (text: () => string) => (req: IncomingMessage, res: ServerResponse) => {
  const etag = `"${createHash("sha256").update(text()).digest("hex").slice(0, 16)}"`;
  if (req.headers["if-none-match"] === etag) {
    res.writeHead(304, { etag });
    res.end();
  } else {
    res.writeHead(200, { etag, "content-type": "text/plain" });
    res.end(text());
  }
};

async function setup(extra: Record<string, unknown> = {}) {
  const runtime = await createDaemonRuntime();
  const dir = await mkdtemp(join(tmpdir(), "rempart-lists-"));
  const logs: string[] = [];
  const config = ListSourceSchema.parse({
    name: "drop",
    url,
    format: "plain",
    duration: "24h",
    refresh: "1h",
    ...extra,
  });
  const make = () => new ListRefresher(config, { runtime, dir, log: (l) => logs.push(l) });
  const refresher = make();
  await refresher.load();
  const values = () =>
    runtime
      .activeDecisions()
      .filter((d) => d.origin === "import" && d.scenario === "drop")
      .map((d) => d.value)
      .sort();
  return {
    runtime,
    refresher,
    make,
    logs,
    values,
    dir,
    async close() {
      await runtime.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const T = ["198.51.100.1", "198.51.100.2", "198.51.100.3", "203.0.113.0/24"];

test("a list becomes import decisions; then only the difference is applied, by delta", async (t) => {
  const s = await setup();
  t.after(() => s.close());
  const p = new ListPublisher();
  handler = serve(p);
  p.publish(T, s.runtime.clock.now());
  hits.length = 0;

  const first = await s.refresher.refresh();
  assert.equal(first.outcome, "updated");
  assert.equal(first.transport, "full");
  assert.equal(first.added, 4);
  assert.deepEqual(s.values(), [...T].sort());
  const d = s.runtime.activeDecisions().find((x) => x.value === "203.0.113.0/24")!;
  assert.equal(d.scope, "range");
  assert.equal(d.expiresAt, s.runtime.clock.now() + 86_400_000);
  assert.equal(d.reason, "on list drop");

  const again = await s.refresher.refresh();
  assert.equal(again.outcome, "unchanged");
  assert.equal(again.added + again.removed + again.renewed, 0);
  assert.equal(hits.at(-1)?.status, 304);
  assert.equal(hits.at(-1)?.inm, p.etag);

  const cursor = s.runtime.feed.head;
  p.publish(["198.51.100.1", "198.51.100.3", "203.0.113.0/24", "2001:db8::7", "192.0.2.9"], 0);
  const delta = await s.refresher.refresh();
  assert.equal(delta.transport, "delta");
  assert.equal(hits.at(-1)?.status, 226);
  assert.equal(hits.at(-1)?.aim, "rempart-delta");
  assert.deepEqual([delta.added, delta.removed], [2, 1]);
  // Enforcers see three changes, not a reload of the list.
  const changes = s.runtime.feed.since(cursor)!;
  assert.deepEqual(changes.map((c) => `${c.kind} ${c.decision.value}`).sort(), [
    "added 192.0.2.9",
    "added 2001:db8::7",
    "removed 198.51.100.2",
  ]);
});

test("without delta support, the whole list is downloaded and still only the difference applied", async (t) => {
  const s = await setup();
  t.after(() => s.close());
  let text = T.join("\n");
  handler = serveWhole(() => text);
  await s.refresher.refresh();
  text = ["198.51.100.1", "198.51.100.3", "203.0.113.0/24", "198.51.100.4"].join("\n");
  const cursor = s.runtime.feed.head;
  const r = await s.refresher.refresh();
  assert.equal(r.transport, "full");
  assert.deepEqual([r.added, r.removed], [1, 1]);
  assert.equal(s.runtime.feed.since(cursor)!.length, 2);
});

test("allowlisted and over-wide entries are refused, counted, and not fatal", async (t) => {
  const s = await setup();
  t.after(() => s.close());
  handler = serveWhole(() => "10.1.2.3\n127.0.0.1\n1.0.0.0/8\n198.51.100.1\n");
  const r = await s.refresher.refresh();
  assert.equal(r.outcome, "updated");
  assert.equal(r.refused, 3);
  assert.equal(r.added, 1);
  assert.match(
    s.logs.join("\n"),
    /3 entries refused by the policy \(e\.g\. 10\.1\.2\.3 is in an allowlisted network/,
  );
});

test("a list that shrinks too much at once is held until a second download confirms it", async (t) => {
  const s = await setup();
  t.after(() => s.close());
  let text = T.join("\n");
  handler = serveWhole(() => text);
  await s.refresher.refresh();
  text = T[0]!; // a truncated download
  const held = await s.refresher.refresh();
  assert.equal(held.outcome, "held");
  assert.equal(s.values().length, 4);
  assert.match(s.logs.join("\n"), /warning: would drop 3 of 4 entries/);
  const confirmed = await s.refresher.refresh();
  assert.equal(confirmed.outcome, "updated");
  assert.deepEqual(s.values(), [T[0]]);
});

test("a failed download keeps the entries and backs off; bad content is refused with its line", async (t) => {
  const s = await setup();
  t.after(() => s.close());
  handler = serveWhole(() => T.join("\n"));
  await s.refresher.refresh();
  handler = (_q, res) => {
    res.writeHead(503);
    res.end();
  };
  const r = await s.refresher.refresh();
  assert.equal(r.outcome, "failed");
  assert.equal(s.refresher.nextDelayMs(), 60_000);
  await s.refresher.refresh();
  assert.equal(s.refresher.nextDelayMs(), 120_000);
  handler = serveWhole(() => "198.51.100.1\nnot-an-address\n");
  const bad = await s.refresher.refresh();
  assert.equal(bad.outcome, "failed");
  assert.match(bad.message ?? "", /line 2: "not-an-address" is not an IP address/);
  assert.equal(s.values().length, 4);
});

test("validators and entries survive a restart; entries are renewed before they lapse", async (t) => {
  const s = await setup();
  t.after(() => s.close());
  const p = new ListPublisher();
  handler = serve(p);
  p.publish(T, 0);
  await s.refresher.refresh();
  const restarted = s.make();
  await restarted.load();
  assert.equal(restarted.entries().length, 4);
  const r = await restarted.refresh();
  assert.equal(r.outcome, "unchanged");
  assert.equal(hits.at(-1)?.status, 304);
  // 23 h later (refresh 1 h): less than two refreshes are left, so they are renewed.
  s.runtime.clock.advance(s.runtime.clock.now() + 23 * 3_600_000);
  const renewed = await restarted.refresh();
  assert.equal(renewed.renewed, 4);
  const d = s.runtime.activeDecisions().find((x) => x.value === T[0])!;
  assert.equal(d.expiresAt, s.runtime.clock.now() + 86_400_000);
});

test("two lists holding one address: the one that drops it leaves the other's decision", async (t) => {
  const s = await setup();
  t.after(() => s.close());
  handler = serveWhole(() => "198.51.100.7\n198.51.100.8\n");
  await s.refresher.refresh();
  // A second list, from a file, with longer entries: it used to replace the first list's.
  const file = join(s.dir, "tor.txt");
  await writeFile(file, "198.51.100.7\n");
  const tor = new ListRefresher(
    ListSourceSchema.parse({
      name: "tor",
      file,
      format: "plain",
      duration: "48h",
      refresh: "1h",
      max_shrink: 1,
    }),
    { runtime: s.runtime, dir: s.dir, log: () => {} },
  );
  await tor.load();
  assert.equal((await tor.refresh()).added, 1);
  const held = () =>
    s.runtime
      .check({ ip: "198.51.100.7" })
      .map((d) => d.scenario)
      .sort();
  assert.deepEqual(held(), ["drop", "tor"]);
  // Tor drops the address: drop still lists it, so it stays held, with no gap until drop's
  // next refresh.
  await writeFile(file, "192.0.2.1\n");
  const r = await tor.refresh();
  assert.deepEqual([r.added, r.removed], [1, 1], JSON.stringify(r));
  assert.deepEqual(held(), ["drop"]);
  assert.deepEqual(s.values(), ["198.51.100.7", "198.51.100.8"]);
});

test("the configuration needs url or file, and a duration longer than the refresh", () => {
  assert.equal(ListSourceSchema.safeParse({ name: "x", format: "plain" }).success, false);
  assert.equal(
    ListSourceSchema.safeParse({
      name: "x",
      file: "/l",
      format: "plain",
      duration: "1h",
      refresh: "3h",
    }).success,
    false,
  );
  assert.equal(
    ListSourceSchema.safeParse({ name: "x", file: "/l", format: "netset" }).success,
    false,
  );
});
