import { Migrator, sql, type Kysely, type Selectable, type Transaction } from "kysely";
import {
  ABUSE_REPORT_STATUSES,
  ACTIONS,
  APPEAL_STATUSES,
  RempartError,
  SCOPES,
  systemClock,
  categoryMask,
  maskCategories,
  type Alert,
  type AlertEvidence,
  type AbuseReportStatus,
  type AppealStatus,
  type Clock,
  type Decision,
  type Origin,
  type Scope,
} from "../core/index.ts";
import type {
  AccountCauseRecord,
  AccountHistoryRecord,
  AccountLink,
  AccountRecord,
  AccountWrite,
  AccountWriteOutcome,
  AlertQuery,
  ApiKeyRecord,
  ApiRole,
  Checkpoint,
  DecisionQuery,
  DetectionStateRecord,
  AbuseContactRecord,
  AbuseReportRecord,
  AbuseReportUpdate,
  AppealClose,
  AppealRecord,
  PendingWebhookEvent,
  ReportCursor,
  ReportQuery,
  ReportRecord,
  SharedDecisionHandlers,
  SharedDecisionWatch,
  SourcePosition,
  Storage,
  WebhookEventRecord,
} from "../core/ports.ts";
import { migrationProvider } from "./migrations/index.ts";
import { BulkWriter, type BulkStatement } from "./bulk-writer.ts";
import type { DecisionChannel } from "./postgres/decision-channel.ts";
import type {
  AbuseReportsTable,
  AccountsTable,
  AlertsTable,
  AppealsTable,
  Database,
  DecisionsTable,
  DetectionStateTable,
  ReportsTable,
  SourcePositionsTable,
} from "./schema.ts";

// SQLite's default SQLITE_MAX_VARIABLE_NUMBER (since 3.32) and well under PostgreSQL's 65535:
// one budget keeps a single code path for both.
const MAX_PARAMETERS = 32_766;

const ORIGINS: readonly Origin[] = Object.freeze(["scenario", "manual", "import", "peer"]);
const ROLES: readonly ApiRole[] = Object.freeze(["admin", "sensor", "bouncer"]);
const OUTCOMES: readonly ("applied" | "ignored")[] = Object.freeze(["applied", "ignored"]);

// Thrown inside a transaction to roll it back; recognised by identity, never escapes.
const ROLLBACK_CONFLICT = new Error("account changed since it was read");
const ROLLBACK_DUPLICATE = new Error("cause already applied");

export interface KyselyStorageOptions {
  /** Stamps `updated_at` on positions (bookkeeping only; never read back by detection). */
  readonly clock?: Clock;
  /** Shown in error messages: "sqlite /var/lib/rempart/rempart.db", "postgres". */
  readonly label?: string;
  /**
   * The driver streams a query's rows (node:sqlite does; pg would need pg-cursor, which Rempart
   * does not ship). Otherwise long reads go by pages.
   */
  readonly streams?: boolean;
  /** Rows per page of a long read where the driver cannot stream (default 20,000). */
  readonly pageRows?: number;
  /**
   * The schema the tables are in (PostgreSQL), where the migrator keeps its own. Without it,
   * Kysely takes a migration table of that name in any schema for its own: another Rempart
   * in the same database, or any Kysely application, and the migration fails.
   */
  readonly schema?: string;
  /**
   * PostgreSQL: announce every decision added or deleted on this channel, and let other nodes'
   * be watched (`watchDecisions`).
   */
  readonly channel?: DecisionChannel;
  /**
   * PostgreSQL shared by several nodes: this node's name. Read positions and detection state
   * are each node's own (its logs, its counts), so they are kept under `<node>@<source>` and
   * `<node>@<scenario>`; rows from before node names are read when the node has none yet.
   */
  readonly node?: string;
}

/**
 * The one `Storage` implementation, over any Kysely dialect whose SQL both SQLite and
 * PostgreSQL accept. Every failure leaves as a `RempartError` with code `STORAGE_FAILED`
 * (or `STORAGE_MIGRATION_FAILED`) and the driver's error as `cause`.
 */
export class KyselyStorage implements Storage {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #label: string;
  readonly #streams: boolean;
  readonly #pageRows: number;
  readonly #schema: string | undefined;
  readonly #bulk = new BulkWriter(MAX_PARAMETERS);
  readonly #channel: DecisionChannel | undefined;
  /** `<node>@`, or "" where one process owns the database. */
  readonly #mine: string;
  readonly watchDecisions:
    ((handlers: SharedDecisionHandlers) => Promise<SharedDecisionWatch>) | undefined;

  constructor(db: Kysely<Database>, options: KyselyStorageOptions = {}) {
    this.#db = db;
    this.#clock = options.clock ?? systemClock;
    this.#label = options.label ?? "database";
    this.#streams = options.streams ?? false;
    this.#pageRows = options.pageRows ?? 20_000;
    this.#schema = options.schema;
    const channel = options.channel;
    this.#channel = channel;
    this.#mine = options.node === undefined ? "" : `${options.node}@`;
    this.watchDecisions =
      channel === undefined
        ? undefined
        : (handlers) =>
            channel.listen(handlers, (ids) =>
              this.listDecisions({ ids, activeAt: this.#clock.now() }),
            );
  }

  async migrate(): Promise<void> {
    const migrator = new Migrator({
      db: this.#db,
      provider: migrationProvider,
      ...(this.#schema === undefined ? {} : { migrationTableSchema: this.#schema }),
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error !== undefined) {
      // Kysely's words for a database that holds a migration this version does not know.
      const unknown = /previously executed migration (\S+) is missing/.exec(messageOf(error))?.[1];
      if (unknown !== undefined)
        throw new RempartError(
          "STORAGE_MIGRATION_FAILED",
          `${this.#label}: the database was brought up to date by a newer Rempart (it holds migration ${unknown}, which this version does not know)`,
          { cause: error, hint: "run the newer Rempart, or a copy of the database made before it" },
        );
      const failed = results?.find((r) => r.status === "Error")?.migrationName;
      throw new RempartError(
        "STORAGE_MIGRATION_FAILED",
        `${this.#label}: ${failed === undefined ? "cannot bring the schema up to date" : `migration ${failed} failed`}: ${messageOf(error)}`,
        {
          cause: error,
          hint: "check that the database user may create tables and that no newer Rempart has migrated this database",
        },
      );
    }
  }

  async close(): Promise<void> {
    await this.#guard("close", () => this.#db.destroy());
  }

  commit(checkpoint: Checkpoint): Promise<void> {
    return this.#guard("commit", () =>
      this.#db.transaction().execute(async (trx) => {
        await insertDecisions(trx, this.#bulk, checkpoint.decisions);
        if (checkpoint.reports !== undefined && checkpoint.reports.length > 0)
          await insertReports(trx, this.#bulk, checkpoint.reports);
        for (const [at, ids] of groupDeletions(checkpoint.deletedDecisions)) {
          await markDeleted(trx, this.#bulk, ids, at);
        }
        await this.#announce(
          trx,
          checkpoint.decisions.map((d) => d.id),
          checkpoint.deletedDecisions,
        );
        await insertAlerts(trx, this.#bulk, checkpoint.alerts);
        const mine = this.#mine;
        await upsertPositions(
          trx,
          this.#bulk,
          mine === ""
            ? checkpoint.positions
            : checkpoint.positions.map((p) => ({ ...p, source: mine + p.source })),
          this.#clock.now(),
        );
        await writeState(
          trx,
          this.#bulk,
          mine === ""
            ? checkpoint.state
            : checkpoint.state.map((r) => ({ ...r, scenario: mine + r.scenario })),
        );
      }),
    );
  }

  addDecisions(decisions: readonly Decision[]): Promise<void> {
    return this.#guard("addDecisions", () =>
      this.#db.transaction().execute(async (trx) => {
        await insertDecisions(trx, this.#bulk, decisions);
        await this.#announce(
          trx,
          decisions.map((d) => d.id),
          [],
        );
      }),
    );
  }

  deleteDecisions(ids: readonly string[], at: number): Promise<number> {
    return this.#guard("deleteDecisions", () =>
      this.#db.transaction().execute(async (trx) => {
        const n = await markDeleted(trx, this.#bulk, ids, at);
        await this.#announce(
          trx,
          [],
          ids.map((id) => ({ id, at })),
        );
        return n;
      }),
    );
  }

  /** Tells the other nodes, when the transaction commits (PostgreSQL's NOTIFY): one statement. */
  async #announce(
    trx: Transaction<Database>,
    added: readonly string[],
    deleted: readonly { readonly id: string; readonly at: number }[],
  ): Promise<void> {
    const channel = this.#channel;
    if (channel === undefined || added.length + deleted.length === 0) return;
    const payloads = channel.payloads(added, deleted);
    await sql`select pg_notify(${channel.name}, p) from unnest(${payloads}::text[]) as p`.execute(
      trx,
    );
  }

  listDecisions(query: DecisionQuery): Promise<Decision[]> {
    return this.#guard("listDecisions", async () => {
      const rows = await this.#decisions(query).execute();
      return rows.map((r) => toDecision(r));
    });
  }

  async forEachDecision(query: DecisionQuery, each: (d: Decision) => void): Promise<number> {
    // A failure of `each` is the caller's bug, not the database's: it leaves unwrapped.
    let failed: { readonly error: unknown } | undefined;
    const call = (d: Decision): boolean => {
      try {
        each(d);
        return true;
      } catch (error) {
        failed = { error };
        return false;
      }
    };
    const strings = new SharedStrings();
    const n = await this.#guard("forEachDecision", async () => {
      let count = 0;
      if (this.#streams) {
        for await (const row of this.#decisions(query).stream()) {
          if (!call(toDecision(row, strings))) break;
          count++;
        }
        return count;
      }
      // By pages in the same order, each starting after the last row of the one before.
      const limit = query.limit ?? Infinity;
      let after: { readonly createdAt: number; readonly id: string } | undefined;
      for (;;) {
        const size = Math.min(this.#pageRows, limit - count);
        let q = this.#decisions({ ...query, limit: size });
        if (after !== undefined) {
          const { createdAt, id } = after;
          // A row comparison, which the (created_at, id) index answers as a range.
          q = q.where((eb) => eb(eb.refTuple("created_at", "id"), "<", eb.tuple(createdAt, id)));
        }
        const rows = await q.execute();
        for (const row of rows) {
          if (!call(toDecision(row, strings))) return count;
          count++;
        }
        const last = rows.at(-1);
        if (last === undefined || rows.length < size || count >= limit) return count;
        after = { createdAt: last.created_at, id: last.id };
      }
    });
    if (failed !== undefined) throw failed.error;
    return n;
  }

  activeDecisionIds(at: number): Promise<string[]> {
    return this.#guard("activeDecisionIds", async () => {
      const ids: string[] = [];
      // By pages along the primary key, each after the last id of the one before.
      let after: string | undefined;
      for (;;) {
        let q = this.#db
          .selectFrom("decisions")
          .select("id")
          .where("deleted_at", "is", null)
          .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", at)]));
        if (after !== undefined) q = q.where("id", ">", after);
        const rows = await q.orderBy("id").limit(this.#pageRows).execute();
        for (const r of rows) ids.push(r.id);
        if (rows.length < this.#pageRows) return ids;
        after = rows.at(-1)!.id;
      }
    });
  }

  #decisions(query: DecisionQuery) {
    let q = this.#db.selectFrom("decisions").selectAll();
    if (query.scope !== undefined) q = q.where("scope", "=", query.scope);
    if (query.value !== undefined) q = q.where("value", "=", query.value);
    if (query.action !== undefined) q = q.where("action", "=", query.action);
    const activeAt = query.activeAt;
    if (activeAt !== undefined) {
      q = q
        .where("deleted_at", "is", null)
        .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", activeAt)]));
    }
    const inactiveAt = query.inactiveAt;
    if (inactiveAt !== undefined) {
      q = q.where((eb) =>
        eb.or([eb("deleted_at", "is not", null), eb("expires_at", "<=", inactiveAt)]),
      );
    }
    if (query.createdAfter !== undefined) q = q.where("created_at", ">", query.createdAfter);
    if (query.createdBy !== undefined) q = q.where("created_at", "<=", query.createdBy);
    if (query.deletedAfter !== undefined) q = q.where("deleted_at", ">", query.deletedAfter);
    if (query.ids !== undefined) q = q.where("id", "in", query.ids.length > 0 ? query.ids : [""]);
    q = q.orderBy("created_at", "desc").orderBy("id", "desc");
    if (query.limit !== undefined) q = q.limit(query.limit);
    return q;
  }

  countOffences(scope: Scope, value: string, since: number): Promise<number> {
    return this.#guard("countOffences", async () => {
      const row = await this.#db
        .selectFrom("decisions")
        .select((eb) => eb.fn.countAll().as("n"))
        .where("scope", "=", scope)
        .where("value", "=", value)
        .where("created_at", ">=", since)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  listAlerts(query: AlertQuery): Promise<Alert[]> {
    return this.#guard("listAlerts", async () => {
      let q = this.#db.selectFrom("alerts").selectAll();
      if (query.scenario !== undefined) q = q.where("scenario", "=", query.scenario);
      if (query.value !== undefined) q = q.where("value", "=", query.value);
      if (query.since !== undefined) q = q.where("at", ">=", query.since);
      q = q.orderBy("at", "desc").orderBy("id", "desc");
      if (query.limit !== undefined) q = q.limit(query.limit);
      const rows = await q.execute();
      return rows.map(toAlert);
    });
  }

  positions(source: string): Promise<SourcePosition[]> {
    return this.#guard("positions", async () => {
      const read = (stored: string) =>
        this.#db
          .selectFrom("source_positions")
          .select(["path", "inode", "offset", "head"])
          .where("source", "=", stored)
          .orderBy("path")
          .execute();
      let rows = await read(this.#mine + source);
      if (rows.length === 0 && this.#mine !== "") rows = await read(source);
      return rows.map((r) =>
        Object.freeze({ source, path: r.path, inode: r.inode, offset: r.offset, head: r.head }),
      );
    });
  }

  detectionState(now: number): Promise<DetectionStateRecord[]> {
    return this.#guard("detectionState", async () => {
      const rows = await this.#db
        .selectFrom("detection_state")
        .select(["scenario", "key", "state", "expires_at"])
        .where("expires_at", ">", now)
        .orderBy("scenario")
        .orderBy("key")
        .execute();
      const record = (r: (typeof rows)[number], scenario: string): DetectionStateRecord =>
        Object.freeze({ scenario, key: r.key, state: r.state, expiresAt: r.expires_at });
      const mine = this.#mine;
      if (mine === "") return rows.map((r) => record(r, r.scenario));
      const own = rows.filter((r) => r.scenario.startsWith(mine));
      if (own.length > 0) return own.map((r) => record(r, r.scenario.slice(mine.length)));
      // No state of this node yet: what was saved before nodes had names, once.
      return rows.filter((r) => !r.scenario.includes("@")).map((r) => record(r, r.scenario));
    });
  }

  addApiKey(key: ApiKeyRecord): Promise<void> {
    return this.#guard("addApiKey", async () => {
      await this.#db
        .insertInto("api_keys")
        .values({
          id: key.id,
          name: key.name,
          role: key.role,
          hash: key.hash,
          created_at: key.createdAt,
        })
        .execute();
    });
  }

  findApiKey(id: string): Promise<ApiKeyRecord | undefined> {
    return this.#guard("findApiKey", async () => {
      const row = await this.#db
        .selectFrom("api_keys")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row === undefined ? undefined : toApiKey(row);
    });
  }

  listApiKeys(): Promise<ApiKeyRecord[]> {
    return this.#guard("listApiKeys", async () => {
      const rows = await this.#db
        .selectFrom("api_keys")
        .selectAll()
        .orderBy("created_at")
        .orderBy("id")
        .execute();
      return rows.map(toApiKey);
    });
  }

  deleteApiKey(id: string): Promise<boolean> {
    return this.#guard("deleteApiKey", () =>
      this.#db.transaction().execute(async (tx) => {
        await tx.deleteFrom("bouncer_pulls").where("key_id", "=", id).execute();
        const result = await tx.deleteFrom("api_keys").where("id", "=", id).executeTakeFirst();
        return result.numDeletedRows > 0n;
      }),
    );
  }

  bouncerPull(keyId: string): Promise<number | undefined> {
    return this.#guard("bouncerPull", async () => {
      const row = await this.#db
        .selectFrom("bouncer_pulls")
        .select("pulled_at")
        .where("key_id", "=", keyId)
        .executeTakeFirst();
      return row === undefined ? undefined : row.pulled_at;
    });
  }

  saveBouncerPull(keyId: string, at: number): Promise<void> {
    return this.#guard("saveBouncerPull", async () => {
      await this.#db
        .insertInto("bouncer_pulls")
        .values({ key_id: keyId, pulled_at: at })
        .onConflict((oc) => oc.column("key_id").doUpdateSet({ pulled_at: at }))
        .execute();
    });
  }

  findAccount(id: string): Promise<AccountRecord | undefined> {
    return this.#guard("findAccount", async () => {
      const row = await this.#db
        .selectFrom("accounts")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row === undefined ? undefined : toAccount(row);
    });
  }

  listAccounts(query: {
    readonly state: string;
    readonly sinceBefore: number;
    readonly limit: number;
  }): Promise<AccountRecord[]> {
    return this.#guard("listAccounts", async () => {
      const rows = await this.#db
        .selectFrom("accounts")
        .selectAll()
        .where("state", "=", query.state)
        .where("since", "<", query.sinceBefore)
        .orderBy("since")
        .orderBy("id")
        .limit(query.limit)
        .execute();
      return rows.map(toAccount);
    });
  }

  accountCauses(account: string): Promise<AccountCauseRecord[]> {
    return this.#guard("accountCauses", async () => {
      const rows = await this.#db
        .selectFrom("account_causes")
        .selectAll()
        .where("account", "=", account)
        .execute();
      return rows.map((r) => Object.freeze({ ...r }));
    });
  }

  accountHistory(account: string, limit: number): Promise<AccountHistoryRecord[]> {
    return this.#guard("accountHistory", async () => {
      const rows = await this.#db
        .selectFrom("account_history")
        .selectAll()
        .where("account", "=", account)
        .orderBy("seq", "desc")
        .limit(limit)
        .execute();
      return rows.map((r) =>
        Object.freeze({
          account: r.account,
          seq: r.seq,
          at: r.at,
          event: r.event,
          cause: r.cause,
          from: r.from_state,
          to: r.to_state,
          outcome: member(OUTCOMES, r.outcome, "account_history.outcome"),
          reason: r.reason,
          by: r.by,
          recordedAt: r.recorded_at,
        }),
      );
    });
  }

  writeAccount(write: AccountWrite): Promise<AccountWriteOutcome> {
    return this.#guard("writeAccount", async () => {
      const { account: a, expectedVersion, cause, history } = write;
      if (a.version !== expectedVersion + 1)
        throw new Error(`account version ${a.version} does not follow ${expectedVersion}`);
      try {
        await this.#db.transaction().execute(async (trx) => {
          // The account row first: on PostgreSQL its update locks the row, so a concurrent
          // writer waits here, then finds the version moved and backs off.
          const row = fromAccount(a);
          const moved =
            expectedVersion === 0
              ? await trx
                  .insertInto("accounts")
                  .values(row)
                  .onConflict((oc) => oc.column("id").doNothing())
                  .executeTakeFirst()
                  .then((r) => Number(r.numInsertedOrUpdatedRows ?? 0n))
              : await trx
                  .updateTable("accounts")
                  .set(row)
                  .where("id", "=", a.id)
                  .where("version", "=", expectedVersion)
                  .executeTakeFirst()
                  .then((r) => Number(r.numUpdatedRows));
          if (moved !== 1) throw ROLLBACK_CONFLICT;
          if (cause !== undefined) {
            const inserted = await trx
              .insertInto("account_causes")
              .values({ ...cause })
              .onConflict((oc) => oc.columns(["account", "id"]).doNothing())
              .executeTakeFirst();
            if (Number(inserted.numInsertedOrUpdatedRows ?? 0n) !== 1) throw ROLLBACK_DUPLICATE;
          }
          if (history.length > 0)
            await trx
              .insertInto("account_history")
              .values(
                history.map((h) => ({
                  account: h.account,
                  seq: h.seq,
                  at: h.at,
                  event: h.event,
                  cause: h.cause,
                  from_state: h.from,
                  to_state: h.to,
                  outcome: h.outcome,
                  reason: h.reason,
                  by: h.by,
                  recorded_at: h.recordedAt,
                })),
              )
              .execute();
        });
      } catch (e) {
        if (e === ROLLBACK_CONFLICT) return "conflict";
        if (e === ROLLBACK_DUPLICATE) return "duplicate";
        throw e;
      }
      return "ok";
    });
  }

  addAccountLinks(links: readonly AccountLink[]): Promise<void> {
    return this.#guard("addAccountLinks", async () => {
      const rows = uniqueBy(links, (l) => `${l.provider}\u0000${l.kind}\u0000${l.ref}`, "first");
      if (rows.length === 0) return;
      await this.#db
        .insertInto("account_links")
        .values(
          rows.map((l) => ({
            provider: l.provider,
            kind: l.kind,
            ref: l.ref,
            account: l.account,
            created_at: l.createdAt,
          })),
        )
        .onConflict((oc) => oc.columns(["provider", "kind", "ref"]).doNothing())
        .execute();
    });
  }

  findAccountLink(provider: string, kind: string, ref: string): Promise<string | undefined> {
    return this.#guard("findAccountLink", async () => {
      const row = await this.#db
        .selectFrom("account_links")
        .select("account")
        .where("provider", "=", provider)
        .where("kind", "=", kind)
        .where("ref", "=", ref)
        .executeTakeFirst();
      return row?.account;
    });
  }

  addWebhookEvent(event: WebhookEventRecord): Promise<boolean> {
    return this.#guard("addWebhookEvent", async () => {
      const r = await this.#db
        .insertInto("webhook_events")
        .values({
          provider: event.provider,
          id: event.id,
          received_at: event.receivedAt,
          account: event.account,
          outcome: event.outcome,
        })
        .onConflict((oc) => oc.columns(["provider", "id"]).doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
    });
  }

  hasWebhookEvent(provider: string, id: string): Promise<boolean> {
    return this.#guard("hasWebhookEvent", async () => {
      const row = await this.#db
        .selectFrom("webhook_events")
        .select("id")
        .where("provider", "=", provider)
        .where("id", "=", id)
        .executeTakeFirst();
      return row !== undefined;
    });
  }

  addPendingWebhookEvent(event: PendingWebhookEvent): Promise<void> {
    return this.#guard("addPendingWebhookEvent", async () => {
      const links = uniqueBy(event.links, (l) => `${l.kind}\u0000${l.ref}`, "first");
      if (links.length === 0) return;
      await this.#db
        .insertInto("webhook_pending")
        .values(
          links.map((l) => ({
            provider: event.provider,
            kind: l.kind,
            ref: l.ref,
            id: event.id,
            received_at: event.receivedAt,
            payload: event.payload,
          })),
        )
        .onConflict((oc) => oc.columns(["provider", "kind", "ref", "id"]).doNothing())
        .execute();
    });
  }

  pendingWebhookEvents(
    provider: string,
    kind: string,
    ref: string,
  ): Promise<{ id: string; payload: string }[]> {
    return this.#guard("pendingWebhookEvents", async () => {
      const rows = await this.#db
        .selectFrom("webhook_pending")
        .select(["id", "payload"])
        .where("provider", "=", provider)
        .where("kind", "=", kind)
        .where("ref", "=", ref)
        .orderBy("received_at")
        .orderBy("id")
        .execute();
      return rows.map((r) => ({ id: r.id, payload: r.payload }));
    });
  }

  removePendingWebhookEvent(provider: string, id: string): Promise<void> {
    return this.#guard("removePendingWebhookEvent", async () => {
      await this.#db
        .deleteFrom("webhook_pending")
        .where("provider", "=", provider)
        .where("id", "=", id)
        .execute();
    });
  }

  prunePendingWebhookEvents(before: number): Promise<number> {
    return this.#guard("prunePendingWebhookEvents", async () => {
      const gone = await this.#db
        .selectFrom("webhook_pending")
        .select(["provider", "id"])
        .distinct()
        .where("received_at", "<", before)
        .execute();
      if (gone.length > 0)
        await this.#db.deleteFrom("webhook_pending").where("received_at", "<", before).execute();
      return gone.length;
    });
  }

  addReports(reports: readonly ReportRecord[]): Promise<number> {
    return this.#guard("addReports", () => insertReports(this.#db, this.#bulk, reports));
  }

  listReports(query: ReportQuery): Promise<ReportRecord[]> {
    return this.#guard("listReports", async () => {
      let q = this.#db.selectFrom("reports").selectAll();
      if (query.ip !== undefined) q = q.where("ip", "=", query.ip);
      if (query.reporter !== undefined) q = q.where("reporter", "=", query.reporter);
      if (query.since !== undefined) q = q.where("created_at", ">=", query.since);
      q = q.orderBy("created_at", "desc").orderBy("id", "desc");
      if (query.limit !== undefined) q = q.limit(query.limit);
      return (await q.execute()).map(toReport);
    });
  }

  async forEachReport(since: number, each: (r: ReportRecord) => void): Promise<number> {
    let count = 0;
    let after: ReportCursor | undefined;
    for (;;) {
      const rows = await this.#guard("forEachReport", () =>
        this.#reportsAfter(after, this.#pageRows, since).execute(),
      );
      for (const row of rows) each(toReport(row));
      count += rows.length;
      const last = rows.at(-1);
      if (last === undefined || rows.length < this.#pageRows) return count;
      after = { time: last.created_at, id: last.id };
    }
  }

  ownReportsAfter(after: ReportCursor | undefined, limit: number): Promise<ReportRecord[]> {
    return this.#guard("ownReportsAfter", async () => {
      const rows = await this.#reportsAfter(after, limit, undefined)
        .where("reporter", "not like", "peer:%")
        .execute();
      return rows.map(toReport);
    });
  }

  /** Reports in (created_at, id) order after a cursor: a range of the (created_at, id) index. */
  #reportsAfter(after: ReportCursor | undefined, limit: number, since: number | undefined) {
    let q = this.#db.selectFrom("reports").selectAll();
    if (since !== undefined) q = q.where("created_at", ">=", since);
    if (after !== undefined) {
      const { time, id } = after;
      q = q.where((eb) => eb(eb.refTuple("created_at", "id"), ">", eb.tuple(time, id)));
    }
    return q.orderBy("created_at").orderBy("id").limit(limit);
  }

  pruneReports(before: number): Promise<number> {
    return this.#guard("pruneReports", async () => {
      const r = await this.#db.deleteFrom("reports").where("created_at", "<", before).execute();
      return Number(r[0]?.numDeletedRows ?? 0n);
    });
  }

  deleteReports(ip: string): Promise<ReportRecord[]> {
    return this.#guard("deleteReports", () =>
      this.#db.transaction().execute(async (trx) => {
        const rows = await trx.selectFrom("reports").selectAll().where("ip", "=", ip).execute();
        if (rows.length > 0) await trx.deleteFrom("reports").where("ip", "=", ip).execute();
        return rows.map(toReport);
      }),
    );
  }

  addAppeal(appeal: AppealRecord): Promise<boolean> {
    return this.#guard("addAppeal", async () => {
      const r = await this.#db
        .insertInto("appeals")
        .values(fromAppeal(appeal))
        .onConflict((oc) => oc.doNothing())
        .executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
    });
  }

  listAppeals(query: {
    readonly status?: AppealStatus;
    readonly ip?: string;
    readonly limit?: number;
  }): Promise<AppealRecord[]> {
    return this.#guard("listAppeals", async () => {
      let q = this.#db.selectFrom("appeals").selectAll();
      if (query.status !== undefined) q = q.where("status", "=", query.status);
      if (query.ip !== undefined) q = q.where("ip", "=", query.ip);
      q = q.orderBy("created_at", "desc").orderBy("id", "desc");
      if (query.limit !== undefined) q = q.limit(query.limit);
      return (await q.execute()).map(toAppeal);
    });
  }

  findAppeal(id: string): Promise<AppealRecord | undefined> {
    return this.#guard("findAppeal", async () => {
      const row = await this.#db
        .selectFrom("appeals")
        .selectAll()
        .where("id", "=", id)
        .executeTakeFirst();
      return row === undefined ? undefined : toAppeal(row);
    });
  }

  closeAppeal(id: string, close: AppealClose): Promise<AppealRecord | undefined> {
    return this.#guard("closeAppeal", () =>
      this.#db.transaction().execute(async (trx) => {
        // Only an open one: of two operators answering at once, the first answer stands.
        const r = await trx
          .updateTable("appeals")
          .set({ status: close.status, closed_at: close.at, closed_by: close.by, note: close.note })
          .where("id", "=", id)
          .where("status", "=", "open")
          .executeTakeFirst();
        if (Number(r.numUpdatedRows) === 0) return undefined;
        const row = await trx
          .selectFrom("appeals")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirstOrThrow();
        return toAppeal(row);
      }),
    );
  }

  pruneAppeals(before: number): Promise<number> {
    return this.#guard("pruneAppeals", async () => {
      const r = await this.#db
        .deleteFrom("appeals")
        .where("status", "!=", "open")
        .where("closed_at", "<", before)
        .execute();
      return Number(r[0]?.numDeletedRows ?? 0n);
    });
  }

  addAbuseReports(reports: readonly AbuseReportRecord[]): Promise<void> {
    return this.#guard("addAbuseReports", async () => {
      if (reports.length === 0) return;
      await this.#bulk.run(
        this.#db,
        insertAbuseReportsStatement,
        uniqueBy(reports, (r) => r.id, "first").map(fromAbuseReport),
      );
    });
  }

  listAbuseReports(query: {
    readonly status?: AbuseReportStatus;
    readonly limit?: number;
    readonly oldest?: boolean;
  }): Promise<AbuseReportRecord[]> {
    return this.#guard("listAbuseReports", async () => {
      let q = this.#db.selectFrom("abuse_reports").selectAll();
      if (query.status !== undefined) q = q.where("status", "=", query.status);
      const order = query.oldest === true ? "asc" : "desc";
      q = q.orderBy("created_at", order).orderBy("id", order);
      if (query.limit !== undefined) q = q.limit(query.limit);
      return (await q.execute()).map(toAbuseReport);
    });
  }

  updateAbuseReports(ids: readonly string[], update: AbuseReportUpdate): Promise<void> {
    return this.#guard("updateAbuseReports", async () => {
      for (let i = 0; i < ids.length; i += 1000)
        await this.#db
          .updateTable("abuse_reports")
          .set((eb) => ({
            status: update.status,
            contact: update.contact,
            note: update.note,
            sent_at: update.sentAt,
            attempts: eb("attempts", "+", 1),
          }))
          .where("id", "in", ids.slice(i, i + 1000))
          .execute();
    });
  }

  pruneAbuseReports(before: number): Promise<number> {
    return this.#guard("pruneAbuseReports", async () => {
      const r = await this.#db
        .deleteFrom("abuse_reports")
        .where("status", "!=", "pending")
        .where("created_at", "<", before)
        .execute();
      return Number(r[0]?.numDeletedRows ?? 0n);
    });
  }

  abuseContact(prefix: string): Promise<AbuseContactRecord | undefined> {
    return this.#guard("abuseContact", async () => {
      const row = await this.#db
        .selectFrom("abuse_contacts")
        .selectAll()
        .where("prefix", "=", prefix)
        .executeTakeFirst();
      return row === undefined
        ? undefined
        : {
            prefix: row.prefix,
            contact: row.contact,
            network: row.network,
            lookedUpAt: row.looked_up_at,
          };
    });
  }

  saveAbuseContact(c: AbuseContactRecord): Promise<void> {
    return this.#guard("saveAbuseContact", async () => {
      const values = {
        prefix: c.prefix,
        contact: c.contact,
        network: c.network,
        looked_up_at: c.lookedUpAt,
      };
      await this.#db
        .insertInto("abuse_contacts")
        .values(values)
        .onConflict((oc) =>
          oc.column("prefix").doUpdateSet({
            contact: c.contact,
            network: c.network,
            looked_up_at: c.lookedUpAt,
          }),
        )
        .execute();
    });
  }

  peerCursor(peer: string): Promise<string | undefined> {
    return this.#guard("peerCursor", async () => {
      const row = await this.#db
        .selectFrom("reputation_peers")
        .select("cursor")
        .where("name", "=", peer)
        .executeTakeFirst();
      return row?.cursor;
    });
  }

  savePeerCursor(peer: string, cursor: string, at: number): Promise<void> {
    return this.#guard("savePeerCursor", async () => {
      await this.#db
        .insertInto("reputation_peers")
        .values({ name: peer, cursor, pulled_at: at })
        .onConflict((oc) => oc.column("name").doUpdateSet({ cursor, pulled_at: at }))
        .execute();
    });
  }

  async #guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      if (e instanceof RempartError) throw e;
      throw new RempartError(
        "STORAGE_FAILED",
        `${this.#label}: ${operation} failed: ${messageOf(e)}`,
        { cause: e },
      );
    }
  }
}

type Executor = Kysely<Database>;

// Column order in `values()` is the order of the row object's keys, which `bind` repeats;
// BulkWriter checks the two agree the first time it compiles each statement.

const insertDecisionsStatement: BulkStatement<Database, DecisionsTable> = {
  name: "insert decisions",
  perRow: 12,
  // A decision is immutable: the same id again is a retry, not an update.
  build: (db, rows) =>
    db
      .insertInto("decisions")
      .values(rows)
      .onConflict((oc) => oc.column("id").doNothing()),
  bind: rowValues,
};

const markDeletedStatement: BulkStatement<Database, { id: string; at: number }> = {
  name: "mark decisions deleted",
  perRow: 1,
  build: (db, rows) =>
    db
      .updateTable("decisions")
      .set({ deleted_at: rows[0]?.at ?? 0 })
      .where(
        "id",
        "in",
        rows.map((r) => r.id),
      )
      .where("deleted_at", "is", null),
  bind: (rows) => [rows[0]?.at ?? 0, ...rows.map((r) => r.id)],
};

const insertAlertsStatement: BulkStatement<Database, AlertsTable> = {
  name: "insert alerts",
  perRow: 10,
  build: (db, rows) =>
    db
      .insertInto("alerts")
      .values(rows)
      .onConflict((oc) => oc.column("id").doNothing()),
  bind: rowValues,
};

const insertReportsStatement: BulkStatement<Database, ReportsTable> = {
  name: "insert reports",
  perRow: 7,
  build: (db, rows) =>
    db
      .insertInto("reports")
      .values(rows)
      .onConflict((oc) => oc.column("id").doNothing()),
  bind: rowValues,
};

const insertAbuseReportsStatement: BulkStatement<Database, AbuseReportsTable> = {
  name: "insert abuse reports",
  perRow: 11,
  build: (db, rows) =>
    db
      .insertInto("abuse_reports")
      .values(rows)
      .onConflict((oc) => oc.column("id").doNothing()),
  bind: rowValues,
};

const upsertPositionsStatement: BulkStatement<Database, SourcePositionsTable> = {
  name: "upsert positions",
  perRow: 6,
  build: (db, rows) =>
    db
      .insertInto("source_positions")
      .values(rows)
      .onConflict((oc) =>
        oc.columns(["source", "path"]).doUpdateSet((eb) => ({
          inode: eb.ref("excluded.inode"),
          offset: eb.ref("excluded.offset"),
          head: eb.ref("excluded.head"),
          updated_at: eb.ref("excluded.updated_at"),
        })),
      ),
  bind: rowValues,
};

const upsertStateStatement: BulkStatement<Database, DetectionStateTable> = {
  name: "upsert detection state",
  perRow: 4,
  build: (db, rows) =>
    db
      .insertInto("detection_state")
      .values(rows)
      .onConflict((oc) =>
        oc.columns(["scenario", "key"]).doUpdateSet((eb) => ({
          state: eb.ref("excluded.state"),
          expires_at: eb.ref("excluded.expires_at"),
        })),
      ),
  bind: rowValues,
};

const deleteStateStatement: BulkStatement<Database, { scenario: string; key: string }> = {
  name: "delete detection state",
  perRow: 2,
  build: (db, rows) =>
    db.deleteFrom("detection_state").where((eb) =>
      eb(
        eb.refTuple("scenario", "key"),
        "in",
        rows.map((r) => eb.tuple(r.scenario, r.key)),
      ),
    ),
  bind: (rows) => rows.flatMap((r) => [r.scenario, r.key]),
};

async function insertDecisions(
  db: Executor,
  bulk: BulkWriter,
  decisions: readonly Decision[],
): Promise<void> {
  const rows = uniqueBy(decisions, (d) => d.id, "first").map(fromDecision);
  await bulk.run(db, insertDecisionsStatement, rows);
}

function insertReports(
  db: Executor,
  bulk: BulkWriter,
  reports: readonly ReportRecord[],
): Promise<number> {
  return bulk.run(
    db,
    insertReportsStatement,
    uniqueBy(reports, (r) => r.id, "first").map(fromReport),
  );
}

function markDeleted(
  db: Executor,
  bulk: BulkWriter,
  ids: readonly string[],
  at: number,
): Promise<number> {
  const rows = [...new Set(ids)].map((id) => ({ id, at }));
  return bulk.run(db, markDeletedStatement, rows);
}

async function insertAlerts(
  db: Executor,
  bulk: BulkWriter,
  alerts: readonly Alert[],
): Promise<void> {
  const rows = uniqueBy(alerts, (a) => a.id, "first").map(fromAlert);
  await bulk.run(db, insertAlertsStatement, rows);
}

async function upsertPositions(
  db: Executor,
  bulk: BulkWriter,
  positions: readonly SourcePosition[],
  now: number,
): Promise<void> {
  // PostgreSQL refuses to update one row twice in a statement: the last position wins.
  const rows = uniqueBy(positions, (p) => `${p.source}\u0000${p.path}`, "last").map((p) => ({
    source: p.source,
    path: p.path,
    inode: p.inode,
    offset: p.offset,
    head: p.head,
    updated_at: now,
  }));
  await bulk.run(db, upsertPositionsStatement, rows);
}

async function writeState(
  db: Executor,
  bulk: BulkWriter,
  records: readonly DetectionStateRecord[],
): Promise<void> {
  const latest = uniqueBy(records, (r) => `${r.scenario}\u0000${r.key}`, "last");
  const upserts = latest
    .filter((r) => r.state !== "")
    .map((r) => ({ scenario: r.scenario, key: r.key, state: r.state, expires_at: r.expiresAt }));
  const deletions = latest
    .filter((r) => r.state === "")
    .map((r) => ({ scenario: r.scenario, key: r.key }));
  await bulk.run(db, upsertStateStatement, upserts);
  await bulk.run(db, deleteStateStatement, deletions);
}

function rowValues(rows: readonly object[]): unknown[] {
  return rows.flatMap((r) => Object.values(r) as unknown[]);
}

function groupDeletions(deletions: Checkpoint["deletedDecisions"]): Map<number, string[]> {
  const byTime = new Map<number, string[]>();
  for (const { id, at } of deletions) {
    const ids = byTime.get(at);
    if (ids === undefined) byTime.set(at, [id]);
    else ids.push(id);
  }
  return byTime;
}

function uniqueBy<T>(items: readonly T[], key: (item: T) => string, keep: "first" | "last"): T[] {
  const seen = new Map<string, T>();
  for (const item of items) {
    const k = key(item);
    if (keep === "last") seen.delete(k);
    if (keep === "last" || !seen.has(k)) seen.set(k, item);
  }
  return [...seen.values()];
}

function fromDecision(d: Decision): DecisionsTable {
  return {
    id: d.id,
    action: d.action,
    scope: d.scope,
    value: d.value,
    created_at: d.createdAt,
    expires_at: d.expiresAt,
    deleted_at: null,
    origin: d.origin,
    scenario: d.scenario,
    reason: d.reason,
    offence: d.offence,
    tz_offset: d.tzOffset,
  };
}

/** Shares the repeated texts among the rows of one long read (bounded: reasons may be unique). */
class SharedStrings {
  readonly #seen = new Map<string, string>();

  get(s: string): string {
    const seen = this.#seen.get(s);
    if (seen !== undefined) return seen;
    if (this.#seen.size < 4096) this.#seen.set(s, s);
    return s;
  }
}

function toDecision(r: Selectable<DecisionsTable>, strings?: SharedStrings): Decision {
  return Object.freeze({
    id: r.id,
    action: member(ACTIONS, r.action, "decisions.action"),
    scope: member(SCOPES, r.scope, "decisions.scope"),
    value: r.value,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    origin: member(ORIGINS, r.origin, "decisions.origin"),
    scenario: strings ? strings.get(r.scenario) : r.scenario,
    reason: strings ? strings.get(r.reason) : r.reason,
    offence: r.offence,
    tzOffset: r.tz_offset,
  });
}

function fromAlert(a: Alert): AlertsTable {
  return {
    id: a.id,
    scenario: a.scenario,
    scope: a.scope,
    value: a.value,
    at: a.at,
    tz_offset: a.tzOffset,
    count: a.count,
    message: a.message,
    evidence: JSON.stringify(a.evidence),
    decisions: JSON.stringify(a.decisions),
  };
}

function toAlert(r: Selectable<AlertsTable>): Alert {
  return Object.freeze({
    id: r.id,
    scenario: r.scenario,
    scope: member(SCOPES, r.scope, "alerts.scope"),
    value: r.value,
    at: r.at,
    tzOffset: r.tz_offset,
    count: r.count,
    message: r.message,
    evidence: Object.freeze(jsonArray(r.evidence, "alerts.evidence") as AlertEvidence[]),
    decisions: Object.freeze(
      jsonArray(r.decisions, "alerts.decisions").filter((d) => typeof d === "string"),
    ),
  });
}

function fromAccount(a: AccountRecord): AccountsTable {
  return {
    id: a.id,
    state: a.state,
    since: a.since,
    memory: a.memory,
    last_time: a.lastTime,
    history: a.history,
    version: a.version,
    updated_at: a.updatedAt,
  };
}

function fromReport(r: ReportRecord): ReportsTable {
  return {
    id: r.id,
    created_at: r.time,
    ip: r.ip,
    categories: categoryMask(r.categories),
    weight: r.weight,
    reporter: r.reporter,
    comment: r.comment,
  };
}

function toReport(r: Selectable<ReportsTable>): ReportRecord {
  return {
    id: r.id,
    time: r.created_at,
    ip: r.ip,
    categories: maskCategories(r.categories),
    weight: r.weight,
    reporter: r.reporter,
    comment: r.comment,
  };
}

function fromAbuseReport(r: AbuseReportRecord): AbuseReportsTable {
  return {
    id: r.id,
    created_at: r.createdAt,
    ip: r.ip,
    scenario: r.scenario,
    reason: r.reason,
    categories: categoryMask(r.categories),
    status: r.status,
    contact: r.contact,
    attempts: r.attempts,
    sent_at: r.sentAt,
    note: r.note,
  };
}

function toAbuseReport(r: Selectable<AbuseReportsTable>): AbuseReportRecord {
  return {
    id: r.id,
    createdAt: r.created_at,
    ip: r.ip,
    scenario: r.scenario,
    reason: r.reason,
    categories: maskCategories(r.categories),
    status: member(ABUSE_REPORT_STATUSES, r.status, "abuse_reports.status"),
    contact: r.contact,
    attempts: r.attempts,
    sentAt: r.sent_at,
    note: r.note,
  };
}

function fromAppeal(a: AppealRecord): AppealsTable {
  return {
    id: a.id,
    created_at: a.createdAt,
    ip: a.ip,
    contact: a.contact,
    message: a.message,
    sender: a.sender,
    status: a.status,
    closed_at: a.closedAt,
    closed_by: a.closedBy,
    note: a.note,
  };
}

function toAppeal(r: Selectable<AppealsTable>): AppealRecord {
  return {
    id: r.id,
    createdAt: r.created_at,
    ip: r.ip,
    contact: r.contact,
    message: r.message,
    sender: r.sender,
    status: member(APPEAL_STATUSES, r.status, "appeals.status"),
    closedAt: r.closed_at,
    closedBy: r.closed_by,
    note: r.note,
  };
}

function toAccount(r: Selectable<AccountsTable>): AccountRecord {
  return Object.freeze({
    id: r.id,
    state: r.state,
    since: r.since,
    memory: r.memory,
    lastTime: r.last_time,
    history: r.history,
    version: r.version,
    updatedAt: r.updated_at,
  });
}

function toApiKey(r: Selectable<Database["api_keys"]>): ApiKeyRecord {
  return Object.freeze({
    id: r.id,
    name: r.name,
    role: member(ROLES, r.role, "api_keys.role"),
    hash: r.hash,
    createdAt: r.created_at,
  });
}

// The database is ours, but a value written by a newer version or by hand must fail loudly
// here rather than travel on as a wrongly typed domain value.
/** The list's own string, not the row's copy: a million rows then share one "ban". */
function member<T extends string>(allowed: readonly T[], value: string, column: string): T {
  const i = (allowed as readonly string[]).indexOf(value);
  if (i >= 0) return allowed[i]!;
  throw new Error(`unexpected value in ${column}: ${JSON.stringify(value)}`);
}

function jsonArray(text: string, column: string): unknown[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error(`${column} is not a JSON array`);
  return parsed as unknown[];
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
