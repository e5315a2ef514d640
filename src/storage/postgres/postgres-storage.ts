import { Kysely, PostgresDialect } from "kysely";
import pg from "pg";
import type { Database } from "../schema.ts";

const INT8_OID = 20;

// Times in ms and counts fit well within 2^53; parse INT8 as a number for this pool only, so
// that other users of `pg` in the process keep the library's default (strings).
function int8AsNumber(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(INT8_OID, "text", (value: string) => Number(value));
  return types;
}

export interface PostgresOptions {
  readonly url: string;
  /** Schema to create and use the tables in (via `search_path`); default the server's. */
  readonly schema?: string;
  readonly maxConnections?: number;
}

const clean = (v: unknown): unknown =>
  typeof v === "string" && v.includes("\u0000") ? v.replaceAll("\u0000", "\uFFFD") : v;

/**
 * PostgreSQL's `text` refuses the NUL character ("invalid byte sequence for encoding UTF8:
 * 0x00"), which SQLite stores. A NUL in one value (a log line's account, an application's
 * event) would fail the whole checkpoint it is in, with every decision and read position of it,
 * again at each retry. This client sends U+FFFD in its place, as a decoder writes a byte it
 * cannot read: in every query, the bulk writer's prepared ones too.
 */
class NulFreeClient extends pg.Client {
  override query(...args: unknown[]): never {
    const values = args[1];
    if (Array.isArray(values) && values.some((v) => clean(v) !== v)) args[1] = values.map(clean);
    return (super.query as (...a: unknown[]) => never)(...args);
  }
}

/** A pool over `url`. Connects lazily: the first query reports an unreachable server. */
export function openPostgres(options: PostgresOptions): Kysely<Database> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    types: int8AsNumber(),
    Client: NulFreeClient,
    ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
  });
  // An idle client's error (server restart) must not crash the daemon; the next query fails
  // and is reported there.
  pool.on("error", () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}
