/**
 * `rempart start` on one CPU (pinned with the real `taskset`, util-linux): it marks its heap on
 * the main thread instead of in background threads that would take that CPU from it, says so
 * at start, serves, and stops cleanly. With more CPUs it leaves V8's default alone.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { NODE_FLAGS } from "../../bin/entry.js";
import { startDaemon, writeDaemonConfig } from "../support/daemon.ts";

const ONE_CPU_LINE = "one CPU: the heap is marked on the main thread, between requests";
const missing =
  spawnSync("taskset", ["-c", "0", "true"]).status === 0
    ? undefined
    : "needs taskset (Debian package util-linux) to pin the daemon to one CPU";

async function withConfig<T>(run: (config: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "rempart-one-cpu-"));
  try {
    return await run(await writeDaemonConfig(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test(
  "pinned to one CPU, the daemon marks on its main thread, serves and stops",
  { skip: missing },
  () =>
    withConfig(async (config) => {
      const daemon = startDaemon(config, NODE_FLAGS, ["taskset", "-c", "0"]);
      try {
        const url = await daemon.url(60_000);
        assert.ok(daemon.stderr().includes(ONE_CPU_LINE), daemon.stderr());
        // Enough answers to run the young generation over several times.
        for (let i = 0; i < 300; i++) {
          const r = await fetch(`${url}/v1/health`);
          assert.equal(r.status, 200);
          assert.equal(((await r.json()) as { status: string }).status, "ok");
        }
      } finally {
        daemon.child.kill("SIGTERM");
      }
      assert.equal(await daemon.exited, 0, daemon.stderr());
    }),
);

test(
  "with more than one CPU, V8 keeps its background marking",
  { skip: availableParallelism() > 1 ? undefined : "this machine has one CPU" },
  () =>
    withConfig(async (config) => {
      const daemon = startDaemon(config, NODE_FLAGS);
      try {
        await daemon.url(60_000);
        assert.ok(!daemon.stderr().includes(ONE_CPU_LINE), daemon.stderr());
      } finally {
        daemon.child.kill("SIGTERM");
      }
      assert.equal(await daemon.exited, 0, daemon.stderr());
    }),
);
