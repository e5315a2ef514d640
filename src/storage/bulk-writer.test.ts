import assert from "node:assert/strict";
import { it } from "node:test";
import { sql } from "kysely";
import { BulkWriter, type BulkStatement } from "./bulk-writer.ts";
import type { Database } from "./schema.ts";
import { openSqlite } from "./sqlite/sqlite-storage.ts";

interface Row {
  scenario: string;
  key: string;
  state: string;
  expires_at: number;
}

const insert = (bind: (rows: readonly Row[]) => unknown[]): BulkStatement<Database, Row> => ({
  name: "insert state",
  perRow: 4,
  build: (db, rows) => db.insertInto("detection_state").values(rows),
  bind,
});

const withTable = async (run: (db: ReturnType<typeof openSqlite>) => Promise<void>) => {
  const db = openSqlite(":memory:");
  try {
    await sql`create table detection_state (scenario text, key text, state text, expires_at integer)`.execute(
      db,
    );
    await run(db);
  } finally {
    await db.destroy();
  }
};

const rows = (n: number): Row[] =>
  Array.from({ length: n }, (_, i) => ({ scenario: "s", key: `k${i}`, state: "x", expires_at: i }));

void it("writes every row, in statements no larger than the parameter budget", () =>
  withTable(async (db) => {
    const writer = new BulkWriter(16 + 4 * 8);
    const statement = insert((rs) => rs.flatMap((r) => [r.scenario, r.key, r.state, r.expires_at]));
    assert.equal(await writer.run(db, statement, rows(37)), 37);
    assert.equal(await writer.run(db, statement, rows(37)), 37);
    const count = await db
      .selectFrom("detection_state")
      .select((eb) => eb.fn.countAll().as("n"))
      .executeTakeFirstOrThrow();
    assert.equal(Number(count.n), 74);
    assert.equal(await writer.run(db, statement, []), 0);
  }));

void it("refuses a statement whose bind order differs from the compiled SQL", () =>
  withTable(async (db) => {
    const writer = new BulkWriter(1_000);
    const reversed = insert((rs) => rs.flatMap((r) => [r.key, r.scenario, r.state, r.expires_at]));
    await assert.rejects(
      writer.run(db, reversed, rows(3)),
      /binds its parameters in another order/,
    );
  }));
