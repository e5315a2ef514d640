/**
 * Real Runtimes for the API's tests (imported by tests only): the real decision
 * book and policy, the real detection engine and pipeline with one scenario, and SQLite in
 * memory — decisions and alerts are really stored and looked up, nothing is mocked.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ManualClock,
  type Alert,
  type AlertQuery,
  type Decision,
  type DecisionQuery,
  type Event,
  type Storage,
} from "../core/index.ts";
import { ConfigSchema, type Config } from "../daemon/config.ts";
import { Daemon } from "../daemon/daemon.ts";
import { Pipeline } from "../daemon/pipeline.ts";
import type { ManualDecision, ManualOutcome, Runtime, RuntimeCounters } from "../daemon/runtime.ts";
import {
  DEFAULT_POLICY,
  DecisionBook,
  DecisionFeed,
  DecisionPolicy,
  type Subject,
} from "../decisions/index.ts";
import { DetectionEngine, parseScenarios } from "../detection/index.ts";
import {
  AccountBook,
  AccountsConfigSchema,
  machineOptions,
  movesAccounts,
  type AccountsConfig,
} from "../guard/accounts/index.ts";
import { WebhookReceiver, type WebhooksConfig } from "../guard/webhooks/index.ts";
import { openStorage } from "../storage/index.ts";

/** Three form submissions from one address within a minute: challenge it for an hour. */
const SCENARIO = `
name: form-flood
description: Many form submissions from one address
kind: leaky
filter: type == "form.submit"
key: ip
capacity: 2
leak: 1m
decision:
  action: challenge
  duration: 1h
`;

export const TEST_START = Date.parse("2024-09-28T12:00:00Z");

export interface TestRuntime extends Runtime {
  readonly clock: ManualClock;
  close(): Promise<void>;
}

/** What the guard's account and webhook parts are built with (both runtimes). */
export interface TestRuntimeOptions {
  readonly accounts?: AccountsConfig;
  readonly webhooks?: WebhooksConfig;
  /** The daemon's `reputation` section (the daemon's runtime only). */
  readonly reputation?: Record<string, unknown>;
}

export async function createTestRuntime(options: TestRuntimeOptions = {}): Promise<TestRuntime> {
  const clock = new ManualClock(TEST_START);
  const storage: Storage = await openStorage({ kind: "sqlite", path: ":memory:" }, { clock });
  const accounts = new AccountBook({
    storage,
    machine: machineOptions(options.accounts ?? AccountsConfigSchema.parse({})),
    newId: randomUUID,
    now: () => clock.now(),
  });
  const loaded = parseScenarios(SCENARIO, "test-runtime.yaml");
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const book = new DecisionBook();
  const policy = new DecisionPolicy(DEFAULT_POLICY, book, randomUUID);
  const engine = new DetectionEngine(loaded.scenarios);
  const pending: { decisions: Decision[]; deleted: { id: string; at: number }[]; alerts: Alert[] } =
    { decisions: [], deleted: [], alerts: [] };
  const feed = new DecisionFeed();
  const pipeline = new Pipeline({
    engine,
    policy,
    book,
    newId: randomUUID,
    output: {
      decision: (d) => {
        pending.decisions.push(d);
        feed.push("added", d, d.createdAt);
        if (movesAccounts(d)) void accounts.apply({ kind: "decision", decision: d });
      },
      ended: (d, at, why) => {
        if (why !== "expired") pending.deleted.push({ id: d.id, at });
        feed.push("removed", d, at);
      },
      alert: (a) => pending.alerts.push(a),
    },
  });
  const commit = async (): Promise<void> => {
    const { decisions, deleted, alerts } = pending;
    pending.decisions = [];
    pending.deleted = [];
    pending.alerts = [];
    await storage.commit({
      decisions,
      deletedDecisions: deleted,
      alerts,
      positions: [],
      state: [],
    });
  };

  const ingest = async (events: readonly Event[]): Promise<void> => {
    const sorted = [...events].sort((a, b) => a.time - b.time);
    for (const e of sorted) pipeline.ingest(e);
    await commit();
    await accounts.applyEvents(sorted);
  };

  return {
    clock,
    storage,
    accounts,
    ...(options.webhooks !== undefined && {
      webhooks: new WebhookReceiver({
        config: options.webhooks,
        storage,
        ingest,
        tie: (events) => accounts.applyEvents(events),
      }),
    }),
    check: (subject: Subject) => book.match(subject, clock.now()),
    heldByAnother: (d) => book.heldByAnother(d, clock.now()),
    listDecisions: (query: DecisionQuery) => storage.listDecisions(query),
    async addDecision(wish: ManualDecision): Promise<ManualOutcome> {
      const outcome = policy.decide({
        ...wish,
        origin: wish.origin ?? "manual",
        scenario: wish.author,
        at: clock.now(),
        tzOffset: 0,
      });
      pipeline.countManual(outcome);
      if (outcome.kind !== "created") return outcome;
      for (const old of outcome.replaces) {
        book.remove(old.id);
        pending.deleted.push({ id: old.id, at: clock.now() });
        feed.push("removed", old, clock.now());
      }
      book.add(outcome.decision);
      pending.decisions.push(outcome.decision);
      feed.push("added", outcome.decision, outcome.decision.createdAt);
      await commit();
      return { kind: "created", decision: outcome.decision };
    },
    async deleteDecision(id: string): Promise<boolean> {
      const gone = book.remove(id);
      if (!gone) return false;
      pending.deleted.push({ id, at: clock.now() });
      feed.push("removed", gone, clock.now());
      await commit();
      return true;
    },
    ingest,
    listAlerts: (query: AlertQuery) => storage.listAlerts(query),
    counters(): RuntimeCounters {
      const c = pipeline.counters;
      return {
        startedAt: TEST_START,
        events: c.events,
        eventsByType: { ...c.byType },
        alerts: c.alerts,
        decisionsCreated: c.decisions,
        decisionsRefused: c.refused,
        activeDecisions: book.size,
        parseFailures: 0,
        linesRead: 0,
        detectionKeys: engine.stats().keys,
        enforcers: {},
        sources: [],
      };
    },
    feed,
    activeDecisions: () =>
      [...book.all()].filter((d) => d.expiresAt === null || d.expiresAt > clock.now()),
    close: () => storage.close(),
  };
}

/**
 * The daemon's own Runtime (src/daemon/daemon.ts) on SQLite in a temporary directory, with the
 * same scenario, no sources, and a manual clock: the API's tests run against both.
 */
export async function createDaemonRuntime(options: TestRuntimeOptions = {}): Promise<TestRuntime> {
  const dir = await mkdtemp(join(tmpdir(), "rempart-http-"));
  await writeFile(join(dir, "form-flood.yaml"), SCENARIO);
  const parsed = ConfigSchema.parse({
    data_dir: dir,
    scenarios: { dirs: [dir] },
    ...(options.reputation === undefined ? {} : { reputation: options.reputation }),
  });
  const config: Config = { ...parsed, sources: [], origin: "test", autodetected: false };
  const clock = new ManualClock(TEST_START);
  const daemon = await Daemon.open(config, {
    clock,
    hostAddresses: [],
    log: () => undefined,
    ...(options.accounts === undefined ? {} : { accounts: options.accounts }),
    ...(options.webhooks === undefined ? {} : { webhooks: options.webhooks }),
  });
  return {
    clock,
    storage: daemon.storage,
    accounts: daemon.accounts,
    reputation: daemon.reputation,
    appeals: daemon.appeals,
    abuseReports: daemon.abuseReports,
    ...(daemon.webhooks !== undefined && { webhooks: daemon.webhooks }),
    check: (subject) => daemon.check(subject),
    heldByAnother: (d) => daemon.heldByAnother(d),
    listDecisions: (query) => daemon.listDecisions(query),
    addDecision: (wish) => daemon.addDecision(wish),
    deleteDecision: (id) => daemon.deleteDecision(id),
    ingest: (events) => daemon.ingest(events),
    feed: daemon.feed,
    activeDecisions: () => daemon.activeDecisions(),
    listAlerts: (query) => daemon.listAlerts(query),
    counters: () => daemon.counters(),
    async close() {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
