/**
 * Ports: the interfaces the rest of Rempart implements. `core` depends on nothing in the
 * project; plugins implement these; `daemon` composes them.
 */
import type { AbuseReportStatus } from "./abuse-report.ts";
import type { AppealStatus } from "./appeal.ts";
import type { Action, Alert, AlertEvidence, Decision, Scope } from "./decision.ts";
import type { Event } from "./event.ts";
import type { Result } from "./result.ts";

// ── Parsing ────────────────────────────────────────────────────────────────────────────────

/** Where a line came from, so that an event id is stable across restarts. */
export interface LineOrigin {
  /** Source name (configured) or file path. */
  readonly source: string;
  /** Byte offset of the line's start in the file, or its line number for in-memory input. */
  readonly offset: number;
}

/**
 * Turns one line into zero or more events. A parser instance is stateful (Postfix joins lines
 * by queue id) and owned by one stream; it must bound its own memory.
 *
 * - `ok: true, value: []` — a line understood but carrying nothing of interest (or waiting
 *   to be joined with a later one).
 * - `ok: false` — a line the parser could not read; the caller counts it and goes on.
 *
 * Must never throw on any input.
 */
export interface LineParser {
  readonly id: string;
  parse(line: string, origin: LineOrigin): Result<readonly Event[]>;
}

export interface ParserOptions {
  /** For formats without a year (BSD syslog): the year to assume, else inferred from now. */
  readonly year?: number;
  /** IANA zone for timestamps without an offset; default the host's zone. */
  readonly timeZone?: string;
  /** For nginx/apache: a `log_format` string, when not combined/common. */
  readonly format?: string;
  /** Wall clock used only to infer a missing year (never used by detection). */
  readonly now?: () => number;
}

/**
 * A syslog message with its framing removed, whatever carried it (a file in BSD, RFC 3339 or
 * RFC 5424 framing, or journald's JSON). Program parsers (Postfix, Dovecot) read these.
 */
export interface SyslogRecord {
  readonly time: number;
  readonly tzOffset: number;
  readonly host: string;
  /** The tag without the pid: `postfix/submission/smtpd`, `dovecot`. */
  readonly program: string;
  readonly pid?: number;
  readonly message: string;
}

/** Reads the message of one program family (Postfix, Dovecot). Stateful; never throws. */
export interface MessageParser {
  readonly id: string;
  /** Whether this parser reads messages from this program tag. */
  accepts(program: string): boolean;
  parse(record: SyslogRecord, origin: LineOrigin): Result<readonly Event[]>;
}

/** A parser family, as a plugin. `create` has no side effects. */
export interface ParserPlugin {
  readonly id: string;
  /** Cheap guess whether this line is in this plugin's format (for `--type auto`). */
  sniff(line: string): boolean;
  create(options: ParserOptions): LineParser;
}

// ── Storage ────────────────────────────────────────────────────────────────────────────────

/** A file source's position: reading resumes here after a restart. */
export interface SourcePosition {
  readonly source: string;
  readonly path: string;
  readonly inode: string;
  readonly offset: number;
  /** A fingerprint of the file's first bytes, to recognise copytruncate and reuse of inodes. */
  readonly head: string;
}

export interface DecisionQuery {
  readonly scope?: Scope;
  readonly value?: string;
  readonly action?: Action;
  /** Only decisions active at this time (not expired). */
  readonly activeAt?: number;
  /** Only decisions no longer active at this time: expired by then, or deleted. */
  readonly inactiveAt?: number;
  /** Only decisions created after this time. */
  readonly createdAfter?: number;
  /** Only decisions created at or before this time. */
  readonly createdBy?: number;
  /** Only decisions deleted (by hand, by their list, or replaced) after this time. */
  readonly deletedAfter?: number;
  /** Only these decisions. */
  readonly ids?: readonly string[];
  readonly limit?: number;
}

export interface AlertQuery {
  readonly scenario?: string;
  readonly value?: string;
  readonly since?: number;
  readonly limit?: number;
}

export type ApiRole = "admin" | "sensor" | "bouncer";

export interface ApiKeyRecord {
  readonly id: string;
  readonly name: string;
  readonly role: ApiRole;
  /** SHA-256 of the secret part, hex. The secret itself is never stored. */
  readonly hash: string;
  readonly createdAt: number;
}

/** Detection state that must survive a restart so that a slow attacker cannot start over. */
export interface DetectionStateRecord {
  readonly scenario: string;
  readonly key: string;
  /** The scenario's own serialised state for that key. */
  readonly state: string;
  readonly expiresAt: number;
}

/**
 * One account's trust state as stored (src/guard/accounts owns its meaning). Written only
 * through `writeAccount`, which checks `version` so that two writers never lose each other's step.
 */
export interface AccountRecord {
  readonly id: string;
  readonly state: string;
  /** When it entered `state`, ms. */
  readonly since: number;
  /** The state machine's other memory (resume state, flags, counters), as JSON. */
  readonly memory: string;
  /** The latest time the state accounts for (an event's time, or an expiry), ms. */
  readonly lastTime: number;
  /** How many history rows the account has; the next row is numbered `history + 1`. */
  readonly history: number;
  /** Starts at 1 with the first write; each write adds one. */
  readonly version: number;
  readonly updatedAt: number;
}

/** One cause applied to an account (an event, a verdict, a decision, an operator's action). */
export interface AccountCauseRecord {
  /** Unique per account: a second cause with the same id is a redelivery. */
  readonly id: string;
  readonly account: string;
  /** The canonical cause (`payment.confirmed`), and the type it arrived as (`payments.paid_out`). */
  readonly cause: string;
  readonly type: string;
  /** When it happened (its own time), ms. */
  readonly time: number;
  /** The resource it is about (`payment:PM123`), or "". */
  readonly resource: string;
  /** Who: the API key's name for operator actions, the service or provider otherwise. */
  readonly by: string;
  /** The rest (verdict, reason), as JSON. */
  readonly detail: string;
}

/** One line of an account's history: a change of state, or a cause that changed nothing. */
export interface AccountHistoryRecord {
  readonly account: string;
  /** 1, 2, 3… in the order they were recorded. */
  readonly seq: number;
  /** The time of the cause (or of the expiry), ms. */
  readonly at: number;
  /** The cause's id ("" for time). */
  readonly event: string;
  readonly cause: string;
  readonly from: string;
  readonly to: string;
  /** `applied`: the state (or the state it resumes at) moved; `ignored`: nothing moved. */
  readonly outcome: "applied" | "ignored";
  readonly reason: string;
  readonly by: string;
  readonly recordedAt: number;
}

export interface AccountWrite {
  /** The account as it is after this write; its `version` must be `expectedVersion + 1`. */
  readonly account: AccountRecord;
  /** The version read before; 0 when the account did not exist. */
  readonly expectedVersion: number;
  /** The cause being applied, stored unless its id was seen for this account. */
  readonly cause?: AccountCauseRecord;
  readonly history: readonly AccountHistoryRecord[];
}

/**
 * `duplicate`: the cause's id was already stored for this account (nothing written).
 * `conflict`: another writer changed the account since it was read (nothing written; read again).
 */
export type AccountWriteOutcome = "ok" | "duplicate" | "conflict";

/** A payment provider's object (customer, mandate, payment) known to belong to an account. */
export interface AccountLink {
  readonly provider: string;
  readonly kind: string;
  readonly ref: string;
  readonly account: string;
  readonly createdAt: number;
}

/** A webhook event seen once, kept to recognise redeliveries. */
export interface WebhookEventRecord {
  readonly provider: string;
  readonly id: string;
  readonly receivedAt: number;
  /** The account it was mapped to, or "" when none. */
  readonly account: string;
  readonly outcome: string;
}

/** A ban this site reports to the abuse desk of the network that holds the address. */
export interface AbuseReportRecord {
  /** The decision's id. */
  readonly id: string;
  readonly createdAt: number;
  readonly ip: string;
  readonly scenario: string;
  /** What was seen, as the decision says it. */
  readonly reason: string;
  readonly categories: readonly number[];
  readonly status: AbuseReportStatus;
  /** The abuse desk's e-mail address, once known; empty before, or when there is none. */
  readonly contact: string;
  readonly attempts: number;
  readonly sentAt: number | null;
  /** Why it failed, or what was sent. */
  readonly note: string;
}

/** What a round of abuse reports did to some of them. */
export interface AbuseReportUpdate {
  readonly status: AbuseReportStatus;
  readonly contact: string;
  readonly note: string;
  readonly sentAt: number | null;
}

/** An abuse contact RDAP gave, kept per /24 (IPv4) or /48 (IPv6). */
export interface AbuseContactRecord {
  readonly prefix: string;
  /** Empty: the registry names none. */
  readonly contact: string;
  readonly network: string;
  readonly lookedUpAt: number;
}

/** An operator's answer to an appeal. */
export interface AppealClose {
  readonly status: Exclude<AppealStatus, "open">;
  readonly at: number;
  /** The operator (API key's name). */
  readonly by: string;
  readonly note: string;
}

/** A report that an address misbehaved (src/reputation, docs/reputation.md). */
export interface ReportRecord {
  /**
   * Unique. Rempart's own report of a decision takes the decision's id (two nodes sharing a
   * database write it once); a peer's, `<peer>:<its id>`; a script's, a new UUID.
   */
  readonly id: string;
  /** When it was seen (event time), ms since the epoch. */
  readonly time: number;
  readonly ip: string;
  /** AbuseIPDB's category numbers (docs/reputation.md). */
  readonly categories: readonly number[];
  /** What it adds to the address's score: 1 for a ban, less for lesser decisions and peers. */
  readonly weight: number;
  /** `rempart` (this site's decisions), `key:<name>` (an API key's), `peer:<name>`. */
  readonly reporter: string;
  /** Free text, kept here and never shared with peers; may be empty. */
  readonly comment: string;
}

/** A person's request that an address be forgiven, and the operator's answer. */
export interface AppealRecord {
  readonly id: string;
  readonly createdAt: number;
  /** The address the appeal is about. */
  readonly ip: string;
  /** How to answer the person (an e-mail address, as given); may be empty. */
  readonly contact: string;
  readonly message: string;
  /** The address the appeal was sent from. */
  readonly sender: string;
  readonly status: AppealStatus;
  readonly closedAt: number | null;
  /** The operator (API key's name) who answered; empty while open. */
  readonly closedBy: string;
  /** The operator's answer; empty while open. */
  readonly note: string;
}

export interface ReportQuery {
  readonly ip?: string;
  readonly reporter?: string;
  /** Only reports at or after this time. */
  readonly since?: number;
  readonly limit?: number;
}

/** Where a reader of reports stopped: the last (time, id) it read. */
export interface ReportCursor {
  readonly time: number;
  readonly id: string;
}

/**
 * A webhook event that named no account, kept until one of its links (a payment, a mandate) is
 * tied to an account: it is then applied to that account.
 */
export interface PendingWebhookEvent {
  readonly provider: string;
  readonly id: string;
  readonly receivedAt: number;
  /** The links it waits on: the first of them tied to an account ties it. */
  readonly links: readonly { readonly kind: string; readonly ref: string }[];
  /** The event as the provider's module reads it back (JSON). */
  readonly payload: string;
}

/**
 * Everything that survives a restart. Implemented once with Kysely for SQLite and PostgreSQL;
 * both pass the same contract suite.
 *
 * `commit` writes a checkpoint atomically: decisions, alerts, detection state and source
 * positions together, so a crash never leaves decisions without the positions that produced
 * them (a line is neither read twice nor skipped).
 */
/** What another node sharing the database changed, as this node should apply it. */
export interface SharedChanges {
  /** Added, and still active when read. */
  readonly added: readonly Decision[];
  readonly deleted: readonly { readonly id: string; readonly at: number }[];
}

export interface SharedDecisionHandlers {
  /** Another node's committed changes, in commit order; awaited before the next. */
  changes(c: SharedChanges): void | Promise<void>;
  /** After each (re)connection: changes may have been missed; compare with the database. */
  resync(): Promise<void>;
  log(line: string): void;
}

export interface SharedDecisionWatch {
  stop(): Promise<void>;
}

export interface Storage {
  migrate(): Promise<void>;
  close(): Promise<void>;
  /**
   * On a database several nodes share (PostgreSQL): hands `handlers` the decisions the other
   * nodes add and delete, as they commit them. Absent where one process owns the database
   * (SQLite, which a lock file keeps to one daemon).
   */
  readonly watchDecisions?:
    ((handlers: SharedDecisionHandlers) => Promise<SharedDecisionWatch>) | undefined;

  commit(checkpoint: Checkpoint): Promise<void>;

  addDecisions(decisions: readonly Decision[]): Promise<void>;
  deleteDecisions(ids: readonly string[], at: number): Promise<number>;
  listDecisions(query: DecisionQuery): Promise<Decision[]>;
  /**
   * Hands `each` the decisions `listDecisions` returns, in the same order, as they are read:
   * how the daemon loads a million at start without holding them all as rows and copies.
   * Repeated texts (scenario, reason) are shared among them. Resolves to how many.
   */
  forEachDecision(query: DecisionQuery, each: (d: Decision) => void): Promise<number>;
  /**
   * The ids of the decisions active at `at`, in no particular order: what a node compares its
   * memory with (sharing), without reading whole rows.
   */
  activeDecisionIds(at: number): Promise<string[]>;
  /** How many decisions this subject received since `since` (for escalation). */
  countOffences(scope: Scope, value: string, since: number): Promise<number>;

  listAlerts(query: AlertQuery): Promise<Alert[]>;

  positions(source: string): Promise<SourcePosition[]>;
  detectionState(now: number): Promise<DetectionStateRecord[]>;

  addApiKey(key: ApiKeyRecord): Promise<void>;
  findApiKey(id: string): Promise<ApiKeyRecord | undefined>;
  listApiKeys(): Promise<ApiKeyRecord[]>;
  /** Deletes the key, and its bouncer's last pull. */
  deleteApiKey(id: string): Promise<boolean>;
  /** When the bouncer with this key last pulled the decision stream; undefined: never. */
  bouncerPull(keyId: string): Promise<number | undefined>;
  saveBouncerPull(keyId: string, at: number): Promise<void>;

  findAccount(id: string): Promise<AccountRecord | undefined>;
  /** Accounts in `state` that entered it before `sinceBefore` (for the expiry sweep). */
  listAccounts(query: {
    readonly state: string;
    readonly sinceBefore: number;
    readonly limit: number;
  }): Promise<AccountRecord[]>;
  /** Every cause stored for the account, in no particular order. */
  accountCauses(account: string): Promise<AccountCauseRecord[]>;
  /** The newest `limit` history lines, newest first. */
  accountHistory(account: string, limit: number): Promise<AccountHistoryRecord[]>;
  /** Writes one step atomically (cause, history, account), or nothing: see the outcome. */
  writeAccount(write: AccountWrite): Promise<AccountWriteOutcome>;
  /** Stores links; a link already stored keeps its first account. */
  addAccountLinks(links: readonly AccountLink[]): Promise<void>;
  findAccountLink(provider: string, kind: string, ref: string): Promise<string | undefined>;
  /** Records a webhook event; false when this provider's id was recorded before. */
  addWebhookEvent(event: WebhookEventRecord): Promise<boolean>;
  hasWebhookEvent(provider: string, id: string): Promise<boolean>;
  /** Keeps an event until one of its links is tied; kept again, it changes nothing. */
  addPendingWebhookEvent(event: PendingWebhookEvent): Promise<void>;
  /** The kept events that wait on this link, oldest first. */
  pendingWebhookEvents(
    provider: string,
    kind: string,
    ref: string,
  ): Promise<{ readonly id: string; readonly payload: string }[]>;
  /** Forgets a kept event (all its links). */
  removePendingWebhookEvent(provider: string, id: string): Promise<void>;
  /** Forgets the kept events received before `before`; answers how many. */
  prunePendingWebhookEvents(before: number): Promise<number>;

  /** Stores reports; one whose id is stored already is left as it was. Answers how many were new. */
  addReports(reports: readonly ReportRecord[]): Promise<number>;
  /** Reports newest first. */
  listReports(query: ReportQuery): Promise<ReportRecord[]>;
  /** Hands `each` every report at or after `since`, oldest first; resolves to how many. */
  forEachReport(since: number, each: (r: ReportRecord) => void): Promise<number>;
  /**
   * What this site may tell its peers: its own reports (none of a peer's), oldest first,
   * after `after`, at most `limit`.
   */
  ownReportsAfter(after: ReportCursor | undefined, limit: number): Promise<ReportRecord[]>;
  /** Forgets reports older than `before`; answers how many. */
  pruneReports(before: number): Promise<number>;
  /** Deletes every report about `ip`; answers them (an operator forgave the address). */
  deleteReports(ip: string): Promise<ReportRecord[]>;
  /** Stores an appeal; false when its address has an open one already (nothing stored). */
  addAppeal(appeal: AppealRecord): Promise<boolean>;
  /** Appeals newest first. */
  listAppeals(query: {
    readonly status?: AppealStatus;
    readonly ip?: string;
    readonly limit?: number;
  }): Promise<AppealRecord[]>;
  findAppeal(id: string): Promise<AppealRecord | undefined>;
  /** Closes an open appeal; undefined when there is none open with that id. */
  closeAppeal(id: string, close: AppealClose): Promise<AppealRecord | undefined>;
  /** Deletes the appeals closed before `before` (their contact is personal data). */
  pruneAppeals(before: number): Promise<number>;
  /** Queues reports to abuse desks; one whose id is queued already is left as it was. */
  addAbuseReports(reports: readonly AbuseReportRecord[]): Promise<void>;
  /** Reports to abuse desks, newest first (`oldest`: oldest first). */
  listAbuseReports(query: {
    readonly status?: AbuseReportStatus;
    readonly limit?: number;
    readonly oldest?: boolean;
  }): Promise<AbuseReportRecord[]>;
  /** Sets the status (and contact, note, sending time) of reports; counts an attempt. */
  updateAbuseReports(ids: readonly string[], update: AbuseReportUpdate): Promise<void>;
  /** Deletes the reports made before `before` that are no longer pending. */
  pruneAbuseReports(before: number): Promise<number>;
  abuseContact(prefix: string): Promise<AbuseContactRecord | undefined>;
  saveAbuseContact(contact: AbuseContactRecord): Promise<void>;
  /** How far a peer's feed was read (its opaque cursor), or undefined: never. */
  peerCursor(peer: string): Promise<string | undefined>;
  savePeerCursor(peer: string, cursor: string, at: number): Promise<void>;
}

export interface Checkpoint {
  readonly decisions: readonly Decision[];
  /** This site's reports of its decisions (src/reputation), stored with them. */
  readonly reports?: readonly ReportRecord[];
  readonly deletedDecisions: readonly { readonly id: string; readonly at: number }[];
  readonly alerts: readonly Alert[];
  readonly positions: readonly SourcePosition[];
  /** States to upsert; a record with an empty `state` deletes that key. */
  readonly state: readonly DetectionStateRecord[];
}

// ── Enforcement ────────────────────────────────────────────────────────────────────────────

/** One change to the set of active decisions, numbered in the order it happened. */
export interface DecisionChange {
  /** Strictly increasing within a running daemon. */
  readonly seq: number;
  readonly kind: "added" | "removed";
  readonly decision: Decision;
  /** When it happened (decision time for additions, expiry or deletion time for removals). */
  readonly at: number;
}

/**
 * Makes decisions bite somewhere (a firewall set, a DNS zone, a proxy). The daemon owns the
 * schedule: it calls `resync` once at start and after any failed `apply`, then `apply` with
 * batches of changes in order. An enforcer never sees a change twice in a row without a resync
 * in between, and must be idempotent for a resync.
 *
 * Creating an enforcer has no side effects; `stop` works after a partial start.
 */
export interface Enforcer {
  readonly id: string;
  /**
   * Replaces whatever the enforcement point holds with exactly these active decisions. Read
   * once, as they come: a million of them are never all made at once.
   */
  resync(active: Iterable<Decision>): Promise<void>;
  /** Applies changes in order (deltas). A rejection makes the daemon resync later. */
  apply(changes: readonly DecisionChange[]): Promise<void>;
  stop(): Promise<void>;
}

// ── Detectors ──────────────────────────────────────────────────────────────────────────────

/**
 * What a detector found: an alert about `scope`/`value`, and maybe the decision it asks for.
 * Scenario triggers become findings too, so both reach the policy through one path.
 */
export interface Finding {
  /** The scenario or detector that found it: the alert's and the decision's `scenario`. */
  readonly name: string;
  /** What the alert is about. */
  readonly scope: Scope;
  readonly value: string;
  /** Event time and its offset (the event that made it fire). */
  readonly at: number;
  readonly tzOffset: number;
  readonly count: number;
  /** One line for a person: what was seen, against what. */
  readonly reason: string;
  readonly evidence: readonly AlertEvidence[];
  /** The decision wished for; the policy may still refuse or merge it. None: an alert only. */
  readonly decision?: {
    readonly action: Action;
    readonly scope: Scope;
    readonly value: string;
    /** Automatic decisions always expire. */
    readonly durationMs: number;
  };
}

/**
 * A detector besides the scenario engine (surge detection, say). Called synchronously for every
 * event, in order, after the engine; it reads time only from the events and pushes what it
 * found into `out`. It must not throw on any event and must keep its memory bounded.
 */
export interface Detector {
  process(e: Event, out: Finding[]): void;
}
