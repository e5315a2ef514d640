import type { SqliteDatabase, SqliteStatement } from "kysely";

/** The slice of `node:sqlite`'s `DatabaseSync` this adapter uses. */
export interface SqliteClient {
  prepare(sql: string): SqliteClientStatement;
  close(): void;
}

/** The slice of `node:sqlite`'s `StatementSync` this adapter uses. */
export interface SqliteClientStatement {
  columns(): readonly unknown[];
  all(...parameters: SqliteValue[]): unknown[];
  run(...parameters: SqliteValue[]): {
    changes: number | bigint;
    lastInsertRowid: number | bigint;
  };
  iterate(...parameters: SqliteValue[]): Iterator<unknown>;
}

export type SqliteValue = null | number | bigint | string | Uint8Array;

// Multi-row inserts of different sizes compile to different texts; bounded so that a long run
// cannot hold an unbounded number of prepared statements.
const STATEMENT_CACHE_SIZE = 128;

/**
 * Kysely's `SqliteDatabase` (shaped after better-sqlite3) over Node's built-in `node:sqlite`,
 * so that the embedded database needs no native addon.
 */
export class NodeSqliteDatabase implements SqliteDatabase {
  readonly #client: SqliteClient;
  readonly #statements = new Map<string, SqliteStatement>();

  constructor(client: SqliteClient) {
    this.#client = client;
  }

  prepare(sql: string): SqliteStatement {
    const cached = this.#statements.get(sql);
    if (cached !== undefined) {
      // Refresh its place: a Map iterates in insertion order, so the oldest goes first.
      this.#statements.delete(sql);
      this.#statements.set(sql, cached);
      return cached;
    }
    const statement = adaptStatement(this.#client.prepare(sql));
    this.#statements.set(sql, statement);
    if (this.#statements.size > STATEMENT_CACHE_SIZE) {
      const oldest = this.#statements.keys().next();
      if (oldest.done !== true) this.#statements.delete(oldest.value);
    }
    return statement;
  }

  close(): void {
    this.#statements.clear();
    this.#client.close();
  }
}

function adaptStatement(statement: SqliteClientStatement): SqliteStatement {
  return {
    reader: statement.columns().length > 0,
    all: (parameters) => statement.all(...bind(parameters)),
    run: (parameters) => statement.run(...bind(parameters)),
    iterate: (parameters) => toIterable(statement.iterate(...bind(parameters))),
  };
}

// node:sqlite refuses booleans and undefined, which better-sqlite3 (Kysely's model) accepts.
function bind(parameters: readonly unknown[]): SqliteValue[] {
  return parameters.map((p): SqliteValue => {
    if (p === undefined || p === null) return null;
    if (typeof p === "boolean") return p ? 1 : 0;
    if (typeof p === "number" || typeof p === "bigint" || typeof p === "string") return p;
    if (ArrayBuffer.isView(p)) return new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
    throw new TypeError(`cannot bind a ${typeof p} as an SQLite parameter`);
  });
}

function toIterable(iterator: Iterator<unknown>): IterableIterator<unknown> {
  return {
    next: () => iterator.next(),
    [Symbol.iterator]() {
      return this;
    },
  };
}
