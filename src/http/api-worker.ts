/**
 * An API thread (see api-threads.ts): listens on the API's port beside the other threads, reads
 * requests, checks what needs no state, and forwards each request to the daemon's thread, which
 * answers it. Runs in a worker thread; `workerData` is an `ApiWorkerInit`.
 */
import {
  constants,
  monitorEventLoopDelay,
  PerformanceObserver,
  type PerformanceEntry,
} from "node:perf_hooks";
import { getHeapStatistics } from "node:v8";
import { parentPort, workerData } from "node:worker_threads";
import { guardPreparer, type GuardPreparer, type GuardPreparerInit } from "../guard/index.ts";
import type {
  ApiWorkerInit,
  ForwardedRequest,
  ForwardedResponse,
  FromThread,
  ThreadStats,
  ToThread,
} from "./api-threads.ts";
import { startHttpServer } from "./http-server.ts";
import {
  guardSubmission,
  jsonBody,
  validate,
  type ApiRequest,
  type ApiResponse,
  type PreparedRequest,
} from "./requests.ts";
import { ROUTES, type Parsed, type Routes } from "./routes.ts";

const port = parentPort!;
const init = workerData as ApiWorkerInit;
const send = (m: FromThread): void => port.postMessage(m);

/**
 * The guard's stateless half, or undefined if it cannot be made here: the daemon's thread then
 * checks every signal itself, as without threads.
 */
function preparerOf(guard: GuardPreparerInit): GuardPreparer | undefined {
  try {
    return guardPreparer(guard);
  } catch (e) {
    send({
      type: "log",
      message: `http: an API thread cannot check the guard's signals (${e instanceof Error ? e.message : String(e)}); the daemon's thread checks them`,
    });
    return undefined;
  }
}

let preparer = init.guard && preparerOf(init.guard);
const ASSESS = ROUTES.guardAssess;

/**
 * The assessment's body and stateless signals; undefined when the body is not one the API
 * takes. The daemon's thread then reads the request itself, and answers it with the error it
 * always gives (after checking the key, as it does first).
 */
function prepare(request: ApiRequest, guard: GuardPreparer): PreparedRequest | undefined {
  let body: Parsed<Routes["guardAssess"], "body">;
  try {
    body = validate(ASSESS.body, "body", jsonBody(request)) as typeof body;
  } catch {
    return undefined;
  }
  const time = Date.now();
  return {
    route: "guardAssess",
    body,
    guard: { time, signals: guard.prepare(guardSubmission(body, "", time)) },
  };
}

// ── What the thread says of itself (/metrics) ─────────────────────────────────────────────

let requests = 0;
const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();
const GC_KINDS: Readonly<Record<number, string>> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: "minor",
  [constants.NODE_PERFORMANCE_GC_MAJOR]: "major",
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: "incremental",
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: "weakcb",
};
const gcSeconds: Record<string, number> = {};
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const detail = (e as PerformanceEntry & { detail?: { kind?: number } }).detail;
    const kind = GC_KINDS[detail?.kind ?? -1] ?? "other";
    gcSeconds[kind] = (gcSeconds[kind] ?? 0) + e.duration / 1000;
  }
}).observe({ entryTypes: ["gc"] });

/** The thread's figures; the loop's delays are since the last call, as the daemon's are. */
function stats(): ThreadStats {
  const sampled = delay.count > 0;
  const out: ThreadStats = {
    requests,
    loopDelayMaxS: sampled ? delay.max / 1e9 : 0,
    loopDelayP99S: sampled ? delay.percentile(99) / 1e9 : 0,
    gcSeconds: { ...gcSeconds },
    heapUsedBytes: getHeapStatistics().used_heap_size,
  };
  delay.reset();
  return out;
}

// ── Forwarding ─────────────────────────────────────────────────────────────────────────────

let seq = 0;
const waiting = new Map<number, (r: ApiResponse) => void>();
const connections = new WeakMap<object, number>();
let connectionSeq = 0;
let outbox: ForwardedRequest[] = [];
let closed: number[] = [];
let flushing = false;

function flushSoon(): void {
  if (flushing) return;
  flushing = true;
  // After this turn's reads: every request that arrived in it leaves in one message.
  setImmediate(() => {
    flushing = false;
    const requests = outbox;
    outbox = [];
    const gone = closed;
    closed = [];
    send({ type: "requests", requests, closed: gone });
  });
}

function connectionOf(socket: object | undefined): number {
  if (socket === undefined) return 0;
  let n = connections.get(socket);
  if (n === undefined) {
    n = ++connectionSeq;
    connections.set(socket, n);
    const id = n;
    (socket as NodeJS.EventEmitter).once("close", () => {
      closed.push(id);
      flushSoon();
    });
  }
  return n;
}

const forwarder = {
  handle(request: ApiRequest): Promise<ApiResponse> {
    const id = ++seq;
    requests++;
    const prepared =
      preparer !== undefined && request.method === ASSESS.method && request.path === ASSESS.path
        ? prepare(request, preparer)
        : undefined;
    const { connection, body, ...rest } = request;
    outbox.push({
      id,
      conn: connectionOf(connection),
      request: {
        ...rest,
        // Read already: the body need not cross again.
        ...(prepared === undefined ? body !== undefined && { body } : { prepared }),
      },
    });
    flushSoon();
    return new Promise((resolve) => waiting.set(id, resolve));
  },
};

// ── Start, answers, stop ───────────────────────────────────────────────────────────────────

const server = await startHttpServer(forwarder, { ...init, reusePort: true }).catch(
  (e: unknown) => {
    const code = (e as NodeJS.ErrnoException).code;
    send({
      type: "failed",
      message: `http: ${e instanceof Error ? e.message : String(e)}`,
      ...(typeof code === "string" && { code }),
    });
    return undefined;
  },
);
if (server === undefined) port.close();
else {
  port.on("message", (m: ToThread) => {
    if (m.type === "responses") {
      for (const r of m.responses) answer(r);
    } else if (m.type === "guard") preparer = preparerOf(m.init);
    else if (m.type === "stats") send({ type: "stats", id: m.id, stats: stats() });
    else if (m.type === "close") {
      // Requests in flight still get their answers before the thread ends.
      void server.close().then(() => port.close());
    }
  });
  send({ type: "listening", url: server.url, port: Number(new URL(server.url).port) });
}

function answer(r: ForwardedResponse): void {
  const resolve = waiting.get(r.id);
  if (resolve === undefined) return;
  waiting.delete(r.id);
  resolve(r.response);
}
