import { CompiledQuery, type Compilable, type Kysely } from "kysely";

/** A statement over many rows whose SQL text depends only on how many rows it holds. */
export interface BulkStatement<DB, T> {
  /** Names the statement in the cache; unique per shape. */
  readonly name: string;
  /** Parameters bound per row; sets how many rows fit in one statement. */
  readonly perRow: number;
  build(db: Kysely<DB>, rows: readonly T[]): Compilable;
  /** The parameters `build(rows)` binds, in the order it binds them. */
  bind(rows: readonly T[]): unknown[];
}

// Room for the few parameters a statement binds besides its rows (`set deleted_at = ?`).
const SPARE_PARAMETERS = 16;

/**
 * Writes rows in statements of power-of-two sizes, compiling each size once and binding new
 * parameters afterwards. Building a 2,000-row insert through the query builder costs more than
 * SQLite takes to run it; power-of-two sizes keep the number of distinct texts small, so the
 * compiled SQL (and the prepared statement behind it) is reused.
 */
export class BulkWriter {
  readonly #maxParameters: number;
  readonly #sql = new Map<string, string>();

  constructor(maxParameters: number) {
    this.#maxParameters = maxParameters;
  }

  /** Runs `statement` over all `rows`; returns the number of rows the database reports. */
  async run<DB, T>(
    db: Kysely<DB>,
    statement: BulkStatement<DB, T>,
    rows: readonly T[],
  ): Promise<number> {
    const largest = floorPowerOfTwo(
      Math.max(1, (this.#maxParameters - SPARE_PARAMETERS) / statement.perRow),
    );
    let affected = 0;
    for (let i = 0; i < rows.length;) {
      const size = Math.min(largest, floorPowerOfTwo(rows.length - i));
      const chunk = rows.slice(i, i + size);
      i += size;
      const parameters = statement.bind(chunk);
      const key = `${statement.name}:${size}`;
      let text = this.#sql.get(key);
      if (text === undefined) {
        const compiled = statement.build(db, chunk).compile();
        if (!sameValues(compiled.parameters, parameters)) {
          throw new Error(`bug: ${statement.name} binds its parameters in another order`);
        }
        text = compiled.sql;
        this.#sql.set(key, text);
      }
      const result = await db.executeQuery(CompiledQuery.raw(text, parameters));
      affected += Number(result.numAffectedRows ?? 0n);
    }
    return affected;
  }
}

function floorPowerOfTwo(n: number): number {
  return 2 ** Math.floor(Math.log2(n));
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
