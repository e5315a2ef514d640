// Not a test: times a checkpoint commit and a subject look-up. Run with
//   node src/storage/storage-speed.ts [postgres-url]
// (SQLite in a temporary directory unless a PostgreSQL URL is given.)
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Decision } from "../core/index.ts";
import type { Checkpoint, DetectionStateRecord, Storage } from "../core/ports.ts";
import { openStorage } from "./index.ts";

const TOTAL = Number(process.env["REMPART_SPEED_ROWS"] ?? 1_000_000);
const BATCH = 10_000;

const url = process.argv[2];
const dir = await mkdtemp(join(tmpdir(), "rempart-speed-"));
const schema = `rempart_speed_${process.pid}`;
const storage: Storage =
  url === undefined
    ? await openStorage({ kind: "sqlite", path: join(dir, "rempart.db") })
    : await openStorage({ kind: "postgres", url, schema });

const decision = (i: number): Decision => ({
  id: `d-${i}`,
  action: "ban",
  scope: "ip",
  // ~4 decisions per address, like repeat offenders.
  value: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i >> 2) & 63}`,
  createdAt: 1_700_000_000_000 + i,
  expiresAt: 1_700_000_000_000 + i + 3_600_000,
  origin: "scenario",
  scenario: "ssh-bf",
  reason: "10 failures in 60 s",
  offence: i & 3,
  tzOffset: 60,
});
const state = (i: number): DetectionStateRecord => ({
  scenario: "ssh-bf",
  key: `k-${i}`,
  state: `{"n":${i & 15},"first":${1_700_000_000_000 + i}}`,
  expiresAt: 1_700_000_000_000 + i + 600_000,
});
const checkpoint = (from: number): Checkpoint => ({
  decisions: Array.from({ length: BATCH }, (_, j) => decision(from + j)),
  deletedDecisions: [],
  alerts: [],
  positions: [{ source: "mail", path: "/var/log/mail.log", inode: "1:2", offset: from, head: "h" }],
  state: Array.from({ length: BATCH }, (_, j) => state(from + j)),
});

const ms = (t0: bigint): string => (Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1] ?? NaN;

try {
  const commits: number[] = [];
  for (let from = 0; from < TOTAL; from += BATCH) {
    const cp = checkpoint(from);
    const t0 = process.hrtime.bigint();
    await storage.commit(cp);
    commits.push(Number(ms(t0)));
  }
  console.log(
    `commit of ${BATCH} decisions + ${BATCH} state rows: first ${commits[0]} ms, ` +
      `median ${median(commits)} ms over ${commits.length} commits (${TOTAL} decisions in all)`,
  );

  const lookups: number[] = [];
  let found = 0;
  for (let k = 0; k < 200; k++) {
    const i = Math.floor((k * 7919 * 4) % TOTAL);
    const value = decision(i).value;
    const t0 = process.hrtime.bigint();
    found += (await storage.listDecisions({ scope: "ip", value, limit: 50 })).length;
    lookups.push(Number(ms(t0)));
  }
  console.log(
    `listDecisions by (scope, value) among ${TOTAL} rows: median ${median(lookups)} ms, ` +
      `max ${Math.max(...lookups)} ms (${found / lookups.length} rows each)`,
  );

  const t0 = process.hrtime.bigint();
  const n = await storage.countOffences("ip", decision(12345).value, 0);
  console.log(`countOffences: ${ms(t0)} ms (${n})`);
} finally {
  await storage.close();
  await rm(dir, { recursive: true, force: true });
  if (url !== undefined) {
    const pg = (await import("pg")).default;
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`drop schema if exists ${schema} cascade`);
    await client.end();
  }
}
