/**
 * The tables as Kysely sees them. Times are milliseconds since the epoch in `bigint` columns
 * (read back as numbers on both dialects); booleans would be integers; lists are JSON text.
 * Migrations in `migrations/` must produce exactly this shape.
 */
export interface Database {
  decisions: DecisionsTable;
  alerts: AlertsTable;
  source_positions: SourcePositionsTable;
  api_keys: ApiKeysTable;
  detection_state: DetectionStateTable;
  accounts: AccountsTable;
  account_causes: AccountCausesTable;
  account_history: AccountHistoryTable;
  account_links: AccountLinksTable;
  webhook_events: WebhookEventsTable;
  webhook_pending: WebhookPendingTable;
  bouncer_pulls: BouncerPullsTable;
  reports: ReportsTable;
  reputation_peers: ReputationPeersTable;
  appeals: AppealsTable;
  abuse_reports: AbuseReportsTable;
  abuse_contacts: AbuseContactsTable;
}

/** Reports to networks' abuse desks (src/reports). */
export interface AbuseReportsTable {
  id: string;
  created_at: number;
  ip: string;
  scenario: string;
  reason: string;
  categories: number;
  status: string;
  contact: string;
  attempts: number;
  sent_at: number | null;
  note: string;
}

/** Abuse contacts found by RDAP, per /24 or /48. */
export interface AbuseContactsTable {
  prefix: string;
  contact: string;
  network: string;
  looked_up_at: number;
}

/** Appeals: a person asks for an address to be forgiven (src/reputation/appeals.ts). */
export interface AppealsTable {
  id: string;
  created_at: number;
  ip: string;
  contact: string;
  message: string;
  sender: string;
  status: string;
  closed_at: number | null;
  closed_by: string;
  note: string;
}

/** Reports about addresses (src/reputation). */
export interface ReportsTable {
  id: string;
  created_at: number;
  ip: string;
  /** AbuseIPDB's categories as a bit mask (bit n: category n). */
  categories: number;
  weight: number;
  reporter: string;
  comment: string;
}

/** How far each peer's reputation feed was read. */
export interface ReputationPeersTable {
  name: string;
  cursor: string;
  pulled_at: number;
}

/** When each bouncer (by API key) last pulled the decision stream. */
export interface BouncerPullsTable {
  key_id: string;
  pulled_at: number;
}

export interface DecisionsTable {
  id: string;
  action: string;
  scope: string;
  value: string;
  created_at: number;
  expires_at: number | null;
  deleted_at: number | null;
  origin: string;
  scenario: string;
  reason: string;
  offence: number;
  tz_offset: number;
}

export interface AlertsTable {
  id: string;
  scenario: string;
  scope: string;
  value: string;
  at: number;
  tz_offset: number;
  count: number;
  message: string;
  /** JSON array of `AlertEvidence`. */
  evidence: string;
  /** JSON array of decision ids. */
  decisions: string;
}

export interface SourcePositionsTable {
  source: string;
  path: string;
  inode: string;
  offset: number;
  head: string;
  updated_at: number;
}

export interface ApiKeysTable {
  id: string;
  name: string;
  role: string;
  hash: string;
  created_at: number;
}

export interface DetectionStateTable {
  scenario: string;
  key: string;
  state: string;
  expires_at: number;
}

export interface AccountsTable {
  id: string;
  state: string;
  since: number;
  /** JSON object: the state machine's memory. */
  memory: string;
  last_time: number;
  history: number;
  version: number;
  updated_at: number;
}

export interface AccountCausesTable {
  account: string;
  id: string;
  cause: string;
  type: string;
  time: number;
  resource: string;
  by: string;
  /** JSON object. */
  detail: string;
}

export interface AccountHistoryTable {
  account: string;
  seq: number;
  at: number;
  event: string;
  cause: string;
  from_state: string;
  to_state: string;
  outcome: string;
  reason: string;
  by: string;
  recorded_at: number;
}

export interface AccountLinksTable {
  provider: string;
  kind: string;
  ref: string;
  account: string;
  created_at: number;
}

export interface WebhookEventsTable {
  provider: string;
  id: string;
  received_at: number;
  account: string;
  outcome: string;
}

export interface WebhookPendingTable {
  provider: string;
  kind: string;
  ref: string;
  id: string;
  received_at: number;
  payload: string;
}
