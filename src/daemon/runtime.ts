/**
 * What the HTTP API and the CLI's live commands need from a running Rempart. The daemon
 * implements it; the API is tested in-process against a real one built on SQLite in memory.
 */
import type {
  Action,
  Alert,
  AlertQuery,
  Clock,
  Decision,
  DecisionQuery,
  Event,
  Origin,
  Scope,
  Storage,
} from "../core/index.ts";
import type { DecisionFeed, Subject } from "../decisions/index.ts";
import type { AccountBook } from "../guard/accounts/index.ts";
import type { WebhookReceiver } from "../guard/webhooks/index.ts";
import type { AsInfo, GuardService } from "../guard/index.ts";
import type { Appeals, Reputation } from "../reputation/index.ts";
import type { AbuseReporter } from "../reports/index.ts";

export interface ManualDecision {
  readonly action: Action;
  readonly scope: Scope;
  readonly value: string;
  /** null: until deleted. */
  readonly durationMs: number | null;
  readonly reason: string;
  /** Who asked: the API key's name, or "cli". */
  readonly author: string;
  readonly origin?: Origin;
}

export type ManualOutcome =
  | { readonly kind: "created"; readonly decision: Decision }
  | { readonly kind: "merged"; readonly decision: Decision }
  | { readonly kind: "refused"; readonly reason: string };

export interface RuntimeCounters {
  readonly startedAt: number;
  readonly events: number;
  readonly eventsByType: Readonly<Record<string, number>>;
  readonly alerts: number;
  readonly decisionsCreated: number;
  readonly decisionsRefused: number;
  readonly activeDecisions: number;
  readonly parseFailures: number;
  readonly linesRead: number;
  readonly detectionKeys: Readonly<Record<string, number>>;
  /** The last look at Postfix's queue, when the queue watch runs. */
  readonly mailQueue?: {
    readonly total: number;
    readonly byQueue: Readonly<Record<string, number>>;
    readonly senders: readonly { readonly sender: string; readonly count: number }[];
  };
  /** The surge detector's targets and addresses tracked, and the targets under attack now. */
  readonly surge?: {
    readonly targets: number;
    readonly addresses: number;
    readonly underAttack: readonly string[];
  };
  /** The guard's assessments since start, by verdict (when the guard runs). */
  readonly guardVerdicts?: Readonly<Record<"allow" | "challenge" | "verify" | "deny", number>>;
  /** Decisions other nodes on a shared PostgreSQL added and ended here (when sharing). */
  readonly shared?: { readonly added: number; readonly ended: number };
  /** Reputation: addresses and networks scored, and each peer's feed. */
  readonly reputation?: {
    readonly entries: number;
    /** Appeals waiting for an operator's answer. */
    readonly appealsOpen: number;
    /** Reports to abuse desks since start (when enabled). */
    readonly abuseReports?: {
      readonly sent: number;
      readonly messages: number;
      readonly noContact: number;
      readonly failed: number;
    };
    readonly peers: readonly {
      readonly name: string;
      readonly imported: number;
      readonly failures: number;
      readonly lastOk: number | undefined;
    }[];
  };
  /** Enforcer id → its counters by name (the enforcers that keep any). */
  readonly enforcers: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly sources: readonly {
    readonly name: string;
    readonly kind: string;
    readonly paths: readonly string[];
  }[];
}

export interface Runtime {
  readonly clock: Clock;
  readonly storage: Storage;
  /** Active decisions that apply to the subject now (address, its ranges, account, e-mail). */
  check(subject: Subject): readonly Decision[];
  /** Whether another active decision of the same action holds exactly `d`'s subject. */
  heldByAnother(d: Decision): boolean;
  listDecisions(query: DecisionQuery): Promise<Decision[]>;
  addDecision(wish: ManualDecision): Promise<ManualOutcome>;
  /** Deletes an active decision; false when there is none with that id. */
  deleteDecision(id: string): Promise<boolean>;
  /** Feeds application events to detection; durable (and its decisions stored) on return. */
  ingest(events: readonly Event[]): Promise<void>;
  listAlerts(query: AlertQuery): Promise<Alert[]>;
  counters(): RuntimeCounters;
  /** Every change to the active decisions, in order (bouncer streams follow it). */
  readonly feed: DecisionFeed;
  /** The active decisions now. */
  activeDecisions(): readonly Decision[];
  /** Accounts' trust states (docs/guard-accounts.md); absent on a node that does not keep them. */
  readonly accounts?: AccountBook | undefined;
  /** Signed webhooks (GoCardless, generic HMAC); absent when none is configured. */
  readonly webhooks?: WebhookReceiver | undefined;
  /** The address's AS and whether it is a Tor exit, when the guard's network data is loaded. */
  networkOf?(ip: string): { readonly as: AsInfo | undefined; readonly tor: boolean } | undefined;
  /** Scores, reports and the signed feed (docs/reputation.md). */
  readonly reputation?: Reputation | undefined;
  /** Reports to abuse desks (docs/abuse-reports.md); absent unless enabled. */
  readonly abuseReports?: AbuseReporter | undefined;
  /** Public look-ups and appeals (docs/reputation.md); absent where none are taken. */
  readonly appeals?: Appeals | undefined;
  /** Sign-up and form assessment (docs/guard.md); absent on a node that does not run it. */
  readonly guard?: GuardService | undefined;
}
