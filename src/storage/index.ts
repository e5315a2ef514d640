import { access, constants, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { sql, type Kysely } from "kysely";
import { redactUrl, RempartError, type Clock } from "../core/index.ts";
import type { Storage } from "../core/ports.ts";
import { KyselyStorage } from "./kysely-storage.ts";
import type { Database } from "./schema.ts";
import type { DecisionChannel } from "./postgres/decision-channel.ts";
import { openSqlite } from "./sqlite/sqlite-storage.ts";

export type StorageConfig =
  | { readonly kind: "sqlite"; readonly path: string }
  | {
      readonly kind: "postgres";
      readonly url: string;
      /** Schema holding Rempart's tables, created if missing; default the server's. */
      readonly schema?: string;
      /** This node's name, when several share the database (KyselyStorageOptions.node). */
      readonly node?: string;
    };

export interface OpenStorageOptions {
  readonly clock?: Clock;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Opens the configured database and brings its schema up to date before returning.
 * Fails with `STORAGE_FAILED` (cannot open or reach it) or `STORAGE_MIGRATION_FAILED`.
 */
export async function openStorage(
  config: StorageConfig,
  options: OpenStorageOptions = {},
): Promise<Storage> {
  const { db, label, schema, channel } =
    config.kind === "sqlite" ? await connectSqlite(config.path) : await connectPostgres(config);
  const storage = new KyselyStorage(db, {
    label,
    streams: config.kind === "sqlite",
    ...(schema === undefined ? {} : { schema }),
    ...(channel === undefined ? {} : { channel }),
    ...(config.kind === "postgres" && config.node !== undefined ? { node: config.node } : {}),
    ...options,
  });
  try {
    await storage.migrate();
  } catch (e) {
    await db.destroy().catch(() => undefined);
    throw e;
  }
  return storage;
}

interface Connected {
  readonly db: Kysely<Database>;
  readonly label: string;
  /** PostgreSQL: the schema the tables go in (the configured one, or the server's current). */
  readonly schema?: string;
  /** PostgreSQL: where decisions are announced to the other nodes. */
  readonly channel?: DecisionChannel;
}

async function connectSqlite(path: string): Promise<Connected> {
  try {
    return { db: openSqlite(path), label: `sqlite ${path}` };
  } catch (e) {
    const why = path === ":memory:" ? messageOf(e) : await diagnoseFile(path, e);
    throw new RempartError("STORAGE_FAILED", `cannot open ${path}: ${why}`, {
      cause: e,
      hint: "check data_dir in the configuration and that the daemon's user may write there",
    });
  }
}

// node:sqlite only says "unable to open database file"; find out which of the usual reasons.
async function diagnoseFile(path: string, error: unknown): Promise<string> {
  const dir = dirname(resolve(path));
  const dirInfo = await stat(dir).catch(() => undefined);
  if (dirInfo === undefined) return `directory ${dir} does not exist — create it or check data_dir`;
  if (!dirInfo.isDirectory()) return `${dir} is not a directory — check data_dir`;
  const fileInfo = await stat(path).catch(() => undefined);
  if (fileInfo?.isDirectory() === true) return `${path} is a directory — check data_dir`;
  const writable = await access(
    fileInfo === undefined ? dir : path,
    constants.R_OK | constants.W_OK,
  )
    .then(() => true)
    .catch(() => false);
  if (!writable) return "permission denied — check data_dir and the daemon's user";
  return `${messageOf(error)} — check that the file is an SQLite database and not locked`;
}

async function connectPostgres(config: {
  readonly url: string;
  readonly schema?: string;
}): Promise<Connected> {
  const where = redactUrl(config.url);
  if (config.schema !== undefined && !SCHEMA_NAME.test(config.schema)) {
    throw new RempartError(
      "STORAGE_FAILED",
      `invalid PostgreSQL schema name ${JSON.stringify(config.schema)}: use lower-case letters, digits and _`,
    );
  }
  // Loaded here: pg costs ~10 MB to a daemon on SQLite.
  const { openPostgres } = await import("./postgres/postgres-storage.ts");
  const { DecisionChannel } = await import("./postgres/decision-channel.ts");
  const db = openPostgres(
    config.schema === undefined ? { url: config.url } : { url: config.url, schema: config.schema },
  );
  let schema = config.schema;
  try {
    // The pool connects lazily: reach the server now, so that a wrong URL fails at start.
    if (schema === undefined) {
      const { rows } = await sql<{
        schema: string | null;
      }>`select current_schema() as schema`.execute(db);
      schema = rows[0]?.schema ?? undefined;
    } else await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  } catch (e) {
    await db.destroy().catch(() => undefined);
    throw new RempartError(
      "STORAGE_FAILED",
      `cannot connect to PostgreSQL at ${where}: ${messageOf(e)}`,
      {
        cause: e,
        hint: "check the database URL (host, port, user, password, database name) and that the server is running",
      },
    );
  }
  const channel = new DecisionChannel({
    url: config.url,
    ...(config.schema === undefined ? {} : { schema: config.schema }),
    ...(schema === undefined ? {} : { channelSchema: schema }),
  });
  return {
    db,
    label: `postgres ${where}`,
    ...(schema === undefined ? {} : { schema }),
    channel,
  };
}

function messageOf(e: unknown): string {
  if (e instanceof AggregateError && e.errors.length > 0) return messageOf(e.errors[0]);
  return e instanceof Error ? e.message : String(e);
}

export { KyselyStorage, type KyselyStorageOptions } from "./kysely-storage.ts";
export type { Database } from "./schema.ts";
