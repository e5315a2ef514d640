/**
 * The DNSBL zone's cost per query in process, without sockets: the list of bench/dnsbl-gen.ts
 * loaded into a DecisionBook, its query file encoded once, then answered by DnsblZone.answer.
 * Prints CPU microseconds per query for a first pass (every answer computed), a second pass
 * (answers from the cache) and a pass with the cache turned off, for A and for TXT queries.
 *
 *   node bench/dnsbl-zone.ts [LIST] [QUERIES]   (defaults: bench/out/dnsbl/list.txt, queries.txt)
 */
import { readFileSync } from "node:fs";
import * as packet from "dns-packet";
import { systemClock } from "../src/core/index.ts";
import { DnsblZone } from "../src/enforcers/dnsbl/index.ts";
import { bookFromList } from "./dnsbl-list.ts";

const list = process.argv[2] ?? "bench/out/dnsbl/list.txt";
const queryFile = process.argv[3] ?? "bench/out/dnsbl/queries.txt";

const now = Date.now();
const book = bookFromList(list, now);

const names = readFileSync(queryFile, "utf8")
  .split("\n")
  .filter((l) => l !== "")
  .map((l) => l.split(" ")[0]!);
const encode = (type: "A" | "TXT"): Buffer[] =>
  names.map((name, id) =>
    packet.encode({
      type: "query",
      id: id & 0xffff,
      flags: packet.RECURSION_DESIRED,
      questions: [{ name, type, class: "IN" }],
    }),
  );

const zone = (cacheEntries: number): DnsblZone =>
  new DnsblZone(book, systemClock, {
    zone: "bl.example.org",
    ttl: 60,
    codes: { ban: "127.0.0.2" },
    scenarioCodes: {},
    lookupUrl: "https://rbl.example.org/lookup?ip={ip}",
    nameservers: ["localhost"],
    cacheEntries,
  });

function pass(z: DnsblZone, queries: readonly Buffer[]): number {
  const t0 = process.cpuUsage();
  let bytes = 0;
  for (const q of queries) bytes += z.answer(q, false)?.length ?? 0;
  const t = process.cpuUsage(t0);
  if (bytes === 0) throw new Error("no answers");
  return (t.user + t.system) / queries.length;
}

console.log(`dnsbl-zone: ${book.size} decisions, ${names.length} queries; CPU µs per query`);
for (const type of ["A", "TXT"] as const) {
  const queries = encode(type);
  const cached = zone(200_000);
  const first = pass(cached, queries);
  const second = pass(cached, queries);
  const uncached = zone(0);
  pass(uncached, queries.slice(0, 20_000)); // warm the code up
  const none = pass(uncached, queries);
  console.log(
    `${type.padEnd(3)}  first pass ${first.toFixed(2)}  cached ${second.toFixed(2)}  no cache ${none.toFixed(2)}`,
  );
}
