/**
 * Prometheus metrics, in a registry of the API's own (never prom-client's global one, so two
 * APIs in one process — tests — do not collide). The daemon's counters are read from the
 * runtime at scrape time, so nothing on the event path pays for metrics.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { RuntimeCounters } from "../daemon/runtime.ts";
import type { ThreadsReport } from "./api-threads.ts";

export interface ApiMetrics {
  readonly registry: Registry;
  /** Counts one answered request (cheap: a map increment; exposed at scrape). */
  request(route: string, status: number): void;
  /** From now on each scrape asks the API threads how they do (`http.threads`). */
  threads(report: () => Promise<ThreadsReport>): void;
}

/** A counter whose value is copied from the runtime at scrape time. */
function mirror(
  registry: Registry,
  name: string,
  help: string,
  read: (c: RuntimeCounters) => number,
  counters: () => RuntimeCounters,
): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read(counters()));
    },
  });
}

export function createMetrics(counters: () => RuntimeCounters): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "rempart_" });

  new Counter({
    name: "rempart_events_total",
    help: "Events ingested, by type.",
    labelNames: ["type"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [type, n] of Object.entries(counters().eventsByType)) this.inc({ type }, n);
    },
  });
  mirror(
    registry,
    "rempart_alerts_total",
    "Alerts raised by scenarios.",
    (c) => c.alerts,
    counters,
  );
  mirror(
    registry,
    "rempart_decisions_created_total",
    "Decisions created (automatic and manual).",
    (c) => c.decisionsCreated,
    counters,
  );
  mirror(
    registry,
    "rempart_decisions_refused_total",
    "Decisions refused by the safety policy.",
    (c) => c.decisionsRefused,
    counters,
  );
  mirror(
    registry,
    "rempart_parse_failures_total",
    "Log lines or events that could not be parsed.",
    (c) => c.parseFailures,
    counters,
  );
  mirror(registry, "rempart_lines_read_total", "Log lines read.", (c) => c.linesRead, counters);
  new Gauge({
    name: "rempart_active_decisions",
    help: "Decisions in force now.",
    registers: [registry],
    collect() {
      this.set(counters().activeDecisions);
    },
  });
  new Gauge({
    name: "rempart_detection_keys",
    help: "Keys (addresses, accounts…) each scenario is tracking.",
    labelNames: ["scenario"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [scenario, n] of Object.entries(counters().detectionKeys))
        this.set({ scenario }, n);
    },
  });

  new Gauge({
    name: "rempart_mail_queue_messages",
    help: "Messages in Postfix's queue at the last look, by queue (when the queue watch runs).",
    labelNames: ["queue"],
    registers: [registry],
    collect() {
      this.reset();
      const q = counters().mailQueue;
      if (q) for (const [queue, n] of Object.entries(q.byQueue)) this.set({ queue }, n);
    },
  });
  new Gauge({
    name: "rempart_mail_queue_sender_messages",
    help: "Queued messages of the senders with the most (at most ten).",
    labelNames: ["sender"],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of counters().mailQueue?.senders ?? []) this.set({ sender: s.sender }, s.count);
    },
  });

  // Surges (surge.enabled): how much the detector tracks, and which targets are under attack.
  new Gauge({
    name: "rempart_surge_targets",
    help: "Forms and routes the surge detector keeps a baseline for.",
    registers: [registry],
    collect() {
      this.reset();
      const s = counters().surge;
      if (s) this.set(s.targets);
    },
  });
  new Gauge({
    name: "rempart_surge_under_attack",
    help: "1 for each form or route in under-attack mode now (docs/guard-surge.md).",
    labelNames: ["target"],
    registers: [registry],
    collect() {
      this.reset();
      for (const target of counters().surge?.underAttack ?? []) this.set({ target }, 1);
    },
  });

  new Counter({
    name: "rempart_guard_assessments_total",
    help: "Submissions the guard assessed (POST /v1/guard/assess), by verdict: allow, challenge, verify, deny.",
    labelNames: ["verdict"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [verdict, n] of Object.entries(counters().guardVerdicts ?? {}))
        this.inc({ verdict }, n);
    },
  });
  new Counter({
    name: "rempart_shared_decisions_total",
    help: "Decisions other nodes on the shared PostgreSQL made or ended, applied here, by change: added, ended (absent without sharing).",
    labelNames: ["change"],
    registers: [registry],
    collect() {
      this.reset();
      const s = counters().shared;
      if (s === undefined) return;
      this.inc({ change: "added" }, s.added);
      this.inc({ change: "ended" }, s.ended);
    },
  });

  // Reputation (docs/reputation.md).
  new Gauge({
    name: "rempart_reputation_entries",
    help: "Addresses and networks scored in memory.",
    registers: [registry],
    collect() {
      this.set(counters().reputation?.entries ?? 0);
    },
  });
  new Gauge({
    name: "rempart_appeals_open",
    help: "Appeals waiting for an operator's answer (rempart appeals list).",
    registers: [registry],
    collect() {
      this.set(counters().reputation?.appealsOpen ?? 0);
    },
  });
  new Counter({
    name: "rempart_abuse_reports_total",
    help: "Addresses reported to abuse desks since start, by outcome: sent, no_contact (the registry names none), failed (given up) (absent unless abuse_reports is enabled).",
    labelNames: ["outcome"],
    registers: [registry],
    collect() {
      this.reset();
      const a = counters().reputation?.abuseReports;
      if (a === undefined) return;
      this.inc({ outcome: "sent" }, a.sent);
      this.inc({ outcome: "no_contact" }, a.noContact);
      this.inc({ outcome: "failed" }, a.failed);
    },
  });
  new Counter({
    name: "rempart_reputation_peer_imported_total",
    help: "Reports read from each peer's signed feed since start, by peer.",
    labelNames: ["peer"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of counters().reputation?.peers ?? []) this.inc({ peer: p.name }, p.imported);
    },
  });
  new Gauge({
    name: "rempart_reputation_peer_failures",
    help: "Failed reads of each peer's feed in a row (0: the last read worked), by peer.",
    labelNames: ["peer"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of counters().reputation?.peers ?? []) this.set({ peer: p.name }, p.failures);
    },
  });

  // The DNSBL's answers (enforcers.dnsbl; absent when it is off).
  const dnsbl = (): Readonly<Record<string, number>> | undefined => counters().enforcers.dnsbl;
  new Counter({
    name: "rempart_dnsbl_queries_total",
    help: "DNSBL queries answered, by answer: listed, not_listed (NXDOMAIN or the zone's apex), refused (outside the zone), formerr, other (NOTIMP, BADVERS).",
    labelNames: ["answer"],
    registers: [registry],
    collect() {
      this.reset();
      const c = dnsbl();
      if (c === undefined) return;
      const named = {
        listed: c.listed ?? 0,
        not_listed: c.notListed ?? 0,
        refused: c.refused ?? 0,
        formerr: c.formErr ?? 0,
      };
      let other = c.queries ?? 0;
      for (const [answer, n] of Object.entries(named)) {
        this.inc({ answer }, n);
        other -= n;
      }
      this.inc({ answer: "other" }, Math.max(0, other));
    },
  });
  new Counter({
    name: "rempart_dnsbl_cache_hits_total",
    help: "DNSBL answers taken from the answer cache instead of the decision index.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(dnsbl()?.cacheHits ?? 0);
    },
  });
  new Counter({
    name: "rempart_dnsbl_udp_dropped_total",
    help: "DNSBL UDP answers the kernel would not take (send buffer full, client unreachable); counted on the batched path only.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(dnsbl()?.udpDropped ?? 0);
    },
  });

  const requests = new Map<string, number>();
  new Counter({
    name: "rempart_http_requests_total",
    help: "API requests answered, by route and status.",
    labelNames: ["route", "status"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [k, n] of requests) {
        const [route = "", status = ""] = k.split(" ");
        this.inc({ route, status }, n);
      }
    },
  });

  // The API threads (http.threads): asked once per scrape, however many metrics read the answer.
  let threadsReport: (() => Promise<ThreadsReport>) | undefined;
  let asked: { at: number; report: Promise<ThreadsReport | undefined> } | undefined;
  const threadsNow = (): Promise<ThreadsReport | undefined> => {
    if (threadsReport === undefined) return Promise.resolve(undefined);
    const now = Date.now();
    if (asked === undefined || now - asked.at > 500)
      asked = { at: now, report: threadsReport().catch(() => undefined) };
    return asked.report;
  };
  /** A metric read from the threads' report: each row a series (labels, value). */
  const fromThreads = (
    name: string,
    help: string,
    kind: "gauge" | "counter",
    labelNames: readonly string[],
    rows: (r: ThreadsReport | undefined) => readonly [Record<string, string>, number][],
  ): void => {
    const Metric = kind === "gauge" ? Gauge : Counter;
    new Metric({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        for (const [labels, value] of rows(await threadsNow())) {
          if (this instanceof Gauge) this.set(labels, value);
          else this.inc(labels, value);
        }
      },
    });
  };
  const perThread = (
    name: string,
    help: string,
    kind: "gauge" | "counter",
    value: (t: ThreadsReport["threads"][number]) => number,
  ): void =>
    fromThreads(name, help, kind, ["thread"], (r) =>
      (r?.threads ?? []).map((t) => [{ thread: String(t.thread) }, value(t)]),
    );
  fromThreads(
    "rempart_http_threads",
    "API threads listening now (http.threads; 0 when the daemon's thread serves HTTP).",
    "gauge",
    [],
    (r) => [[{}, r?.listening ?? 0]],
  );
  fromThreads(
    "rempart_http_thread_restarts_total",
    "API threads started again after one died.",
    "counter",
    [],
    (r) => [[{}, r?.restarts ?? 0]],
  );
  perThread(
    "rempart_http_thread_requests_total",
    "Requests an API thread read and forwarded, since it started.",
    "counter",
    (t) => t.requests,
  );
  perThread(
    "rempart_http_thread_eventloop_delay_max_seconds",
    "An API thread's longest event-loop delay since the last scrape.",
    "gauge",
    (t) => t.loopDelayMaxS,
  );
  perThread(
    "rempart_http_thread_eventloop_delay_p99_seconds",
    "An API thread's 99th-percentile event-loop delay since the last scrape (sampled every 10 ms).",
    "gauge",
    (t) => t.loopDelayP99S,
  );
  perThread(
    "rempart_http_thread_heap_used_bytes",
    "An API thread's V8 heap in use.",
    "gauge",
    (t) => t.heapUsedBytes,
  );
  fromThreads(
    "rempart_http_thread_gc_duration_seconds_total",
    "An API thread's collector pauses since it started, by kind.",
    "counter",
    ["thread", "kind"],
    (r) =>
      (r?.threads ?? []).flatMap((t) =>
        Object.entries(t.gcSeconds).map(([kind, seconds]): [Record<string, string>, number] => [
          { thread: String(t.thread), kind },
          seconds,
        ]),
      ),
  );

  return {
    registry,
    threads(report) {
      threadsReport = report;
    },
    request(route, status) {
      const k = `${route} ${status}`;
      requests.set(k, (requests.get(k) ?? 0) + 1);
    },
  };
}
