/**
 * Rempart's DNSBL for the benchmark: the plain list loaded as decisions into a DecisionBook in
 * this process, served by the dnsbl plugin as in the daemon. Prints "ready PORT" when listening.
 *
 *   node bench/dnsbl-server.ts LIST PORT [THREADS] [UDP_BATCHING]
 *
 * UDP_BATCHING is the `dnsbl.udp_batching` setting: on (the native recvmmsg/sendmmsg addon), off
 * (node:dgram) or auto (the default).
 *
 * DNSBL_CHURN=N (environment): N changes of decisions a second while it serves, as an attack
 * that adds bans does: a one-hour `ban` on a random IPv4 address every 1/N s, each removed 10 s
 * later, both told to the zone through the feed as the daemon tells them.
 */
import { systemClock, type Decision } from "../src/core/index.ts";
import { DecisionFeed } from "../src/decisions/index.ts";
import { createDnsbl, DnsblConfigSchema } from "../src/enforcers/dnsbl/index.ts";
import { releaseFreedMemory } from "../src/daemon/release-memory.ts";
import { bookFromList } from "./dnsbl-list.ts";

const [list, port, threads = "1", udpBatching = "auto"] = process.argv.slice(2);
if (list === undefined || port === undefined)
  throw new Error("usage: dnsbl-server.ts LIST PORT [THREADS] [UDP_BATCHING]");
const t0 = performance.now();
const book = bookFromList(list, Date.now());
const loadMs = performance.now() - t0;
const feed = new DecisionFeed();
const service = createDnsbl(
  DnsblConfigSchema.parse({
    listen: `127.0.0.1:${port}`,
    zone: "bl.example.org",
    lookup_url: "https://rbl.example.org/lookup?ip={ip}",
    threads: Number(threads),
    udp_batching: udpBatching,
  }),
  { book, feed, clock: systemClock, log: (l) => console.error(l) },
);
await service.start();
// As the daemon ends its start: the index's deferred work done, the load's garbage collected
// (otherwise the first measured run pays a mark-compact of it).
book.settle();
releaseFreedMemory();
const rss = process.memoryUsage().rss / 1048576;
console.log(
  `ready ${service.port} ${book.size} decisions loaded in ${(loadMs / 1000).toFixed(1)} s, rss ${rss.toFixed(0)} MiB`,
);
const churn = Number(process.env.DNSBL_CHURN ?? 0);
if (churn > 0) {
  const live: Decision[] = [];
  let n = 0;
  let owed = 0;
  let last = performance.now();
  setInterval(() => {
    const t = performance.now();
    owed += ((t - last) * churn) / 1000;
    last = t;
    for (; owed >= 1; owed--) {
      const now = Date.now();
      const a = (Math.random() * 0xffffffff) >>> 0;
      const d: Decision = Object.freeze({
        id: `churn${n++}`,
        action: "ban",
        scope: "ip",
        value: `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`,
        createdAt: now,
        expiresAt: now + 3_600_000,
        origin: "scenario",
        scenario: "bench-churn",
        reason: "Churn",
        offence: 0,
        tzOffset: 0,
      });
      book.add(d);
      feed.push("added", d, now);
      live.push(d);
      if (live.length > 10 * churn) {
        const old = live.shift()!;
        book.remove(old.id);
        feed.push("removed", old, now);
      }
    }
  }, 10);
}
process.on("SIGTERM", () => {
  void service.stop().then(() => process.exit(0));
});
