import type { Kysely, Migration } from "kysely";

// Reputation (src/reputation): the reports about addresses, Rempart's own, those of scripts
// through the AbuseIPDB-compatible API and those of peers; and how far each peer's feed was
// read.
export const reports: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("reports")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("ip", "text", (c) => c.notNull())
      .addColumn("categories", "integer", (c) => c.notNull())
      .addColumn("weight", "double precision", (c) => c.notNull())
      .addColumn("reporter", "text", (c) => c.notNull())
      .addColumn("comment", "text", (c) => c.notNull())
      .execute();
    // The rebuild at start and the feed read in (created_at, id) order; a look-up by address.
    await db.schema
      .createIndex("reports_created")
      .on("reports")
      .columns(["created_at", "id"])
      .execute();
    await db.schema.createIndex("reports_ip").on("reports").columns(["ip", "created_at"]).execute();

    await db.schema
      .createTable("reputation_peers")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("cursor", "text", (c) => c.notNull())
      .addColumn("pulled_at", "bigint", (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("reputation_peers").ifExists().execute();
    await db.schema.dropTable("reports").ifExists().execute();
  },
};
