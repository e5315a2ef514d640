import type { Kysely, Migration } from "kysely";

// Payment-provider events that named no account when they came, kept until an event that ties
// one of their links to an account arrives (src/guard/webhooks): one row per link waited on.
export const webhookPending: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("webhook_pending")
      .addColumn("provider", "text", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("ref", "text", (c) => c.notNull())
      .addColumn("id", "text", (c) => c.notNull())
      .addColumn("received_at", "bigint", (c) => c.notNull())
      .addColumn("payload", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("webhook_pending_pk", ["provider", "kind", "ref", "id"])
      .execute();
    await db.schema
      .createIndex("webhook_pending_id")
      .on("webhook_pending")
      .columns(["provider", "id"])
      .execute();
    await db.schema
      .createIndex("webhook_pending_received_at")
      .on("webhook_pending")
      .column("received_at")
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable("webhook_pending").ifExists().execute();
  },
};
