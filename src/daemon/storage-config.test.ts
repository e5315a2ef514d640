import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
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

  // PostgreSQL is shared by design: no lock.
  const shared = await lockDatabase({
    ...config,
    storage: { ...config.storage, postgres_url: "postgres://x" },
  });
  await assert.rejects(readFile(lock), { code: "ENOENT" });
  await shared();
});
