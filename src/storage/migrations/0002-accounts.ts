import type { Kysely, Migration } from "kysely";

// Account trust states (src/guard/accounts) and the webhook events seen (src/guard/webhooks).
export const accounts: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("accounts")
      .addColumn("id", "text", (c) => c.primaryKey().notNull())
      .addColumn("state", "text", (c) => c.notNull())
      .addColumn("since", "bigint", (c) => c.notNull())
      .addColumn("memory", "text", (c) => c.notNull())
      .addColumn("last_time", "bigint", (c) => c.notNull())
      .addColumn("history", "integer", (c) => c.notNull())
      .addColumn("version", "integer", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
    // The expiry sweep looks for accounts in one state that entered it long ago.
    await db.schema
      .createIndex("accounts_state_since")
      .on("accounts")
      .columns(["state", "since"])
      .execute();

    await db.schema
      .createTable("account_causes")
      .addColumn("account", "text", (c) => c.notNull())
      .addColumn("id", "text", (c) => c.notNull())
      .addColumn("cause", "text", (c) => c.notNull())
      .addColumn("type", "text", (c) => c.notNull())
      .addColumn("time", "bigint", (c) => c.notNull())
      .addColumn("resource", "text", (c) => c.notNull())
      .addColumn("by", "text", (c) => c.notNull())
      .addColumn("detail", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("account_causes_pk", ["account", "id"])
      .execute();

    await db.schema
      .createTable("account_history")
      .addColumn("account", "text", (c) => c.notNull())
      .addColumn("seq", "integer", (c) => c.notNull())
      .addColumn("at", "bigint", (c) => c.notNull())
      .addColumn("event", "text", (c) => c.notNull())
      .addColumn("cause", "text", (c) => c.notNull())
      .addColumn("from_state", "text", (c) => c.notNull())
      .addColumn("to_state", "text", (c) => c.notNull())
      .addColumn("outcome", "text", (c) => c.notNull())
      .addColumn("reason", "text", (c) => c.notNull())
      .addColumn("by", "text", (c) => c.notNull())
      .addColumn("recorded_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("account_history_pk", ["account", "seq"])
      .execute();

    await db.schema
      .createTable("account_links")
      .addColumn("provider", "text", (c) => c.notNull())
      .addColumn("kind", "text", (c) => c.notNull())
      .addColumn("ref", "text", (c) => c.notNull())
      .addColumn("account", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("account_links_pk", ["provider", "kind", "ref"])
      .execute();

    await db.schema
      .createTable("webhook_events")
      .addColumn("provider", "text", (c) => c.notNull())
      .addColumn("id", "text", (c) => c.notNull())
      .addColumn("received_at", "bigint", (c) => c.notNull())
      .addColumn("account", "text", (c) => c.notNull())
      .addColumn("outcome", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("webhook_events_pk", ["provider", "id"])
      .execute();
    await db.schema
      .createIndex("webhook_events_received_at")
      .on("webhook_events")
      .column("received_at")
      .execute();
  },

  async down(db: Kysely<unknown>): Promise<void> {
    for (const table of [
      "webhook_events",
      "account_links",
      "account_history",
      "account_causes",
      "accounts",
    ]) {
      await db.schema.dropTable(table).ifExists().execute();
    }
  },
};
