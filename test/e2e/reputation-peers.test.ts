/**
 * Two sites, each its own `rempart start` on its own SQLite, as two associations run them: A
 * publishes its signed feed; B names A as a peer with the public key `rempart reputation key`
 * prints on A's side. A ban at A becomes, within B's read interval, a report at B, weighed by
 * B's trust in A — and B's own feed does not pass it on. All on loopback.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import {
  apiCaller,
  createKey,
  rempartCli,
  startDaemon,
  writeDaemonConfig,
} from "../support/daemon.ts";
import { BIN } from "../support/replay.ts";

const GUESSER = "198.51.100.23";

test(
  "a ban at one site is a report at its peer, read from the signed feed",
  { timeout: 120_000 },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), "rempart-peers-"));
    t.after(() => rm(root, { recursive: true, force: true }));
    const dirA = join(root, "a");
    const dirB = join(root, "b");
    await mkdir(dirA);
    await mkdir(dirB);

    const configA = await writeDaemonConfig(dirA, ["sources: []", "reputation: { publish: true }"]);
    await mkdir(join(dirA, "data"));
    // The operator of A prints its public key for B's operator.
    const { stdout } = await promisify(execFile)(process.execPath, [
      BIN,
      ...["reputation", "key", "--config", configA],
    ]);
    const publicKey = /ed25519:[A-Za-z0-9_-]{43}/.exec(stdout)?.[0];
    assert.ok(publicKey !== undefined, stdout);

    const a = startDaemon(configA);
    t.after(() => a.stop());
    const baseA = await a.url();
    assert.match(a.stderr(), /reputation: .*feed published at \/v1\/reputation\/feed/);

    const configB = await writeDaemonConfig(dirB, [
      "sources: []",
      "reputation:",
      "  publish: true",
      "  peers:",
      "    - name: assoc-a",
      `      url: ${baseA}/v1/reputation/feed`,
      `      public_key: ${publicKey}`,
      "      trust: 0.5",
      "      every: 1s",
    ]);
    const b = startDaemon(configB);
    t.after(() => b.stop());
    const baseB = await b.url();
    assert.match(b.stderr(), /reading assoc-a/);

    const callA = apiCaller(baseA, await createKey(configA));
    const keyB = await createKey(configB);
    const callB = apiCaller(baseB, keyB);
    await callA("POST", "/v1/decisions", {
      action: "ban",
      scope: "ip",
      value: GUESSER,
      duration: "4h",
      reason: "guessing passwords",
    });

    let seen: Record<string, unknown>;
    for (let i = 0; ; i++) {
      seen = await callB("GET", `/v1/reputation/${GUESSER}`);
      if ((seen.total_reports as number) > 0) break;
      assert.ok(i < 100, `B never read A's report:\n${b.stderr()}`);
      await sleep(100);
    }
    const [report] = seen.reports as {
      reporter: string;
      weight: number;
      categories: number[];
      comment: string;
    }[];
    assert.equal(report?.reporter, "peer:assoc-a");
    assert.equal(report?.weight, 0.5, "A's ban weighs 1, times B's trust");
    assert.equal(report?.comment, "", "A's reason stays at A");
    assert.deepEqual(seen.decisions, [], "a peer's report is a score, never a decision");
    assert.ok((seen.confidence as number) > 0);

    // What B's operator sees.
    const shown = await rempartCli(baseB, keyB)("reputation", "show", GUESSER);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^198\.51\.100\.23: confidence \d+ \(score 0\.\d+\)$/m);
    assert.match(shown.stdout, /^ {4}\S+ {2}peer:assoc-a {2}×0\.5$/m);

    // B publishes its own reports only: A's is not echoed back.
    const feedB = (await (await fetch(`${baseB}/v1/reputation/feed`)).json()) as {
      reports: unknown[];
    };
    assert.deepEqual(feedB.reports, []);
    const metrics = await (await fetch(`${baseB}/metrics`)).text();
    assert.match(metrics, /rempart_reputation_peer_imported_total\{peer="assoc-a"\} 1\b/);
    assert.match(metrics, /rempart_reputation_peer_failures\{peer="assoc-a"\} 0\b/);
  },
);
