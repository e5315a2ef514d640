/**
 * Rempart's DNSBL for the benchmark: the plain list loaded as decisions into a DecisionBook in
 * this process, served by the dnsbl plugin as in the daemon. Prints "ready PORT" when listening.
 *
 *   node bench/dnsbl-server.ts LIST PORT
 */
import { readFileSync } from "node:fs";
import { systemClock, type Decision } from "../src/core/index.ts";
import { DecisionBook, DecisionFeed } from "../src/decisions/index.ts";
import { createDnsbl, DnsblConfigSchema } from "../src/enforcers/dnsbl/index.ts";

const [list, port] = process.argv.slice(2);
if (list === undefined || port === undefined) throw new Error("usage: dnsbl-server.ts LIST PORT");
const book = new DecisionBook();
const now = Date.now();
let i = 0;
const t0 = performance.now();
for (const value of readFileSync(list, "utf8").split("\n")) {
  if (value === "") continue;
  const d: Decision = Object.freeze({
    id: `b${i++}`,
    action: "ban",
    scope: value.includes("/") ? "range" : "ip",
    value,
    createdAt: now,
    expiresAt: now + 7 * 86_400_000,
    origin: "import",
    scenario: "bench-list",
    reason: "Listed by the benchmark list",
    offence: 0,
    tzOffset: 0,
  });
  book.add(d);
}
const loadMs = performance.now() - t0;
const service = createDnsbl(
  DnsblConfigSchema.parse({
    listen: `127.0.0.1:${port}`,
    zone: "bl.example.org",
    lookup_url: "https://rbl.example.org/lookup?ip={ip}",
  }),
  { book, feed: new DecisionFeed(), clock: systemClock, log: (l) => console.error(l) },
);
await service.start();
const rss = process.memoryUsage().rss / 1048576;
console.log(
  `ready ${service.port} ${book.size} decisions loaded in ${(loadMs / 1000).toFixed(1)} s, rss ${rss.toFixed(0)} MiB`,
);
process.on("SIGTERM", () => {
  void service.stop().then(() => process.exit(0));
});
