/**
 * Not a test: `rempart start` itself with N active decisions, for bench/check.sh, beside
 * bench/check-server.ts (the API over a bare DecisionBook, without the daemon around it).
 * Prints `ready <url> <bouncer key> <daemon's pid>` on stdout once the daemon serves (after its
 * start-up work), then keeps it running until this process gets SIGTERM or SIGINT.
 *
 *   [API_THREADS=2] node bench/check-daemon.ts N
 *
 * The decisions are bench/check-subjects.ts's, as check-server loads them, written to SQLite in
 * a temporary directory that the daemon then loads as after a restart; the bouncer key goes in
 * the same database. The daemon runs with `npm start`'s flags (bench/daemon-flags.ts) and the
 * build the `rempart` command runs; it inherits this process's CPU affinity (check.sh pins it).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApiKey } from "../src/http/api-keys.ts";
import { openStorage } from "../src/storage/index.ts";
import { startDaemon } from "../test/support/daemon.ts";
import { benchDecision } from "./check-subjects.ts";
import { daemonFlags } from "./daemon-flags.ts";
import { makeDecisionDatabase, writeDaemonConfig } from "./decision-db.ts";

const n = Number(process.argv[2] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), "rempart-check-daemon-"));
const db = join(dir, "rempart.db");
const config = join(dir, "rempart.yaml");
const cleanUp = (): void => rmSync(dir, { recursive: true, force: true });

try {
  // The same decisions as check-server's.
  await makeDecisionDatabase(db, n, benchDecision);
  const storage = await openStorage({ kind: "sqlite", path: db });
  const key = await createApiKey(storage, "bench", "bouncer", Date.now());
  await storage.close();
  // API_THREADS: the daemon's `http.threads` (0, its own thread, by default).
  writeDaemonConfig(config, db, [], Number(process.env.API_THREADS ?? 0));

  const t0 = performance.now();
  const daemon = startDaemon(config, daemonFlags());
  const url = await daemon.url(300_000);
  process.stderr.write(
    `check-daemon: rempart start serving ${n} decisions after ${((performance.now() - t0) / 1000).toFixed(1)} s (pid ${daemon.child.pid})\n`,
  );
  process.stdout.write(`ready ${url} ${key} ${daemon.child.pid}\n`);
  const stop = (): void => void daemon.child.kill("SIGTERM");
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  const code = await daemon.exited;
  if (code !== 0)
    process.stderr.write(`check-daemon: the daemon exited with ${code}:\n${daemon.stderr()}`);
} finally {
  cleanUp();
}
