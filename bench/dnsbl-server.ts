/**
 * Rempart's DNSBL for the benchmark: the plain list loaded as decisions into a DecisionBook in
 * this process, served by the dnsbl plugin as in the daemon. Prints "ready PORT" when listening.
 *
 *   node bench/dnsbl-server.ts LIST PORT [THREADS] [UDP_BATCHING]
 *
 * UDP_BATCHING is the `dnsbl.udp_batching` setting: on (the native recvmmsg/sendmmsg addon), off
 * (node:dgram) or auto (the default).
 */
import { systemClock } from "../src/core/index.ts";
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
const service = createDnsbl(
  DnsblConfigSchema.parse({
    listen: `127.0.0.1:${port}`,
    zone: "bl.example.org",
    lookup_url: "https://rbl.example.org/lookup?ip={ip}",
    threads: Number(threads),
    udp_batching: udpBatching,
  }),
  { book, feed: new DecisionFeed(), clock: systemClock, log: (l) => console.error(l) },
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
process.on("SIGTERM", () => {
  void service.stop().then(() => process.exit(0));
});
