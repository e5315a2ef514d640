/**
 * Enforcer plugins: each one makes decisions bite in a program operators already run (a
 * firewall set, a DNS zone, a proxy's check). A plugin is data plus a factory; the daemon
 * composes the ones the configuration names and never asks which one it holds.
 */
import type { z } from "zod";
import { isRempartError, RempartError } from "../core/index.ts";
import type { Clock, Decision, DecisionChange, Enforcer, Event } from "../core/index.ts";
import type { DecisionBook, DecisionFeed } from "../decisions/index.ts";

/** What an enforcer may use of the daemon. */
export interface EnforcerDeps {
  readonly feed: DecisionFeed;
  /** Active decisions and their index, as of now. */
  readonly book: DecisionBook;
  readonly clock: Clock;
  readonly log: (line: string) => void;
  /**
   * Feeds an event seen by the enforcer (a policy request) to detection, synchronously; its
   * decisions are in `book` on return and committed shortly after. Absent where there is no
   * pipeline (tests of a pure enforcer).
   */
  readonly ingest?: (event: Event) => void;
}

/** A running enforcer, as the daemon drives it. */
export interface EnforcerService {
  /** Does the I/O (opens sockets, loads sets). Must not be called twice. */
  start(): Promise<void>;
  /** Works after a partial start. */
  stop(): Promise<void>;
  /** One line for the start-up message: what it enforces, where. */
  describe(): string;
  /** Its running counts, by name (read at each /metrics scrape; cheap). */
  counters?(): Readonly<Record<string, number>>;
}

export interface EnforcerPlugin<C = unknown> {
  /** Also the key under `enforcers:` in the configuration. */
  readonly id: string;
  readonly configSchema: z.ZodType<C>;
  /** No side effects: only `start` may do I/O. */
  create(config: C, deps: EnforcerDeps): EnforcerService;
}

/**
 * A plugin as the registry holds it, its config type erased: the daemon hands each plugin the
 * value its own schema produced, so the erasure is safe.
 */
export interface RegisteredPlugin {
  readonly id: string;
  readonly configSchema: z.ZodType;
  create(config: never, deps: EnforcerDeps): EnforcerService;
}

export interface PushOptions {
  /** Changes arriving within this window are applied together. Default 50 ms. */
  readonly batchMs?: number;
  /** Delay before a resync after a failure, doubled up to `maxRetryMs`. Default 1 s. */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
}

/**
 * Drives a push enforcer (the `Enforcer` port): one resync at start with every active
 * decision, then batched deltas in order; after a failed batch, a resync with back-off.
 */
export function pushEnforcer(
  enforcer: Enforcer,
  deps: EnforcerDeps,
  describe: string,
  options: PushOptions = {},
): EnforcerService {
  const batchMs = options.batchMs ?? 50;
  const retryMs = options.retryMs ?? 1000;
  const maxRetryMs = options.maxRetryMs ?? 30_000;
  let pending: DecisionChange[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let needResync = true;
  let backoff = retryMs;
  let stopped = false;
  let lastError: unknown;
  let unsubscribe: (() => void) | undefined;

  // A generator: the book makes decisions on demand, and a million at once would be a peak.
  const active = function* (): Generator<Decision> {
    const now = deps.clock.now();
    for (const d of deps.book.all()) if (d.expiresAt === null || d.expiresAt > now) yield d;
  };

  const run = async (): Promise<void> => {
    timer = undefined;
    if (stopped) return;
    const batch = pending;
    pending = [];
    try {
      if (needResync) {
        await enforcer.resync(active());
        needResync = false;
      } else if (batch.length > 0) await enforcer.apply(batch);
      backoff = retryMs;
    } catch (e) {
      needResync = true;
      lastError = e;
      deps.log(
        `rempart: enforcer ${enforcer.id}: ${e instanceof Error ? e.message : String(e)}; resync in ${backoff} ms`,
      );
      schedule(backoff);
      backoff = Math.min(backoff * 2, maxRetryMs);
    }
  };

  const schedule = (ms: number): void => {
    if (timer !== undefined || stopped) return;
    timer = setTimeout(() => {
      running = running.then(run, run);
    }, ms);
  };

  return {
    describe: () => describe,
    async start() {
      unsubscribe = deps.feed.subscribe((change) => {
        pending.push(change);
        schedule(batchMs);
      });
      await run();
      if (!needResync) return;
      // Its own error (nft missing, a table that is not Rempart's), with its hint.
      if (isRempartError(lastError)) throw lastError;
      throw new RempartError(
        "UNAVAILABLE",
        `enforcer ${enforcer.id} could not load the active decisions: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
        { cause: lastError },
      );
    },
    async stop() {
      stopped = true;
      unsubscribe?.();
      if (timer !== undefined) clearTimeout(timer);
      await running;
      await enforcer.stop();
    },
  };
}
