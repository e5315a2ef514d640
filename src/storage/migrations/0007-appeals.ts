import { sql, type Kysely, type Migration } from "kysely";

// Appeals (src/reputation/appeals.ts): a person asks for an address to be forgiven, and an
// operator answers.
export const appeals: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("appeals")
      .addColumn("id", "text", (c) => c.primaryKey())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("ip", "text", (c) => c.notNull())
      .addColumn("contact", "text", (c) => c.notNull())
      .addColumn("message", "text", (c) => c.notNull())
      .addColumn("sender", "text", (c) => c.notNull())
      .addColumn("status", "text", (c) => c.notNull())
      .addColumn("closed_at", "bigint")
      .addColumn("closed_by", "text", (c) => c.notNull())
      .addColumn("note", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("appeals_status")
      .on("appeals")
      .columns(["status", "created_at"])
      .execute();
    await db.schema.createIndex("appeals_ip").on("appeals").columns(["ip", "created_at"]).execute();
    // One open appeal per address, even when two arrive at once.
    await sql`create unique index appeals_one_open on appeals (ip) where status = 'open'`.execute(
      db,
    );
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("appeals").ifExists().execute();
  },
};
