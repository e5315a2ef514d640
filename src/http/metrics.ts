/**
 * Prometheus metrics, in a registry of the API's own (never prom-client's global one, so two
 * APIs in one process — tests — do not collide). The daemon's counters are read from the
 * runtime at scrape time, so nothing on the event path pays for metrics.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import type { RuntimeCounters } from "../daemon/runtime.ts";

export interface ApiMetrics {
  readonly registry: Registry;
  /** Counts one answered request (cheap: a map increment; exposed at scrape). */
  request(route: string, status: number): void;
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

  return {
    registry,
    request(route, status) {
      const k = `${route} ${status}`;
      requests.set(k, (requests.get(k) ?? 0) + 1);
    },
  };
}
