import { DatabaseSync } from "node:sqlite";
import { Kysely, SqliteAdapter, SqliteDialect } from "kysely";
import type { Database } from "../schema.ts";
import { NodeSqliteDatabase } from "./node-sqlite-database.ts";

// SQLite runs DDL inside a transaction perfectly well; Kysely says it does not only to stay
// safe with every driver. Saying it does keeps a failed migration from leaving half a schema.
class TransactionalDdlSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

class NodeSqliteDialect extends SqliteDialect {
  override createAdapter(): SqliteAdapter {
    return new TransactionalDdlSqliteAdapter();
  }
}

/** How long a statement waits for another process's lock (a CLI reading, a crashed writer's
 * WAL being recovered) before it fails with "database is locked". */
const BUSY_TIMEOUT_MS = 5000;

// The busy timeout is set when the connection opens, before any pragma: switching to WAL takes
// a lock, and without the timeout a reader holding it for a moment makes the open fail.
const PRAGMAS = [
  "PRAGMA journal_mode = WAL",
  "PRAGMA synchronous = NORMAL",
  "PRAGMA foreign_keys = ON",
] as const;

/**
 * Opens (creating if needed) the SQLite file at `path`, or an in-memory database for
 * `":memory:"`. Throws what `node:sqlite` throws; `openStorage` turns it into a message.
 */
export function openSqlite(path: string): Kysely<Database> {
  const client = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    for (const pragma of PRAGMAS) client.exec(pragma);
  } catch (e) {
    client.close();
    throw e;
  }
  return new Kysely<Database>({
    dialect: new NodeSqliteDialect({ database: new NodeSqliteDatabase(client) }),
  });
}
