import type { Kysely, Migration } from "kysely";

// When each bouncer last pulled the decision stream (src/http/crowdsec.ts): after a restart,
// the deletions it has not pulled yet are still sent.
export const bouncerPulls: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("bouncer_pulls")
      .addColumn("key_id", "text", (c) => c.primaryKey())
      .addColumn("pulled_at", "bigint", (c) => c.notNull())
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("bouncer_pulls").ifExists().execute();
  },
};
