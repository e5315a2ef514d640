/**
 * The live daemon: storage, sources, detection, decisions, composed. Everything it decides is
 * committed in checkpoints that also carry the source positions and detection state that led
 * to it, so a `kill -9` loses nothing: after a restart it resumes where the last checkpoint
 * left off, and the lines after it are read once more as if for the first time.
 */
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { join } from "node:path";
import {
  parseDuration,
  systemClock,
  type Alert,
  type AlertQuery,
  type Clock,
  type Decision,
  type DecisionQuery,
  type Event,
  type LineParser,
  type ReportRecord,
  type SourcePosition,
  type SharedDecisionWatch,
  type Storage,
} from "../core/index.ts";
import { DecisionFeed, type Subject } from "../decisions/index.ts";
import { ENFORCER_PLUGINS, type EnforcerService } from "../enforcers/index.ts";
import { startListRefresh, type ListService } from "../lists/index.ts";
import { FileSource } from "../sources/file/index.ts";
import { parserPlugin } from "../sources/index.ts";
import { JournaldSource } from "../sources/journald/index.ts";
import { createMessageDispatcher } from "../sources/syslog/index.ts";
import { buildDetection } from "./compose.ts";
import {
  hostAddresses,
  type Config,
  type FileSourceConfig,
  type JournaldSourceConfig,
} from "./config.ts";
import { Pipeline, type PipelineOutput } from "./pipeline.ts";
import { nodeName } from "./node-name.ts";
import { openConfiguredStorage } from "./storage-config.ts";
import { releaseFreedMemory } from "./release-memory.ts";
import { QueueWatch, readQueue } from "../mail/index.ts";
import {
  AccountBook,
  canonicalCause,
  machineOptions,
  movesAccounts,
  type AccountsConfig,
} from "../guard/accounts/index.ts";
import { WebhookReceiver, type WebhooksConfig } from "../guard/webhooks/index.ts";
import type { ManualDecision, ManualOutcome, Runtime, RuntimeCounters } from "./runtime.ts";
import {
  eventFromSubmission,
  GuardNetworks,
  startGuard,
  type AsInfo,
  type GuardPreparerInit,
  type GuardService,
  type RunningGuard,
} from "../guard/index.ts";
import type { SurgeDetector } from "../guard/surge/index.ts";
import { Appeals, loadSigner, PeerFeeds, Reputation } from "../reputation/index.ts";
import { AbuseReporter, createMailer, RdapClient, type Mailer } from "../reports/index.ts";

export interface DaemonOptions {
  readonly clock?: Clock;
  /** Where progress and problems are written; default stderr. */
  readonly log?: (line: string) => void;
  /** Host addresses never banned; default the machine's interfaces. */
  readonly hostAddresses?: readonly string[];
  /** Account states (guard.accounts); default AccountsConfigSchema's defaults. */
  readonly accounts?: AccountsConfig;
  /** Signed webhooks (guard.webhooks); none when absent. */
  readonly webhooks?: WebhooksConfig;
}

interface Pending {
  decisions: Decision[];
  deleted: { id: string; at: number }[];
  alerts: Alert[];
  positions: Map<string, SourcePosition>;
  /** This site's reports of its decisions, stored with them. */
  reports: ReportRecord[];
}

/** The pipeline's clock, checkpointed with the detection state it belongs to. */
// Scenario names cannot start with "#": no scenario's state is taken for these. (Before, a NUL
// started them, which PostgreSQL's text refuses; a database written then still has that name.)
const CLOCK_RECORD = "#pipeline-clock";
const CLOCK_RECORDS = new Set([CLOCK_RECORD, "\u0000pipeline-clock"]);

/** A source as the daemon drives it, whatever it reads. */
interface RunningSource {
  readonly name: string;
  readonly kind: string;
  readonly paths: readonly string[];
  start(): Promise<void>;
  stop(): Promise<void>;
  lines(): number;
}

/** How often accounts left in pending_email are looked at for expiry. */
const ACCOUNT_SWEEP_MS = 600_000;

/** How soon a live event's decisions and alerts are committed. */
const LIVE_COMMIT_MS = 50;

const emptyPending = (): Pending => ({
  decisions: [],
  deleted: [],
  alerts: [],
  positions: new Map(),
  reports: [],
});

/** How often reports past `reputation.keep` are deleted. */
const REPORT_PRUNE_MS = 6 * 3_600_000;

export class Daemon implements Runtime {
  readonly clock: Clock;
  readonly storage: Storage;
  readonly config: Config;
  readonly #pipeline: Pipeline;
  readonly #log: (line: string) => void;
  readonly #sources: RunningSource[] = [];
  /** Every change to the active decisions, in order: what enforcers and bouncers follow. */
  readonly feed = new DecisionFeed();
  /** Each running enforcer with its plugin's id (the key of its counters). */
  readonly #enforcers: { readonly id: string; readonly service: EnforcerService }[] = [];
  readonly #startedAt: number;
  #pending: Pending = emptyPending();
  /** The other nodes' decisions, on a shared PostgreSQL. */
  #sharedWatch: SharedDecisionWatch | undefined;
  readonly #shared = { added: 0, ended: 0 };
  /** The guard's assessments, by verdict. */
  readonly #verdicts = { allow: 0, challenge: 0, verify: 0, deny: 0 };
  /** This node's name on a shared PostgreSQL (undefined on SQLite). */
  #node: string | undefined;
  /** While a resync reads the database: the decisions this node made or ended meanwhile. */
  #resyncSeen: Set<string> | undefined;
  #committing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #lists: ListService | undefined;
  #parseFailures = 0;
  #lastIngest = 0;
  #liveCommit: NodeJS.Timeout | undefined;
  #liveCommitDue = 0;
  readonly #checkpointMs: number;
  #queueWatch: QueueWatch | undefined;
  #networks: GuardNetworks | undefined;
  #surge: SurgeDetector | undefined;
  #guard: RunningGuard | undefined;
  #guardService: GuardService | undefined;
  readonly #listeners = new Set<(d: Decision, kind: "new" | "ended") => void>();
  /** Accounts' trust states, moved by application events, webhooks and account decisions. */
  readonly accounts: AccountBook;
  webhooks: WebhookReceiver | undefined;
  #accountSweep: NodeJS.Timeout | undefined;
  /** Scores with decay (docs/reputation.md): the guard reads them, the API serves them. */
  readonly reputation: Reputation;
  #peers: PeerFeeds | undefined;
  #reportPrune: NodeJS.Timeout | undefined;
  #appealCount: NodeJS.Timeout | undefined;
  /** People's requests that an address be forgiven (docs/reputation.md). */
  appeals: Appeals | undefined;
  /** Reports to abuse desks (docs/abuse-reports.md), when enabled. */
  abuseReports: AbuseReporter | undefined;
  #mailer: Mailer | undefined;

  private constructor(
    config: Config,
    storage: Storage,
    pipeline: Pipeline,
    clock: Clock,
    log: (line: string) => void,
    accounts: AccountBook,
    reputation: Reputation,
  ) {
    this.accounts = accounts;
    this.reputation = reputation;
    this.config = config;
    this.#checkpointMs = parseDuration(config.checkpoint_interval)!;
    this.storage = storage;
    this.#pipeline = pipeline;
    this.clock = clock;
    this.#log = log;
    this.#startedAt = clock.now();
  }

  /** Opens storage, loads detection and restores what the last run committed. No source is read yet. */
  static async open(config: Config, options: DaemonOptions = {}): Promise<Daemon> {
    const clock = options.clock ?? systemClock;
    const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    const node = config.storage.postgres_url === undefined ? undefined : await nodeName(config);
    const storage = await openConfiguredStorage(config, node === undefined ? {} : { node });
    try {
      // The AS data is made before detection (surge detection reads it), loaded at start.
      const networks = new GuardNetworks(config.guard.networks, config.data_dir, log);
      const detection = await buildDetection(
        config,
        options.hostAddresses ?? hostAddresses(),
        randomUUID,
        { trackChanges: true },
        { config: config.surge, asLookup: networks.as },
      );
      // The pipeline is built before the daemon that receives its output.
      const output: PipelineOutput = {
        decision: () => undefined,
        ended: () => undefined,
        alert: () => undefined,
      };
      const pipeline = new Pipeline({ ...detection, newId: randomUUID, output });
      const accounts = new AccountBook({
        storage,
        machine: machineOptions(options.accounts ?? config.guard.accounts),
        newId: randomUUID,
        now: () => clock.now(),
      });
      const reputation = new Reputation(config.reputation, {
        storage,
        protection: (ip) => detection.policy.protection("ip", ip),
        signer: config.reputation.publish
          ? await loadSigner(config.reputation.key_file ?? join(config.data_dir, "reputation.key"))
          : undefined,
        site: config.node_name ?? node ?? hostname(),
        log,
      });
      const daemon = new Daemon(config, storage, pipeline, clock, log, accounts, reputation);
      daemon.appeals = new Appeals({
        storage,
        decisions: (ip) => daemon.check({ ip }),
        confidence: (ip, now) => reputation.book.confidence(ip, now),
        lift: (id) => daemon.deleteDecision(id),
        forget: (ip) => reputation.forget(ip),
        newId: randomUUID,
        keepMs: parseDuration(config.reputation.keep)!,
      });
      daemon.#node = node;
      daemon.#openAbuseReports();
      daemon.#networks = networks;
      daemon.#surge = detection.surge;
      const webhooks = options.webhooks ?? config.guard.webhooks;
      if (webhooks.gocardless !== undefined || Object.keys(webhooks.hmac).length > 0)
        daemon.webhooks = new WebhookReceiver({
          config: webhooks,
          storage,
          ingest: (events) => daemon.ingest(events),
          tie: (events) => accounts.applyEvents(events),
        });
      output.decision = (d) => daemon.#decided(d);
      output.ended = (d, at, why) => daemon.#ended(d, at, why);
      output.alert = (a) => daemon.#pending.alerts.push(a);
      // Restore as of the pipeline's own clock: when the last run was catching up on old lines,
      // their time, not the wall clock's, says which state and decisions are still live.
      const saved = await storage.detectionState(0);
      const clockRecord =
        saved.find((r) => r.scenario === CLOCK_RECORD) ??
        saved.find((r) => CLOCK_RECORDS.has(r.scenario));
      const now = Math.min(clock.now(), clockRecord ? Number(clockRecord.state) : Infinity);
      if (clockRecord) pipeline.lastEventTime = Number(clockRecord.state);
      // Streamed, not listed: a million decisions are never held twice, as rows and copies.
      const book = detection.book;
      await storage.forEachDecision({ activeAt: now, limit: 10_000_000 }, (d) => book.add(d));
      // Every decision within the escalation memory is an offence: the active ones are in the
      // book already, so only the ended ones are read again.
      const horizon = now - parseDuration(config.policy.escalation.memory)!;
      const policy = detection.policy;
      for (const d of book.all()) if (d.createdAt > horizon) policy.recordOffence(d);
      await storage.forEachDecision(
        { createdAfter: horizon, inactiveAt: now, limit: 10_000_000 },
        (d) => policy.recordOffence(d),
      );
      const live = saved.filter((r) => r.expiresAt > now);
      const restored = detection.engine.restore(live);
      const baselines = detection.surge?.restore(live) ?? 0;
      const reports = await reputation.load(now);
      await daemon.appeals.load(clock.now());
      log(
        `rempart: ${detection.book.size} active decisions, ${restored} detection states${baselines > 0 ? ` and ${baselines} surge baselines` : ""}${reports > 0 ? `, ${reports} reputation reports` : ""} restored (${config.storage.postgres_url ? "PostgreSQL" : "SQLite"})`,
      );
      return daemon;
    } catch (e) {
      await storage.close();
      throw e;
    }
  }

  /** Called with every new and ended decision (enforcers subscribe here). */
  onDecision(listener: (d: Decision, kind: "new" | "ended") => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #decided(d: Decision): void {
    this.#pending.decisions.push(d);
    const report = this.reputation.observe(d);
    if (report !== undefined) this.#pending.reports.push(report);
    this.abuseReports?.observe(d);
    this.#resyncSeen?.add(d.id);
    this.#announce(d);
    if (movesAccounts(d))
      void this.accounts
        .apply({ kind: "decision", decision: d })
        .catch((e: unknown) => this.#log(`rempart: account ${d.value}: ${String(e)}`));
  }

  #ended(d: Decision, at: number, why: "expired" | "replaced" | "deleted"): void {
    if (why !== "expired") this.#pending.deleted.push({ id: d.id, at });
    this.#resyncSeen?.add(d.id);
    this.#announceEnded(d, at);
  }

  /** To the enforcers and listeners: a decision now in force. */
  #announce(d: Decision): void {
    this.feed.push("added", d, d.createdAt);
    for (const l of this.#listeners) l(d, "new");
  }

  /** To the enforcers and listeners: a decision no longer in force. */
  #announceEnded(d: Decision, at: number): void {
    this.feed.push("removed", d, at);
    for (const l of this.#listeners) l(d, "ended");
  }

  /**
   * What another node on the database committed (docs/running.md, "Several nodes"): into this
   * node's memory and enforcers, not written again. Its account moves were the other node's.
   */
  #applyShared(
    added: readonly Decision[],
    deleted: readonly { readonly id: string; readonly at: number }[],
  ): void {
    const book = this.#pipeline.book;
    const now = this.clock.now();
    for (const { id, at } of deleted) {
      const d = book.remove(id);
      if (d === undefined) continue;
      this.#shared.ended++;
      this.#announceEnded(d, at);
    }
    for (const d of added) {
      if (book.get(d.id) !== undefined || (d.expiresAt !== null && d.expiresAt <= now)) continue;
      book.add(d);
      // An offence on another node is one here: escalation counts it, as after a restart;
      // and it is scored here (that node stores its report).
      this.#pipeline.policy.recordOffence(d);
      this.reputation.observe(d);
      this.#shared.added++;
      this.#announce(d);
    }
  }

  /**
   * After the channel was (re)opened, the changes it may have missed: this node's memory made
   * to match the database's active decisions, except for what this node itself decides or
   * ends meanwhile (written by its next checkpoint, not yet readable).
   */
  async #resync(): Promise<void> {
    await this.commit();
    const seen = new Set<string>();
    this.#resyncSeen = seen;
    const book = this.#pipeline.book;
    const now = this.clock.now();
    const missing: Decision[] = [];
    const gone: { id: string; at: number }[] = [];
    try {
      // The ids first, whole rows only for those this node lacks: at a million decisions the
      // rows would cost seconds and hundreds of MB for the few that differ.
      const ids = await this.storage.activeDecisionIds(now);
      const lacking = ids.filter((id) => book.get(id) === undefined);
      for (let i = 0; i < lacking.length; i += 1000)
        missing.push(
          ...(await this.storage.listDecisions({
            ids: lacking.slice(i, i + 1000),
            activeAt: now,
          })),
        );
      const inDatabase = new Set(ids);
      for (const d of book.all())
        if (!inDatabase.has(d.id) && !seen.has(d.id) && (d.expiresAt === null || d.expiresAt > now))
          gone.push({ id: d.id, at: now });
    } finally {
      this.#resyncSeen = undefined;
    }
    const added = missing.filter((d) => !seen.has(d.id));
    this.#applyShared(added, gone);
    if (added.length + gone.length > 0)
      this.#log(
        `rempart: shared decisions: ${added.length} added and ${gone.length} ended after comparing with the database`,
      );
  }

  /** Starts reading the configured sources and the expiry timer. */
  async start(): Promise<void> {
    await this.#startGuard();
    const deps = {
      feed: this.feed,
      book: this.#pipeline.book,
      clock: this.clock,
      log: this.#log,
      ingest: (e: Event) => this.#ingestLive(e),
    };
    const sections = this.config.enforcers as Readonly<Record<string, unknown>>;
    for (const plugin of ENFORCER_PLUGINS) {
      const section = sections[plugin.id];
      if (section === undefined) continue;
      const service = plugin.create(section as never, deps);
      this.#enforcers.push({ id: plugin.id, service });
      await service.start();
    }
    // After the enforcers, which then apply the other nodes' decisions too.
    if (this.storage.watchDecisions !== undefined && this.config.storage.share_decisions)
      this.#sharedWatch = await this.storage.watchDecisions({
        changes: (c) => this.#applyShared(c.added, c.deleted),
        resync: () => this.#resync(),
        log: this.#log,
      });
    for (const s of this.config.sources) {
      const positions = await this.storage.positions(s.name);
      if ("paths" in s) this.#addFileSource(s, positions);
      else this.#addJournaldSource(s, positions);
    }
    for (const s of this.#sources) await s.start();
    this.#timer = setInterval(() => {
      // Catching up on old lines, decisions expire by event time (in ingest), exactly as in
      // replay; the wall clock takes over when the events are current or have stopped coming.
      const now = this.clock.now();
      const current = now - this.#pipeline.lastEventTime < 300_000;
      const idle = now - this.#lastIngest > 10_000;
      if (current || idle) this.#pipeline.expire(now);
      if (this.#pending.deleted.length > 0)
        void this.commit().catch((e: unknown) =>
          this.#log(`rempart: checkpoint failed: ${String(e)}`),
        );
    }, 1000);
    this.#timer.unref();
    // Reads expire accounts lazily; the sweep keeps their history right when nobody reads.
    this.#accountSweep = setInterval(() => {
      this.accounts
        .sweep(this.clock.now())
        .catch((e: unknown) => this.#log(`rempart: account expiry sweep: ${String(e)}`));
    }, ACCOUNT_SWEEP_MS);
    this.#accountSweep.unref();
    this.#lists = startListRefresh(this.config, this, this.#log);
    this.#startReputation();
    // A round every `every`, when abuse reports are enabled.
    this.abuseReports?.start(() => this.clock.now());
    const qw = this.config.mail.queue_watch;
    if (qw !== undefined) {
      const tools = qw.postfix_config_dir === undefined ? {} : { configDir: qw.postfix_config_dir };
      this.#queueWatch = new QueueWatch({
        read: () => readQueue(tools),
        everyMs: parseDuration(qw.every)!,
        now: () => this.clock.now(),
        ingest: (e) => this.#ingestLive(e),
        log: this.#log,
        senderThreshold: qw.sender_threshold,
      });
      this.#queueWatch.start();
    }
    // The book's index defers work to the first look-up in each place a load changed: do it
    // now (45 ms for 1M decisions), not on the first requests' time.
    this.#pipeline.book.settle();
    // Loading the book, the enforcers' resyncs and the guard's AS data leave pages that V8
    // keeps pooled, and would keep for good in a quiet daemon (release-memory.ts).
    releaseFreedMemory();
  }

  /** Peers' feeds, and the deletion of reports past `keep`. */
  #startReputation(): void {
    const config = this.config.reputation;
    this.#reportPrune = setInterval(() => {
      const now = this.clock.now();
      this.reputation
        .prune(now)
        .catch((e: unknown) =>
          this.#log(`rempart: reputation: deleting old reports: ${String(e)}`),
        );
      this.appeals
        ?.prune(now)
        .catch((e: unknown) => this.#log(`rempart: deleting old appeals: ${String(e)}`));
    }, REPORT_PRUNE_MS);
    this.#reportPrune.unref();
    if (this.config.storage.postgres_url !== undefined) {
      // Other nodes take and answer appeals too: /metrics counts them all within a minute.
      this.#appealCount = setInterval(() => {
        this.appeals
          ?.count()
          .catch((e: unknown) => this.#log(`rempart: counting appeals: ${String(e)}`));
      }, 60_000);
      this.#appealCount.unref();
    }
    if (config.peers.length === 0) return;
    this.#peers = new PeerFeeds(config.peers, {
      storage: this.storage,
      book: this.reputation.book,
      protection: (ip) => this.#pipeline.policy.protection("ip", ip),
      now: () => this.clock.now(),
      log: this.#log,
      keepMs: parseDuration(config.keep)!,
    });
    this.#peers.start();
  }

  /** Reports to abuse desks, when enabled (made by `open`, no I/O until a round). */
  #openAbuseReports(): void {
    const config = this.config.abuse_reports;
    if (!config.enabled) return;
    const rdap = new RdapClient({
      bootstrap: config.rdap.bootstrap,
      timeoutMs: parseDuration(config.rdap.timeout)!,
    });
    const mailer = createMailer(config.smtp);
    this.#mailer = mailer;
    this.abuseReports = new AbuseReporter(config, {
      storage: this.storage,
      lookup: (ip) => rdap.abuseContact(ip),
      send: (m) => mailer.send(m),
      protection: (ip) => this.#pipeline.policy.protection("ip", ip),
      now: () => this.clock.now(),
      site: this.config.node_name ?? this.#node ?? hostname(),
      log: this.#log,
    });
  }

  /** What reputation does, for the start-up message. */
  reputationDescription(): string {
    const r = this.config.reputation;
    const parts = [
      `reputation: ${this.reputation.book.size} addresses and networks scored, AbuseIPDB API at /api/v2/`,
    ];
    if (r.publish) parts.push(`feed published at /v1/reputation/feed`);
    if (r.peers.length > 0) parts.push(`reading ${r.peers.map((p) => p.name).join(", ")}`);
    return parts.join("; ");
  }

  #addFileSource(s: FileSourceConfig, positions: readonly SourcePosition[]): void {
    const plugin = parserPlugin(s.type === "auto" ? "syslog" : s.type);
    if (!plugin) throw new Error(`no parser for ${s.type}`); // the schema lists only known types
    const parsers = new Map<string, LineParser>();
    const options = {
      ...(s.year === undefined ? {} : { year: s.year }),
      ...(s.timezone === undefined ? {} : { timeZone: s.timezone }),
      ...(s.format === undefined ? {} : { format: s.format }),
    };
    const source = new FileSource({
      source: s.name,
      paths: s.paths,
      positions,
      from: s.from,
      pollMs: parseDuration(s.poll)!,
      onNotice: (n) => {
        if (n.kind === "unreadable") this.#log(`rempart: source ${s.name}: ${n.error.message}`);
        else if (n.kind === "handler-failed")
          this.#log(`rempart: source ${s.name}: ${n.path}: ${String(n.error)}`);
        else if (n.kind !== "line-truncated")
          this.#log(`rempart: source ${s.name}: ${n.path} ${n.kind}`);
      },
      onBatch: async (batch) => {
        // One parser per file: Postfix joins lines by queue id within a stream.
        let parser = parsers.get(batch.path);
        if (!parser) {
          parser = plugin.create(options);
          parsers.set(batch.path, parser);
        }
        const moving: Event[] = [];
        for (let i = 0; i < batch.lines.length; i++) {
          const line = batch.lines[i]!;
          if (line.length === 0) continue;
          const r = parser.parse(line, {
            source: `${s.name}:${batch.position.inode}`,
            offset: batch.offsets[i]!,
          });
          if (!r.ok) {
            this.#parseFailures++;
            continue;
          }
          for (const e of r.value) this.#ingestLogged(e, moving);
        }
        this.#lastIngest = this.clock.now();
        this.#pending.positions.set(batch.path, batch.position);
        await this.commit();
        await this.#moveAccounts(moving);
      },
    });
    this.#sources.push({
      name: s.name,
      kind: s.type,
      paths: s.paths,
      start: () => source.start(),
      stop: () => source.stop(),
      lines: () => source.stats().lines,
    });
  }

  #addJournaldSource(s: JournaldSourceConfig, positions: readonly SourcePosition[]): void {
    // One dispatcher for the stream: Postfix joins messages by queue id across entries.
    const dispatcher = createMessageDispatcher();
    const source = new JournaldSource({
      source: s.name,
      positions,
      units: s.journald.units,
      identifiers: s.journald.identifiers,
      command: s.journald.command,
      from: s.journald.from,
      ...(s.journald.directory === undefined
        ? {}
        : { extraArgs: ["--directory", s.journald.directory] }),
      onNotice: (n) => {
        if (n.kind === "exited")
          this.#log(
            `rempart: source ${s.name}: journalctl exited (${n.code ?? n.signal ?? "?"}): ${n.stderr.trim()}`,
          );
        else if (n.kind === "spawn-failed")
          this.#log(
            `rempart: source ${s.name}: cannot run ${s.journald.command}: ${String(n.error)}`,
          );
        else if (n.kind === "handler-failed")
          this.#log(`rempart: source ${s.name}: ${String(n.error)}`);
      },
      onBatch: async (batch) => {
        const moving: Event[] = [];
        for (const record of batch.records) {
          const r = dispatcher.dispatch(record, {
            source: `${s.name}:${record.cursor}`,
            offset: 0,
          });
          if (!r.ok) {
            this.#parseFailures++;
            continue;
          }
          for (const e of r.value) this.#ingestLogged(e, moving);
        }
        this.#lastIngest = this.clock.now();
        this.#pending.positions.set(`journald:${s.name}`, batch.position);
        await this.commit();
        await this.#moveAccounts(moving);
      },
    });
    this.#sources.push({
      name: s.name,
      kind: "journald",
      paths: ["journald"],
      start: () => source.start(),
      stop: () => source.stop(),
      lines: () => source.stats().records,
    });
  }

  /** An event read from a log: into detection; kept aside if it moves an account. */
  #ingestLogged(e: Event, moving: Event[]): void {
    this.#pipeline.ingest(e);
    if (e.account !== undefined && canonicalCause(e.type) !== undefined) moving.push(e);
  }

  /**
   * Application events read from a log (`email.confirmed`, `payment.*`…) move their accounts
   * as the same events posted to the API do, once the batch is committed.
   */
  async #moveAccounts(events: readonly Event[]): Promise<void> {
    if (events.length > 0) await this.accounts.applyEvents(events);
  }

  /**
   * An event seen live by an enforcer (a Postfix policy request): into detection now, so the
   * answer can use its decisions; committed within `LIVE_COMMIT_MS` with whatever else came.
   */
  #ingestLive(e: Event): void {
    this.#pipeline.ingest(e);
    this.#lastIngest = this.clock.now();
    const p = this.#pending;
    const decided = p.decisions.length + p.deleted.length + p.alerts.length > 0;
    // Detection state alone waits for the checkpoint interval: at tens of thousands of policy
    // requests a second the same accounts' counters change again and again, and writing each
    // change within 50 ms would stall the answers. A crash loses at most that much counting.
    this.#commitWithin(decided ? LIVE_COMMIT_MS : this.#checkpointMs);
  }

  /** Commits within `ms` (sooner if a commit is already due sooner). */
  #commitWithin(ms: number): void {
    const due = performance.now() + ms;
    if (this.#liveCommit !== undefined) {
      if (this.#liveCommitDue <= due) return;
      clearTimeout(this.#liveCommit);
    }
    this.#liveCommitDue = due;
    this.#liveCommit = setTimeout(() => {
      this.#liveCommit = undefined;
      this.commit().catch((err: unknown) =>
        this.#log(`rempart: checkpoint failed: ${String(err)}`),
      );
    }, ms);
  }

  /** Writes what happened since the last checkpoint, atomically. Serialised. */
  commit(): Promise<void> {
    const run = async (): Promise<void> => {
      const p = this.#pending;
      this.#pending = emptyPending();
      const state = this.#pipeline.engine.takeChanges();
      if (this.#surge !== undefined) state.push(...this.#surge.takeChanges());
      if (state.length > 0) {
        const t = this.#pipeline.lastEventTime;
        state.push({
          scenario: CLOCK_RECORD,
          key: "clock",
          state: String(t),
          expiresAt: Number.MAX_SAFE_INTEGER,
        });
      }
      if (
        p.decisions.length +
          p.deleted.length +
          p.alerts.length +
          p.positions.size +
          p.reports.length +
          state.length ===
        0
      )
        return;
      await this.storage.commit({
        decisions: p.decisions,
        reports: p.reports,
        deletedDecisions: p.deleted,
        alerts: p.alerts,
        positions: [...p.positions.values()],
        state,
      });
    };
    this.#committing = this.#committing.then(run, run);
    return this.#committing;
  }

  async stop(): Promise<void> {
    await this.#sharedWatch?.stop();
    await this.#peers?.stop();
    await this.abuseReports?.stop();
    this.#mailer?.close();
    if (this.#reportPrune) clearInterval(this.#reportPrune);
    if (this.#appealCount) clearInterval(this.#appealCount);
    if (this.#timer) clearInterval(this.#timer);
    if (this.#accountSweep) clearInterval(this.#accountSweep);
    if (this.#liveCommit) clearTimeout(this.#liveCommit);
    await this.#lists?.stop();
    await this.#queueWatch?.stop();
    await this.#networks?.stop();
    await this.#guard
      ?.stop()
      .catch((err: unknown) => this.#log(`rempart: stopping the guard: ${String(err)}`));
    for (const s of this.#sources) await s.stop();
    for (const { service } of this.#enforcers)
      await service
        .stop()
        .catch((err: unknown) => this.#log(`rempart: stopping an enforcer: ${String(err)}`));
    await this.commit().catch((e: unknown) =>
      this.#log(`rempart: last checkpoint failed: ${String(e)}`),
    );
    await this.storage.close();
  }

  // ── Runtime ──────────────────────────────────────────────────────────────────────────────

  async #startGuard(): Promise<void> {
    const networks = this.#networks!;
    this.#guard = await startGuard(this.config.guard, {
      dataDir: this.config.data_dir,
      networks,
      book: this.#pipeline.book,
      ...(this.#surge === undefined ? {} : { surge: this.#surge }),
      reputation: (ip, now) => this.reputation.book.confidence(ip, now),
      live: true,
      log: this.#log,
    });
    networks.watch(this.clock);
    const guard = this.#guard.guard;
    this.#guardService = {
      // The submission feeds detection as an event, and moves its account, as in replay.
      assess: async (s, prepared) => {
        const a = await guard.assess(s, prepared);
        this.#verdicts[a.verdict]++;
        this.#ingestLive(eventFromSubmission(s));
        if (s.account !== undefined)
          await this.accounts.apply({
            kind: "verdict",
            id: s.id,
            account: s.account,
            time: s.time,
            verdict: a.verdict,
            submission: s.kind,
          });
        return a;
      },
      challenge: (form, ip, now) => guard.challenge(form, ip, now),
      token: (form, now, fields) => guard.token(form, now, fields),
      passChallenge: (ip, now) => guard.passChallenge(ip, now),
      earnPass: (payload, ip, now) => guard.earnPass(payload, ip, now),
      hasPass: (values, ip, now) => guard.hasPass(values, ip, now),
    };
  }

  /** What this node shares with others, for the start-up message; undefined on SQLite. */
  sharingDescription(): string | undefined {
    if (this.#node === undefined) return undefined;
    return this.#sharedWatch === undefined
      ? `PostgreSQL as node ${this.#node}; other nodes' decisions at restart (storage.share_decisions: false)`
      : `PostgreSQL as node ${this.#node}; decisions live with the other nodes on it`;
  }

  /** The guard, once started. */
  get guard(): GuardService | undefined {
    return this.#guardService;
  }

  /** What an API thread needs to check the guard's stateless signals, once the guard runs. */
  guardPreparerInit(): GuardPreparerInit | undefined {
    return this.#guard?.preparerInit;
  }

  /** What the guard runs with, for the start-up message. */
  guardDescription(): string | undefined {
    return this.#guard?.describe();
  }

  networkOf(ip: string): { readonly as: AsInfo | undefined; readonly tor: boolean } | undefined {
    const n = this.#networks;
    if (n === undefined) return undefined;
    return { as: n.as.lookup(ip), tor: n.tor.has(ip) };
  }

  heldByAnother(d: Decision): boolean {
    return this.#pipeline.book.heldByAnother(d, this.clock.now());
  }

  check(subject: Subject): readonly Decision[] {
    const now = this.clock.now();
    const book = this.#pipeline.book;
    const found = book.match(subject, now);
    // An AS decision (a surge's, an operator's) holds every address of the AS: where decisions
    // are checked (forward-auth, /v1/check, the policy service) it bites as an address's does.
    if (subject.ip !== undefined && book.holds("as")) {
      const asn = this.#networks?.as.lookup(subject.ip)?.asn;
      if (asn !== undefined) found.push(...book.on("as", String(asn), now));
    }
    return found;
  }

  listDecisions(query: DecisionQuery): Promise<Decision[]> {
    return this.storage.listDecisions(query);
  }

  async addDecision(wish: ManualDecision): Promise<ManualOutcome> {
    const outcome = this.#pipeline.policy.decide({
      action: wish.action,
      scope: wish.scope,
      value: wish.value,
      durationMs: wish.durationMs,
      origin: wish.origin ?? "manual",
      scenario: wish.author,
      reason: wish.reason,
      at: this.clock.now(),
      tzOffset: 0,
    });
    this.#pipeline.countManual(outcome);
    if (outcome.kind !== "created") return outcome;
    for (const old of outcome.replaces) {
      this.#pipeline.book.remove(old.id);
      this.#ended(old, outcome.decision.createdAt, "replaced");
    }
    this.#pipeline.book.add(outcome.decision);
    this.#decided(outcome.decision);
    await this.commit();
    return { kind: "created", decision: outcome.decision };
  }

  async deleteDecision(id: string): Promise<boolean> {
    const d = this.#pipeline.book.remove(id);
    if (!d) return false;
    this.#ended(d, this.clock.now(), "deleted");
    await this.commit();
    return true;
  }

  async ingest(events: readonly Event[]): Promise<void> {
    const sorted = [...events].sort((a, b) => a.time - b.time);
    for (const e of sorted) this.#pipeline.ingest(e);
    this.#lastIngest = this.clock.now();
    await this.commit();
    await this.accounts.applyEvents(sorted);
  }

  listAlerts(query: AlertQuery): Promise<Alert[]> {
    return this.storage.listAlerts(query);
  }

  /** What each enforcer enforces, for the start-up message. */
  enforcers(): string[] {
    return this.#enforcers.map((e) => e.service.describe());
  }

  activeDecisions(): readonly Decision[] {
    const now = this.clock.now();
    return [...this.#pipeline.book.all()].filter((d) => d.expiresAt === null || d.expiresAt > now);
  }

  counters(): RuntimeCounters {
    const c = this.#pipeline.counters;
    let lines = 0;
    for (const s of this.#sources) lines += s.lines();
    return {
      startedAt: this.#startedAt,
      events: c.events,
      eventsByType: { ...c.byType },
      alerts: c.alerts,
      decisionsCreated: c.decisions,
      decisionsRefused: c.refused,
      ...(this.#sharedWatch === undefined ? {} : { shared: { ...this.#shared } }),
      ...(this.#guardService === undefined ? {} : { guardVerdicts: { ...this.#verdicts } }),
      activeDecisions: this.#pipeline.book.size,
      parseFailures: this.#parseFailures,
      linesRead: lines,
      detectionKeys: this.#pipeline.engine.stats().keys,
      enforcers: Object.fromEntries(
        this.#enforcers.flatMap(({ id, service }) =>
          service.counters === undefined ? [] : [[id, service.counters()]],
        ),
      ),
      sources: this.#sources.map((s) => ({ name: s.name, kind: s.kind, paths: s.paths })),
      ...(this.#queueWatch?.last === undefined ? {} : { mailQueue: this.#queueWatch.last }),
      ...(this.#surge === undefined ? {} : { surge: this.#surge.stats() }),
      reputation: {
        entries: this.reputation.book.size,
        appealsOpen: this.appeals?.open ?? 0,
        ...(this.abuseReports === undefined ? {} : { abuseReports: this.abuseReports.totals }),
        peers: this.#peers?.stats() ?? [],
      },
    };
  }
}
