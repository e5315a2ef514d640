import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, it } from "node:test";
import { isRempartError, type Decision } from "../../core/index.ts";
import { openStorage } from "../index.ts";
import { KyselyStorage } from "../kysely-storage.ts";
import { openSqlite } from "./sqlite-storage.ts";
import { storageContract } from "../storage-contract.ts";

storageContract("sqlite", async () => {
  const dir = await mkdtemp(join(tmpdir(), "rempart-storage-"));
  const path = join(dir, "rempart.db");
  return {
    open: () => openStorage({ kind: "sqlite", path }),
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
});

void describe("forEachDecision by pages (how drivers that cannot stream read)", () => {
  void it("reads what listDecisions lists, in order, across pages and ties", async () => {
    const s = new KyselyStorage(openSqlite(":memory:"), { streams: false, pageRows: 2 });
    await s.migrate();
    const ds: Decision[] = [];
    for (let i = 0; i < 9; i++)
      ds.push({
        id: `d${(i * 7) % 9}`,
        action: "ban",
        scope: "ip",
        value: `192.0.2.${i}`,
        createdAt: 1_000 + (i % 3) * 100, // three decisions at each time
        expiresAt: i % 4 === 0 ? 1_100 : null,
        origin: "scenario",
        scenario: "ssh-bf",
        reason: i % 2 === 0 ? "even" : "odd",
        offence: 0,
        tzOffset: 0,
      });
    await s.addDecisions(ds);
    for (const query of [
      {},
      { activeAt: 1_200 },
      { limit: 4 },
      { limit: 5 },
      { createdAfter: 1_000 },
    ]) {
      const got: Decision[] = [];
      assert.equal(await s.forEachDecision(query, (d) => got.push(d)), got.length);
      assert.deepEqual(got, await s.listDecisions(query), JSON.stringify(query));
    }
    await s.close();
  });
});

void describe("sqlite openStorage", () => {
  void it("works in memory", async () => {
    const s = await openStorage({ kind: "sqlite", path: ":memory:" });
    await s.addApiKey({ id: "k", name: "n", role: "admin", hash: "h", createdAt: 1 });
    assert.equal((await s.listApiKeys()).length, 1);
    await s.close();
  });

  void it("says which directory is missing", async () => {
    const path = join(tmpdir(), "rempart-no-such-dir", "x", "rempart.db");
    await assert.rejects(
      openStorage({ kind: "sqlite", path }),
      (e: unknown) =>
        isRempartError(e) &&
        e.code === "STORAGE_FAILED" &&
        e.message.includes(`cannot open ${path}`) &&
        e.message.includes("does not exist") &&
        e.cause instanceof Error,
    );
  });

  void it("refuses a file that is not a database, saying so", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-storage-"));
    try {
      const { writeFile } = await import("node:fs/promises");
      const path = join(dir, "rempart.db");
      await writeFile(path, "not a database, just some text that is long enough".repeat(100));
      await assert.rejects(
        openStorage({ kind: "sqlite", path }),
        (e: unknown) => isRempartError(e) && e.code === "STORAGE_FAILED" && e.cause !== undefined,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it("refuses a database migrated by a newer Rempart", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-storage-"));
    try {
      const path = join(dir, "rempart.db");
      await (await openStorage({ kind: "sqlite", path })).close();
      const raw = new DatabaseSync(path);
      raw.exec("insert into kysely_migration (name, timestamp) values ('9999-future', 'now')");
      raw.close();
      await assert.rejects(
        openStorage({ kind: "sqlite", path }),
        (e: unknown) =>
          isRempartError(e) &&
          e.code === "STORAGE_MIGRATION_FAILED" &&
          e.message.includes(path) &&
          e.message.endsWith(
            "the database was brought up to date by a newer Rempart (it holds migration 9999-future, which this version does not know)",
          ) &&
          !e.message.includes("corrupted") &&
          e.cause instanceof Error,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

void describe("sqlite openStorage under another process's lock", () => {
  void it("waits for a lock held for a moment instead of failing as locked", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rempart-storage-"));
    try {
      const path = join(dir, "rempart.db");
      // Another process holds an exclusive lock for 300 ms on a database still in rollback
      // mode, so that even switching it to WAL has to wait (as during a crashed writer's
      // recovery, or a copy of the file being made).
      const { spawn } = await import("node:child_process");
      const holder = spawn(
        process.execPath,
        [
          "-e",
          `const { DatabaseSync } = require("node:sqlite");
           const d = new DatabaseSync(${JSON.stringify(path)});
           d.exec("CREATE TABLE t (x)");
           d.exec("BEGIN EXCLUSIVE");
           d.exec("INSERT INTO t VALUES (1)");
           process.stdout.write("locked\\n");
           setTimeout(() => { d.exec("COMMIT"); d.close(); }, 300);`,
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      await new Promise<void>((resolve) => holder.stdout.once("data", () => resolve()));
      const started = Date.now();
      const storage = await openStorage({ kind: "sqlite", path });
      assert.ok(Date.now() - started >= 100, "it waited for the lock");
      await storage.close();
      await new Promise((resolve) => holder.once("exit", resolve));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
