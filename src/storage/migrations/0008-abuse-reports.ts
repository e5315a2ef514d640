import type { Kysely, Migration } from "kysely";

// Abuse reports (src/reports): what this site tells networks' abuse desks about the addresses
// it banned, and the abuse contacts RDAP gave for them.
export const abuseReports: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("abuse_reports")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("ip", "text", (c) => c.notNull())
      .addColumn("scenario", "text", (c) => c.notNull())
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("categories", "integer", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("contact", "text", (c) => c.notNull())
      .addColumn("attempts", "integer", (c) => c.notNull())
      .addColumn("sent_at", "bigint")
      .addColumn("note", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("abuse_reports_status")
      .on("abuse_reports")
      .columns(["status", "created_at"])
      .execute();

    await db.schema
      .createTable("abuse_contacts")
      .addColumn("prefix", "text", (c) => c.primaryKey())
      .addColumn("contact", "text", (c) => c.notNull())
      .addColumn("network", "text", (c) => c.notNull())
      .addColumn("looked_up_at", "bigint", (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("abuse_contacts").ifExists().execute();
    await db.schema.dropTable("abuse_reports").ifExists().execute();
  },
};
