// Not a test: what reputation costs (docs/reputation.md).
//   node --expose-gc bench/reputation.ts [ADDRESSES] [REPORTS]
// - the book: memory of ADDRESSES scored addresses (and their networks), and the guard's
//   look-up (`confidence`) for a scored address and an unknown one, in ns;
// - a restart: REPORTS reports in SQLite (a file), read back into the book by `load`;
// - peers: REPORTS reports read from a publishing site's signed feed over loopback HTTP, pages
//   of 1,000 fetched, verified (Ed25519), stored and scored, in reports a second.
// Defaults: 500,000 addresses (1,000,000 entries with their networks), 1,000,000 reports.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ReportRecord } from "../src/core/index.ts";
import {
  parseCursor,
  PeerFeeds,
  Reputation,
  ReputationBook,
  ReputationConfigSchema,
  SIGNATURE_HEADER,
  signerFromSeed,
} from "../src/reputation/index.ts";
import { openStorage } from "../src/storage/index.ts";

const ADDRESSES = Number(process.argv[2] ?? 500_000);
const REPORTS = Number(process.argv[3] ?? 1_000_000);
const T0 = Date.parse("2026-12-01T00:00:00Z");
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with node --expose-gc");

const address = (i: number): string =>
  `${11 + ((i >>> 16) % 200)}.${(i >>> 8) & 255}.${i & 255}.${1 + (i % 7)}`;
const report = (i: number, n: number): ReportRecord => ({
  id: `r${i}`,
  time: T0 + Math.floor((i / n) * 30 * 86_400_000),
  ip: address(i % ADDRESSES),
  categories: [18],
  weight: 1,
  reporter: i % 3 === 0 ? "rempart" : "key:fail2ban",
  comment: "",
});
const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MB`;
const heap = (): number => {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
};

// ── The book ────────────────────────────────────────────────────────────────────────────
{
  const before = heap();
  const book = new ReputationBook({ halfLifeMs: 7 * 86_400_000, maxEntries: 2 * ADDRESSES + 10 });
  const t = performance.now();
  for (let i = 0; i < ADDRESSES; i++) book.add(report(i, ADDRESSES));
  const addMs = performance.now() - t;
  const used = heap() - before;
  console.log(
    `book: ${ADDRESSES} addresses, ${book.size} entries with their networks: ${mb(used)} (${Math.round(used / book.size)} bytes an entry); ${((addMs * 1e6) / ADDRESSES).toFixed(0)} ns a report added`,
  );
  const now = T0 + 31 * 86_400_000;
  const probes = Array.from({ length: 1 << 16 }, (_, i) => address((i * 7919) % ADDRESSES));
  const unknown = Array.from({ length: 1 << 16 }, (_, i) => `198.51.${(i >> 8) & 255}.${i & 255}`);
  for (const [name, list] of [
    ["scored address", probes],
    ["unknown address", unknown],
  ] as const) {
    const runs: number[] = [];
    let sink = 0;
    for (let r = 0; r < 5; r++) {
      const s = performance.now();
      for (let k = 0; k < 2_000_000; k++) sink += book.confidence(list[k & 0xffff]!, now);
      runs.push(((performance.now() - s) * 1e6) / 2_000_000);
    }
    runs.sort((a, b) => a - b);
    console.log(
      `confidence(), ${name}: ${runs[2]!.toFixed(0)} ns (median of 5; sink ${sink % 10})`,
    );
  }
}

// ── A restart: the book rebuilt from SQLite ────────────────────────────────────────────────
const dir = await mkdtemp(join(tmpdir(), "rempart-bench-rep-"));
try {
  const storage = await openStorage({ kind: "sqlite", path: join(dir, "rempart.db") });
  const w = performance.now();
  for (let i = 0; i < REPORTS; i += 10_000) {
    const batch: ReportRecord[] = [];
    for (let j = i; j < Math.min(REPORTS, i + 10_000); j++) batch.push(report(j, REPORTS));
    await storage.addReports(batch);
  }
  console.log(
    `SQLite: ${REPORTS} reports written in ${((performance.now() - w) / 1000).toFixed(1)} s`,
  );
  const config = ReputationConfigSchema.parse({ max_entries: 2 * ADDRESSES + 10 });
  const signer = signerFromSeed(randomBytes(32));
  const site = new Reputation(config, {
    storage,
    protection: () => undefined,
    signer,
    site: "bench",
    log: () => undefined,
  });
  const before = heap();
  const l = performance.now();
  const read = await site.load(T0 + 31 * 86_400_000);
  const loadS = (performance.now() - l) / 1000;
  console.log(
    `restart: ${read} reports read into the book in ${loadS.toFixed(2)} s (${Math.round(read / loadS)} a second); book ${site.book.size} entries, ${mb(heap() - before)}`,
  );

  // ── Peers: the whole feed read over HTTP ────────────────────────────────────────────────
  const server = createServer((req, res) => {
    const u = new URL(req.url ?? "/", "http://x");
    const after = u.searchParams.get("after");
    void site
      .feed(after === null ? undefined : parseCursor(after), 1000, Date.now())
      .then((page) => {
        res.writeHead(200, {
          "content-type": "application/json",
          [SIGNATURE_HEADER]: `ed25519=${page.signature}`,
        });
        res.end(page.body);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/reputation/feed`;
  const peerStorage = await openStorage({ kind: "sqlite", path: join(dir, "peer.db") });
  const peerBook = new ReputationBook({
    halfLifeMs: 7 * 86_400_000,
    maxEntries: 2 * ADDRESSES + 10,
  });
  const feeds = new PeerFeeds(
    [{ name: "a", url, public_key: signer.publicKey, trust: 0.5, every: "1h" }],
    {
      storage: peerStorage,
      book: peerBook,
      protection: () => undefined,
      now: () => T0 + 31 * 86_400_000,
      log: (line) => console.log(line),
      keepMs: 90 * 86_400_000,
    },
  );
  const p = performance.now();
  let imported = 0;
  let pages = 0;
  for (;;) {
    const o = await feeds.pull("a");
    imported += o.reports;
    pages += o.pages;
    if (o.reports === 0 || o.pages < 50) break;
  }
  const pullS = (performance.now() - p) / 1000;
  console.log(
    `peer: ${imported} reports in ${pages} signed pages read, verified, stored and scored in ${pullS.toFixed(1)} s (${Math.round(imported / pullS)} a second)`,
  );
  server.close();
  await peerStorage.close();
  await storage.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
