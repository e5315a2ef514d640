/**
 * nftables enforcer benchmark, in a network namespace it creates (and deletes):
 * - resync of 60K address decisions (target < 1 s), against the naive peer of seed 000:
 *   one `nft add rule … drop` process per address, stopped after PEER_CAP_S and extrapolated;
 * - 100 changes (50 bans, 50 lifts) to a 1M-address table (target < 50 ms);
 * - RSS of this process holding 1M decisions in a DecisionBook plus the enforcer's state
 *   (target ≤ 300 MB);
 * - one range added to an interval set of RANGES ranges: edited in place vs rebuilt and swapped.
 * Run as root: node --expose-gc bench/nftables.ts [--runs 2] [--ranges 50000]
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { systemClock, type Decision, type DecisionChange } from "../src/core/index.ts";
import { DecisionBook } from "../src/decisions/index.ts";
import {
  NftablesConfigSchema,
  NftablesEnforcer,
  spawnNft,
} from "../src/enforcers/nftables/index.ts";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "2" },
    ranges: { type: "string", default: "50000" },
    "peer-cap": { type: "string", default: "30" },
  },
});
const RUNS = Number(values.runs);
const RANGES = Number(values.ranges);
const PEER_CAP_S = Number(values["peer-cap"]);

const ns = `rempart-nftbench-${randomBytes(2).toString("hex")}`;
const sh = (args: string[]): void => {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${args.join(" ")}: ${r.stderr}`);
};
const nftCmd = ["ip", "netns", "exec", ns, "nft"];
const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const mb = (n: number): string => (n / 1048576).toFixed(0);

let n = 0;
const decision = (value: string, expiresAt: number | null): Decision => ({
  id: `d${++n}`,
  action: "ban",
  scope: value.includes("/") ? "range" : "ip",
  value,
  createdAt: 0,
  expiresAt,
  origin: "import",
  scenario: "bench",
  reason: "bench",
  offence: 0,
  tzOffset: 0,
});
// Distinct public-looking IPv4 addresses from a counter (11.0.0.0 onwards).
const v4 = (i: number): string =>
  `${11 + (i >>> 24)}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
const v6 = (i: number): string =>
  `2001:db8:${(i >>> 16).toString(16)}:${(i & 65535).toString(16)}::1`;

const enforcer = (): NftablesEnforcer =>
  new NftablesEnforcer(
    NftablesConfigSchema.parse({ command: nftCmd }),
    spawnNft(nftCmd),
    systemClock,
  );

async function timed(f: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

const out: string[] = [];
const say = (l: string): void => {
  out.push(l);
  console.log(l);
};

sh(["ip", "netns", "add", ns]);
try {
  const until = Date.now() + 3 * 3_600_000;
  const list60k = Array.from({ length: 60_000 }, (_, i) => decision(v4(i * 7 + 1), until));
  for (let r = 1; r <= RUNS; r++) {
    const e = enforcer();
    say(`- 60K resync, run ${r}: ${(await timed(() => e.resync(list60k))).toFixed(0)} ms`);
  }

  // The naive peer: one process and one rule per address, as seed 000's script did.
  sh([...nftCmd, "add table inet naive"]);
  sh([
    ...nftCmd,
    "add chain inet naive input { type filter hook input priority 0; policy accept; }",
  ]);
  const t0 = performance.now();
  let added = 0;
  while (added < list60k.length && performance.now() - t0 < PEER_CAP_S * 1000) {
    sh([...nftCmd, `add rule inet naive input ip saddr ${list60k[added]!.value} drop`]);
    added++;
  }
  const peerS = (performance.now() - t0) / 1000;
  say(
    `- naive peer (\`nft add rule … drop\` per address): ${added} rules in ${peerS.toFixed(1)} s (capped at ${PEER_CAP_S} s) → ${(added / peerS).toFixed(0)} rules/s, 60K extrapolated ≈ ${((60_000 / added) * peerS).toFixed(0)} s (the last rules get slower as the chain grows, so this is a lower bound)`,
  );
  sh([...nftCmd, "delete table inet naive"]);

  // 1M: the book as the daemon holds it, and the enforcer's state.
  gc();
  const rss0 = process.memoryUsage().rss;
  const book = new DecisionBook();
  const million: Decision[] = [];
  for (let i = 0; i < 1_000_000; i++) {
    const d = decision(i % 10 === 0 ? v6(i) : v4(i * 3 + 1), until + (i % 3600) * 1000);
    book.add(d);
    million.push(d);
  }
  const big = enforcer();
  const loadMs = await timed(() => big.resync(million));
  million.length = 0;
  gc();
  const rss1 = process.memoryUsage().rss;
  say(
    `- 1M decisions (90% IPv4, 10% IPv6) loaded by resync in ${(loadMs / 1000).toFixed(1)} s; RSS ${mb(rss1)} MB (${mb(rss0)} MB before the book: book + enforcer state ≈ ${mb(rss1 - rss0)} MB)`,
  );
  let seq = 0;
  for (let r = 1; r <= RUNS; r++) {
    const changes: DecisionChange[] = [];
    const live = book.all();
    for (let k = 0; k < 50; k++) {
      const old = live.next().value as Decision;
      book.remove(old.id);
      changes.push({ seq: ++seq, kind: "removed", decision: old, at: Date.now() });
      const d = decision(v4(5_000_000 + r * 100 + k), until);
      book.add(d);
      changes.push({ seq: ++seq, kind: "added", decision: d, at: Date.now() });
    }
    say(
      `- 100 changes to the 1M table, run ${r}: ${(await timed(() => big.apply(changes))).toFixed(1)} ms`,
    );
  }

  // Interval sets: one more range into RANGES ranges, edited in place vs rebuilt and swapped.
  const ranges = Array.from({ length: RANGES }, (_, i) => decision(`${v4(i * 256)}/24`, null));
  for (const [label, swapAt] of [
    ["edited in place", Infinity],
    ["rebuilt and swapped", 1],
  ] as const) {
    for (let r = 1; r <= RUNS; r++) {
      const e = new NftablesEnforcer(
        NftablesConfigSchema.parse({ command: nftCmd }),
        spawnNft(nftCmd),
        systemClock,
        { swapAt },
      );
      const load = await timed(() => e.resync(ranges));
      const one = decision(`${v4(RANGES * 256 + r * 256)}/24`, null);
      const ms = await timed(() => e.apply([{ seq: ++seq, kind: "added", decision: one, at: 0 }]));
      say(
        `- one range added to ${RANGES} ranges, ${label}, run ${r}: ${ms.toFixed(0)} ms (initial load ${load.toFixed(0)} ms)`,
      );
    }
  }
} finally {
  spawnSync("ip", ["netns", "del", ns]);
}
