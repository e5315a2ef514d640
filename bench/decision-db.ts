/**
 * Not a test: a SQLite database of N active decisions, for the benches that start the real
 * daemon over one (bench/memory-decisions.ts, bench/check-daemon.ts). Each bench says what its
 * decisions look like; this writes them through the storage the daemon reads, 20,000 a batch,
 * and writes the configuration that starts the daemon over them.
 */
import { writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Decision } from "../src/core/index.ts";
import { openStorage } from "../src/storage/index.ts";

/** Writes decisions `make(0, now)` … `make(n - 1, now)` into a new SQLite database at `path`. */
export async function makeDecisionDatabase(
  path: string,
  n: number,
  make: (i: number, now: number) => Decision,
): Promise<void> {
  const storage = await openStorage({ kind: "sqlite", path });
  try {
    const now = Date.now();
    const batch: Decision[] = [];
    for (let i = 0; i < n; i++) {
      batch.push(make(i, now));
      if (batch.length === 20_000 || i === n - 1) {
        await storage.addDecisions(batch);
        batch.length = 0;
      }
    }
  } finally {
    await storage.close();
  }
}

/**
 * Writes at `path` a configuration for `rempart start` over the database `db` (its directory as
 * the data directory): the API on a port of the system's choosing, no log sources, and `extra`
 * lines (an enforcer, say).
 */
export function writeDaemonConfig(
  path: string,
  db: string,
  extra: readonly string[] = [],
  threads = 0,
): void {
  const lines = [
    `data_dir: ${dirname(db)}`,
    "http:",
    '  listen: "127.0.0.1:0"',
    `  threads: ${threads}`,
    "sources: []",
    "storage:",
    `  sqlite_file: ${db}`,
    ...extra,
    "",
  ];
  writeFileSync(path, lines.join("\n"));
}
