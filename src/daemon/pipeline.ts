/**
 * The daemon's own pipeline, the same in live mode and in replay: events in, detection,
 * policy, decisions and alerts out. Synchronous: time comes from the events.
 */
import {
  RecentKeys,
  type Alert,
  type Decision,
  type Detector,
  type Event,
  type Finding,
} from "../core/index.ts";
import type { DecisionBook, DecisionPolicy } from "../decisions/index.ts";
import type { DetectionEngine, Trigger } from "../detection/index.ts";

export type { Detector, Finding } from "../core/index.ts";

/** Where the pipeline's results go (the replay stream, the checkpoint, the enforcers). */
export interface PipelineOutput {
  /** A new decision, with the alert that raised it. */
  decision(d: Decision, cause: Alert | undefined): void;
  /** A decision that ended: expired, replaced by a longer one, or deleted. */
  ended(d: Decision, at: number, why: "expired" | "replaced" | "deleted"): void;
  alert(a: Alert): void;
}

export interface PipelineCounters {
  events: number;
  alerts: number;
  decisions: number;
  refused: number;
  merged: number;
  byType: Record<string, number>;
}

const EXPIRY_STEP_MS = 10_000;

export class Pipeline {
  readonly engine: DetectionEngine;
  readonly policy: DecisionPolicy;
  readonly book: DecisionBook;
  readonly counters: PipelineCounters = {
    events: 0,
    alerts: 0,
    decisions: 0,
    refused: 0,
    merged: 0,
    byType: {},
  };
  readonly #out: PipelineOutput;

  readonly #newId: () => string;
  readonly #triggers: Trigger[] = [];
  readonly #detectors: readonly Detector[];
  readonly #findings: Finding[] = [];
  #nextExpiry = 0;
  readonly #submissions = new RecentKeys(100_000);
  /** The latest event time seen: the pipeline's own clock. */
  lastEventTime = 0;

  constructor(parts: {
    engine: DetectionEngine;
    policy: DecisionPolicy;
    book: DecisionBook;
    output: PipelineOutput;
    newId: () => string;
    /** Extra detectors, offered every event after the scenario engine. */
    detectors?: readonly Detector[];
  }) {
    this.engine = parts.engine;
    this.policy = parts.policy;
    this.book = parts.book;
    this.#out = parts.output;
    this.#newId = parts.newId;
    this.#detectors = parts.detectors ?? [];
  }

  /** Counts a decision asked for outside detection (a person, the API), as detection's are. */
  countManual(outcome: { readonly kind: "created" | "merged" | "refused" }): void {
    if (outcome.kind === "refused") this.counters.refused++;
    else if (outcome.kind === "merged") this.counters.merged++;
    else this.counters.decisions++;
  }

  ingest(e: Event): void {
    // A message seen twice — by the Postfix policy hook and again in the log — counts once.
    if (e.type === "mail.submitted") {
      const q = e.fields.queue_id;
      if (typeof q === "string" && q !== "" && !this.#submissions.add(q)) return;
    }
    const c = this.counters;
    c.events++;
    c.byType[e.type] = (c.byType[e.type] ?? 0) + 1;
    if (e.time > this.lastEventTime) this.lastEventTime = e.time;
    if (e.time >= this.#nextExpiry) {
      this.expire(e.time);
      this.#nextExpiry = e.time + EXPIRY_STEP_MS;
    }
    const triggers = this.#triggers;
    triggers.length = 0;
    this.engine.process(e, triggers);
    for (const t of triggers) this.#raise(fromTrigger(t));
    if (this.#detectors.length === 0) return;
    const findings = this.#findings;
    findings.length = 0;
    for (const d of this.#detectors) d.process(e, findings);
    for (const f of findings) this.#raise(f);
  }

  /** Ends the decisions whose time is up. */
  expire(now: number): void {
    for (const d of this.book.expire(now)) this.#out.ended(d, now, "expired");
    this.policy.forget(now);
  }

  #raise(f: Finding): void {
    const decisions: Decision[] = [];
    let note = "";
    const wish = f.decision;
    if (wish) {
      const outcome = this.policy.decide({
        action: wish.action,
        scope: wish.scope,
        value: wish.value,
        durationMs: wish.durationMs,
        origin: "scenario",
        scenario: f.name,
        reason: f.reason,
        at: f.at,
        tzOffset: f.tzOffset,
      });
      switch (outcome.kind) {
        case "created":
          decisions.push(outcome.decision);
          for (const old of outcome.replaces) {
            this.book.remove(old.id);
            this.#out.ended(old, f.at, "replaced");
          }
          this.book.add(outcome.decision);
          break;
        case "merged":
          this.counters.merged++;
          break;
        case "refused":
          this.counters.refused++;
          note = ` (no decision: ${outcome.reason})`;
          break;
      }
    }
    const alert: Alert = Object.freeze({
      id: this.#newId(),
      scenario: f.name,
      scope: f.scope,
      value: f.value,
      at: f.at,
      tzOffset: f.tzOffset,
      count: f.count,
      message: `${f.reason}${note}`,
      evidence: f.evidence,
      decisions: decisions.map((d) => d.id),
    });
    this.counters.alerts++;
    for (const d of decisions) {
      this.counters.decisions++;
      this.#out.decision(d, alert);
    }
    this.#out.alert(alert);
  }
}

/** A scenario trigger as a finding: its decision's value read from the event, if any. */
function fromTrigger(t: Trigger): Finding {
  const sc = t.scenario;
  const e = t.event;
  const value = sc.decision?.value(e);
  return {
    name: sc.name,
    scope: sc.scope,
    value: t.key,
    at: e.time,
    tzOffset: e.tzOffset,
    count: t.count,
    reason: `${sc.description}: ${t.detail}`,
    evidence: t.evidence,
    ...(sc.decision && value !== undefined && value !== null && value !== ""
      ? {
          decision: {
            action: sc.decision.action,
            scope: sc.decision.scope,
            value: String(value),
            durationMs: sc.decision.durationMs,
          },
        }
      : {}),
  };
}
