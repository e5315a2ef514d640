// Not a test: Rempart's HTTP API with N active decisions, for bench/check.sh. Prints
// `ready <url> <bouncer key>` on stdout once it listens, then serves until killed.
//   node bench/check-server.ts N PORT
// The decisions go straight into a real DecisionBook (the daemon's hot copy; the API answers
// look-ups from it alone), so loading 1M takes seconds instead of 1M policy checks and commits:
// the subjects of bench/check-subjects.ts. The key lives in SQLite in memory.
import { ManualClock } from "../src/core/index.ts";
import type { Runtime } from "../src/daemon/runtime.ts";
import { DecisionBook, DecisionFeed } from "../src/decisions/index.ts";
import { createApi, createApiKey, startHttpServer } from "../src/http/index.ts";
import { openStorage } from "../src/storage/index.ts";
import { benchDecision } from "./check-subjects.ts";

const n = Number(process.argv[2] ?? 1_000_000);
const port = Number(process.argv[3] ?? 0);
const now = Date.now();
const clock = new ManualClock(now);
const storage = await openStorage({ kind: "sqlite", path: ":memory:" }, { clock });
await storage.migrate();
const book = new DecisionBook();

const t0 = performance.now();
for (let i = 0; i < n; i++) book.add(benchDecision(i, now));
book.settle(); // as the daemon does at start
const loadMs = performance.now() - t0;

const runtime: Runtime = {
  clock,
  storage,
  check: (subject) => book.match(subject, clock.now()),
  heldByAnother: (d) => book.heldByAnother(d, clock.now()),
  listDecisions: (query) => storage.listDecisions(query),
  addDecision: () => Promise.reject(new Error("read-only bench runtime")),
  deleteDecision: () => Promise.resolve(false),
  ingest: () => Promise.resolve(),
  listAlerts: (query) => storage.listAlerts(query),
  counters: () => ({
    startedAt: now,
    events: 0,
    eventsByType: {},
    alerts: 0,
    decisionsCreated: 0,
    decisionsRefused: 0,
    activeDecisions: book.size,
    parseFailures: 0,
    linesRead: 0,
    detectionKeys: {},
    enforcers: {},
    sources: [],
  }),
  feed: new DecisionFeed(),
  activeDecisions: () => [...book.all()],
};
// Wall time moves on (durations in answers count down), without Date.now() per request.
setInterval(() => clock.advance(Date.now()), 100).unref();

const key = await createApiKey(storage, "bench", "bouncer", now);
const server = await startHttpServer(createApi(runtime, { logError: () => undefined }), {
  host: "127.0.0.1",
  port,
});
const rss = Math.round(process.memoryUsage().rss / 1_048_576);
process.stderr.write(
  `check-server: ${book.size} decisions loaded in ${Math.round(loadMs)} ms, RSS ${rss} MB\n`,
);
process.stdout.write(`ready ${server.url} ${key}\n`);
// A clean exit on SIGTERM, so that `--cpu-prof` can write its profile.
process.once("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
