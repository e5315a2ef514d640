/**
 * The HTTP API served by worker threads (`http.threads`), so that reading requests and writing
 * answers, and the guard's stateless checks, leave the daemon's thread.
 *
 * Each thread listens on the API's port with SO_REUSEPORT, and the kernel spreads connections
 * over them; the daemon's thread itself no longer listens. A thread reads the request within
 * the size limit and, for `POST /v1/guard/assess`, parses and validates the body and computes
 * the assessment's stateless signals (form token, proof of work before its claim, e-mail,
 * fingerprints: `GuardPreparer`). It then forwards the request to the daemon's thread, which
 * stays the one owner of every piece of state: API keys, counters, the once-store, decisions,
 * surge detection, accounts, events. There the API answers it as it answers any request (the
 * key is checked first), and the answer goes back to the thread that writes it.
 *
 * Messages are batched both ways: what arrived in one turn of a thread's event loop crosses in
 * one message.
 */
import { Worker } from "node:worker_threads";
import type { GuardPreparerInit } from "../guard/index.ts";
import type { Api } from "./api.ts";
import type { HttpServer, HttpServerOptions } from "./http-server.ts";
import type { ApiRequest, ApiResponse } from "./requests.ts";

// The worker runs from the same tree as this file: the sources, or the build in dist/.
const WORKER_URL = new URL(
  import.meta.url.endsWith(".ts") ? "./api-worker.ts" : "./api-worker.js",
  import.meta.url,
);
/** A thread that dies is started again after this long. */
const RESTART_MS = 1000;

/** A request as it crosses from a thread, its connection as a number. */
export interface ForwardedRequest {
  readonly id: number;
  /** The connection's number in its thread. */
  readonly conn: number;
  readonly request: Omit<ApiRequest, "connection">;
}

export interface ForwardedResponse {
  readonly id: number;
  readonly response: ApiResponse;
}

/** What a thread says of itself when asked (for /metrics). */
export interface ThreadStats {
  /** Requests it forwarded since it started. */
  readonly requests: number;
  /** Its event loop's longest and 99th-percentile delay since the last report, seconds. */
  readonly loopDelayMaxS: number;
  readonly loopDelayP99S: number;
  /** Its collector's pauses since it started, seconds, by kind (minor, major, …). */
  readonly gcSeconds: Readonly<Record<string, number>>;
  /** Its V8 heap in use. */
  readonly heapUsedBytes: number;
}

/** The threads at one scrape: those that answered in time, each by its number (1 … N). */
export interface ThreadsReport {
  readonly listening: number;
  /** Threads started again after one died, since the daemon started. */
  readonly restarts: number;
  readonly threads: readonly (ThreadStats & { readonly thread: number })[];
}

/** From a thread to the daemon's. */
export type FromThread =
  | { readonly type: "listening"; readonly url: string; readonly port: number }
  | { readonly type: "stats"; readonly id: number; readonly stats: ThreadStats }
  /** `code`: the system's error code, when there is one (EADDRINUSE). */
  | { readonly type: "failed"; readonly message: string; readonly code?: string }
  /** A line for the daemon's log. */
  | { readonly type: "log"; readonly message: string }
  | {
      readonly type: "requests";
      readonly requests: readonly ForwardedRequest[];
      /** Connections closed since the last message. */
      readonly closed: readonly number[];
    };

/** From the daemon's thread to a thread. */
export type ToThread =
  | { readonly type: "responses"; readonly responses: readonly ForwardedResponse[] }
  | { readonly type: "guard"; readonly init: GuardPreparerInit }
  | { readonly type: "stats"; readonly id: number }
  | { readonly type: "close" };

export interface ApiWorkerInit extends Omit<HttpServerOptions, "reusePort"> {
  readonly guard?: GuardPreparerInit;
}

export interface ApiThreadsOptions extends Omit<HttpServerOptions, "reusePort"> {
  readonly threads: number;
  readonly log: (line: string) => void;
  /** The threads' script; tests give one that wraps the real one (to make it crash). */
  readonly workerUrl?: URL;
}

export interface ApiThreads extends HttpServer {
  /** From now on the threads check the guard's stateless signals themselves. */
  prepareGuard(init: GuardPreparerInit): void;
  /** Asks every thread how it does; those silent for `timeoutMs` are left out. */
  report(timeoutMs?: number): Promise<ThreadsReport>;
}

class Thread {
  readonly worker: Worker;
  /** 1 … N; a thread started again takes the number of the one it replaces. */
  readonly slot: number;
  listening = false;
  /** The daemon's stand-in object for each of the thread's open connections. */
  readonly #connections = new Map<number, object>();
  #answers: ForwardedResponse[] = [];
  #flushing = false;
  readonly #asked = new Map<number, (stats: ThreadStats) => void>();
  #asks = 0;

  constructor(worker: Worker, slot: number) {
    this.worker = worker;
    this.slot = slot;
  }

  /** The thread's stats, or undefined when it does not answer within `timeoutMs`. */
  stats(timeoutMs: number): Promise<ThreadStats | undefined> {
    const id = ++this.#asks;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#asked.delete(id);
        resolve(undefined);
      }, timeoutMs);
      this.#asked.set(id, (stats) => {
        clearTimeout(timer);
        resolve(stats);
      });
      this.worker.postMessage({ type: "stats", id } satisfies ToThread);
    });
  }

  answered(id: number, stats: ThreadStats): void {
    const resolve = this.#asked.get(id);
    this.#asked.delete(id);
    resolve?.(stats);
  }

  /** Answers a batch through the API; each answer leaves with the others ready in its turn. */
  serve(api: Pick<Api, "handle">, message: Extract<FromThread, { type: "requests" }>): void {
    for (const r of message.requests) {
      let connection = this.#connections.get(r.conn);
      if (connection === undefined) this.#connections.set(r.conn, (connection = {}));
      api.handle({ ...r.request, connection }).then(
        (response) => this.#answer({ id: r.id, response }),
        () => this.#answer({ id: r.id, response: INTERNAL }),
      );
    }
    // After the requests: a connection may have sent one and closed in the same turn.
    for (const id of message.closed) this.#connections.delete(id);
  }

  #answer(response: ForwardedResponse): void {
    this.#answers.push(response);
    if (this.#flushing) return;
    this.#flushing = true;
    setImmediate(() => {
      this.#flushing = false;
      const responses = this.#answers;
      this.#answers = [];
      this.worker.postMessage({ type: "responses", responses } satisfies ToThread);
    });
  }
}

const INTERNAL: ApiResponse = {
  status: 500,
  headers: { "content-type": "application/json; charset=utf-8" },
  body: '{"code":"INTERNAL","message":"internal error; the daemon\'s log has the details"}',
};

/** Starts `options.threads` API threads on the API's address; resolves when all listen. */
export async function startApiThreads(
  api: Pick<Api, "handle">,
  options: ApiThreadsOptions,
): Promise<ApiThreads> {
  const { threads: count, log, workerUrl = WORKER_URL, ...server } = options;
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`http.threads: expected a whole number of threads, got ${count}`);
  const threads = new Set<Thread>();
  let port = server.port;
  let url = "";
  let guard: GuardPreparerInit | undefined;
  let stopping = false;
  let restarts = 0;

  function start(slot: number): Promise<void> {
    const init: ApiWorkerInit = { ...server, port, ...(guard !== undefined && { guard }) };
    const thread = new Thread(new Worker(workerUrl, { workerData: init }), slot);
    threads.add(thread);
    return new Promise((resolve, reject) => {
      thread.worker.on("message", (m: FromThread) => {
        if (m.type === "requests") thread.serve(api, m);
        else if (m.type === "stats") thread.answered(m.id, m.stats);
        else if (m.type === "listening") {
          thread.listening = true;
          port = m.port;
          url = m.url;
          resolve();
        } else if (m.type === "failed")
          reject(Object.assign(new Error(m.message), m.code === undefined ? {} : { code: m.code }));
        else log(`rempart: ${m.message}`);
      });
      thread.worker.on("error", (e: Error) => log(`rempart: http: API thread: ${e.message}`));
      thread.worker.on("exit", (code) => {
        threads.delete(thread);
        if (!thread.listening) {
          reject(new Error(`http: an API thread exited with code ${code} before listening`));
          return;
        }
        if (stopping) return;
        log(`rempart: http: an API thread exited (code ${code}); starting another`);
        setTimeout(() => {
          if (stopping) return;
          restarts++;
          start(slot).catch((e: unknown) =>
            log(`rempart: http: ${e instanceof Error ? e.message : String(e)}`),
          );
        }, RESTART_MS).unref();
      });
    });
  }

  async function stopAll(): Promise<void> {
    stopping = true;
    await Promise.all(
      [...threads].map(
        (t) =>
          new Promise<void>((resolve) => {
            t.worker.once("exit", () => resolve());
            t.worker.postMessage({ type: "close" } satisfies ToThread);
          }),
      ),
    );
  }

  try {
    // The first one binds (port 0: any free one), the others share its port.
    await start(1);
    for (let i = 2; i <= count; i++) await start(i);
  } catch (e) {
    await stopAll();
    throw e;
  }
  let closed: Promise<void> | undefined;
  return {
    url,
    prepareGuard(init) {
      guard = init;
      for (const t of threads) t.worker.postMessage({ type: "guard", init } satisfies ToThread);
    },
    async report(timeoutMs = 1000) {
      const alive = [...threads].filter((t) => t.listening);
      const stats = await Promise.all(alive.map((t) => t.stats(timeoutMs)));
      return {
        listening: alive.length,
        restarts,
        threads: alive.flatMap((t, i) => {
          const s = stats[i];
          return s === undefined ? [] : [{ thread: t.slot, ...s }];
        }),
      };
    },
    close() {
      return (closed ??= stopAll());
    },
  };
}
