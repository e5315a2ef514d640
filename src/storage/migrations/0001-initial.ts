import type { Kysely, Migration } from "kysely";

// Written with the schema builder only, so the same text runs on SQLite and PostgreSQL.
// Every column is NOT NULL unless nullable on purpose: SQLite would otherwise accept NULL even
// in a primary key.
export const initial: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("decisions")
      .addColumn("id", "text", (c) => c.primaryKey().notNull())
      .addColumn("action", "text", (c) => c.notNull())
      .addColumn("scope", "text", (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("expires_at", "bigint")
      .addColumn("deleted_at", "bigint")
      .addColumn("origin", "text", (c) => c.notNull())
      .addColumn("scenario", "text", (c) => c.notNull())
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("offence", "integer", (c) => c.notNull())
      .addColumn("tz_offset", "integer", (c) => c.notNull())
      .execute();
    // created_at as a third column serves "newest first" and offence counting by subject.
    await db.schema
      .createIndex("decisions_scope_value")
      .on("decisions")
      .columns(["scope", "value", "created_at"])
      .execute();
    await db.schema
      .createIndex("decisions_expires_at")
      .on("decisions")
      .column("expires_at")
      .execute();

    await db.schema
      .createTable("alerts")
      .addColumn("id", "text", (c) => c.primaryKey().notNull())
      .addColumn("scenario", "text", (c) => c.notNull())
      .addColumn("scope", "text", (c) => c.notNull())
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("at", "bigint", (c) => c.notNull())
      .addColumn("tz_offset", "integer", (c) => c.notNull())
      .addColumn("count", "integer", (c) => c.notNull())
      .addColumn("message", "text", (c) => c.notNull())
      .addColumn("evidence", "text", (c) => c.notNull())
      .addColumn("decisions", "text", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("alerts_at").on("alerts").column("at").execute();
    await db.schema
      .createIndex("alerts_scenario_at")
      .on("alerts")
      .columns(["scenario", "at"])
      .execute();

    await db.schema
      .createTable("source_positions")
      .addColumn("source", "text", (c) => c.notNull())
      .addColumn("path", "text", (c) => c.notNull())
      .addColumn("inode", "text", (c) => c.notNull())
      .addColumn("offset", "bigint", (c) => c.notNull())
      .addColumn("head", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("source_positions_pk", ["source", "path"])
      .execute();

    await db.schema
      .createTable("api_keys")
      .addColumn("id", "text", (c) => c.primaryKey().notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("role", "text", (c) => c.notNull())
      .addColumn("hash", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("detection_state")
      .addColumn("scenario", "text", (c) => c.notNull())
      .addColumn("key", "text", (c) => c.notNull())
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("expires_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("detection_state_pk", ["scenario", "key"])
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [
      "detection_state",
      "api_keys",
      "source_positions",
      "alerts",
      "decisions",
    ]) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
