import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { POSTGRES_SKIP, TEST_POSTGRES_URL } from "../storage/postgres/test-schema.ts";
import { lockDatabase } from "./storage-config.ts";

test("one daemon per SQLite database: a live one's lock refuses, a dead one's is taken over", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-lock-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = { data_dir: dir, storage: { sqlite_file: "rempart.db" } };
  const lock = join(dir, "rempart.db.lock");

  const release = await lockDatabase(config);
  assert.equal((await readFile(lock, "utf8")).trim(), String(process.pid));
  await release();
  await assert.rejects(readFile(lock), { code: "ENOENT" });

  // Another process whose command line names Rempart holds it.
  const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)", "rempart"]);
  t.after(() => other.kill());
  await new Promise((resolve) => other.once("spawn", resolve));
  await writeFile(lock, `${other.pid}\n`);
  await assert.rejects(lockDatabase(config), (e: Error) =>
    new RegExp(`another Rempart \\(pid ${other.pid}\\) runs on`).test(e.message),
  );
  other.kill();
  await new Promise((resolve) => other.once("exit", resolve));
  // Gone: its lock is stale, and taken over.
  const again = await lockDatabase(config);
  assert.equal((await readFile(lock, "utf8")).trim(), String(process.pid));
  await again();

  // PostgreSQL out of reach: nothing to take here (opening the storage says what is wrong).
  const unreachable = await lockDatabase({
    ...config,
    node_name: "mx1",
    storage: { ...config.storage, postgres_url: "postgres://postgres@127.0.0.1:1/x" },
  });
  await assert.rejects(readFile(lock), { code: "ENOENT" });
  await unreachable();
});

test(
  "one daemon per node name on a shared PostgreSQL; other names run beside it",
  TEST_POSTGRES_URL === undefined ? { skip: POSTGRES_SKIP } : {},
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-lock-pg-"));
    t.after(() => rm(dir, { recursive: true, force: true }));
    // A name of this run's own: tests running at once never take each other's.
    const node = `lock-test-${process.pid}`;
    const config = (node_name: string) => ({
      data_dir: dir,
      node_name,
      storage: { sqlite_file: "rempart.db", postgres_url: TEST_POSTGRES_URL! },
    });
    const first = await lockDatabase(config(node));
    await assert.rejects(lockDatabase(config(node)), (e: Error) =>
      e.message.startsWith(`another Rempart runs as node "${node}" on this database`),
    );
    const other = await lockDatabase(config(`${node}-b`));
    await other();
    await first();
    // Released: the name can be taken again.
    await (
      await lockDatabase(config(node))
    )();
  },
);
